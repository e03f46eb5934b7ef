import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

const READ_KEY = 'fast-path-read';
const OPERATE_KEY = 'fast-path-operate';

let database: TestDatabase;
let t: TestApp;
/** Requests the fast path answered itself (took, and did not hand to Yoga). */
let fastAnswers = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, { env: { JOBSCOPE_READ_KEYS: READ_KEY, JOBSCOPE_OPERATE_KEYS: OPERATE_KEY } });
  const fastPath = t.app.graphqlFastPath;
  const serve = fastPath.serve.bind(fastPath);
  vi.spyOn(fastPath, 'serve').mockImplementation((req, res, fallback) => {
    fastAnswers++;
    serve(req, res, () => {
      fastAnswers--;
      fallback();
    });
  });
});
afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

interface Answer {
  status: number;
  /** Raw header lines in order, Date left out. */
  headers: string[];
  body: string;
}

/** A POST to /graphql over a plain socket-level client, its answer with the headers as sent. */
function post(body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${t.baseUrl}/graphql`,
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const lines: string[] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            if (res.rawHeaders[i]!.toLowerCase() !== 'date') lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
          }
          resolve({ status: res.statusCode!, headers: lines, body: text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const read = { authorization: `Bearer ${READ_KEY}` };

/** The same request twice (Yoga answers the first), and how many of the two Yoga answered. */
async function twice(body: string, headers: Record<string, string>) {
  const before = fastAnswers;
  const first = await post(body, headers);
  const fastFirst = fastAnswers - before;
  const second = await post(body, headers);
  return { first, second, yogaFirst: 1 - fastFirst, yogaSecond: 1 - (fastAnswers - before - fastFirst) };
}

describe(`the GraphQL fast path on ${databaseKind}`, () => {
  it('answers a query Yoga has executed once with the same status, headers and body, without Yoga', async () => {
    const body = JSON.stringify({ query: '{ jobExecutions(first: 5) { nodes { jobId status createdAt } totalCount } }' });
    const { first, second, yogaFirst, yogaSecond } = await twice(body, read);
    expect(first.status).toBe(200);
    expect(second).toEqual(first);
    expect([yogaFirst, yogaSecond]).toEqual([1, 0]);
  });

  it('honours Accept (application/graphql-response+json) and variables the same way', async () => {
    const body = JSON.stringify({ query: 'query One($id: ID!) { jobExecution(jobId: $id) { jobId } }', variables: { id: 'none' }, operationName: 'One' });
    const headers = { ...read, accept: 'application/graphql-response+json' };
    const { first, second, yogaSecond } = await twice(body, headers);
    expect(first.headers).toContain('Content-Type: application/graphql-response+json; charset=utf-8');
    expect(second).toEqual(first);
    expect(yogaSecond).toBe(0);
  });

  it('answers a result with errors as Yoga does (codes, status) for both media types', async () => {
    const body = JSON.stringify({ query: '{ jobExecutions(first: 501) { nodes { jobId } } }' });
    for (const accept of ['application/json', 'application/graphql-response+json']) {
      const { first, second, yogaSecond } = await twice(body, { ...read, accept });
      expect(JSON.parse(first.body).errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(second).toEqual(first);
      expect(yogaSecond).toBe(0);
    }
  });

  it('leaves to Yoga what it does not know: bad keys, mutations, bad documents, odd params, other Accepts and CORS', async () => {
    const known = JSON.stringify({ query: '{ __typename }' });
    await post(known, read);
    const cases: [string, Record<string, string>, number][] = [
      [known, {}, 401],
      [known, { authorization: 'Bearer wrong' }, 401],
      [JSON.stringify({ query: 'mutation { cancelJob(jobId: "x") { jobId } }' }), read, 403],
      [JSON.stringify({ query: '{ nope }' }), read, 200],
      [JSON.stringify({ query: '{ __typename' }), read, 200],
      [JSON.stringify({ query: '{ __typename }', extra: 1 }), read, 400],
      [JSON.stringify([{ query: '{ __typename }' }]), read, 400],
      ['{"query": ', read, 400],
      [known, { ...read, accept: 'text/html' }, 406],
      [known, { ...read, origin: 'http://example.com' }, 200],
    ];
    for (const [body, headers, status] of cases) {
      const { first, second, yogaFirst, yogaSecond } = await twice(body, headers);
      expect({ body, status: first.status }).toEqual({ body, status });
      expect(second).toEqual(first);
      expect([yogaFirst, yogaSecond]).toEqual([1, 1]);
    }
  });

  it('counts each request once in the operation metrics', async () => {
    const count = async () => {
      const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
      const line = /^graphql_yoga_http_duration_count\{method="POST",statusCode="200",operationType="query"\} (\d+)$/m.exec(text);
      return Number(line?.[1] ?? 0);
    };
    const body = JSON.stringify({ query: '{ jobExecutions(first: 1) { nodes { jobId } } }' });
    const before = await count();
    await twice(body, read);
    await post(body, read);
    expect(await count()).toBe(before + 3);
  });
});
