import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getIntrospectionQuery } from 'graphql';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Database } from '../../src/db/client.js';
import {
  DashboardDocument,
  JobExecutionsDocument,
  JobHealthDocument,
  JobStatsDocument,
  JobThroughputDocument,
  JobTypesDocument,
  SlowJobsDocument,
  StuckJobsDocument,
} from '../gql/graphql.js';
import { startTestApp, testConfig, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql, graphqlData, type GraphQLResponse } from '../helpers/graphql.js';

const EXECUTION_FIELDS = `jobId jobType status retryCount maxRetries payload metadata result error messageId userId
  organizationId createdAt updatedAt startedAt completedAt durationSeconds queueWaitSeconds`;
const FULL_NODE = `${EXECUTION_FIELDS} attempts { attempt messageId startedAt finishedAt durationSeconds httpStatus error }`;
const enqueueInput = `{ jobType: "send-email", payload: { to: "ada@example.com", subject: "s", text: "t" } }`;

let database: TestDatabase;
const jobCount = async () => Number((await database.handle.query<{ n: string }>('SELECT count(*) AS n FROM job_executions'))[0]!.n);

/** A limit rejection: HTTP 400, one error, GRAPHQL_VALIDATION_FAILED with the limit's name, no data. */
function expectRejected(response: GraphQLResponse<unknown>, limit: string, message: RegExp) {
  expect(response.status).toBe(400);
  expect(response.data).toBeUndefined();
  expect(response.errors).toEqual([
    { message: expect.stringMatching(message), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit } },
  ]);
}

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.destroy();
});

describe(`operation limits at their defaults on ${databaseKind}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(database.handle);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('lets every example operation and a whole dashboard page through', async () => {
    await graphqlData(t.baseUrl, DashboardDocument);
    await graphqlData(t.baseUrl, JobExecutionsDocument, { variables: { first: 50, filter: { status: ['FAILED', 'CANCELLED'] } } });
    await graphqlData(t.baseUrl, JobStatsDocument, { variables: { filter: { createdAfter: new Date(Date.now() - 86_400_000).toISOString() } } });
    await graphqlData(t.baseUrl, JobThroughputDocument, { variables: { bucket: 'MINUTE' } });
    await graphqlData(t.baseUrl, JobHealthDocument);
    await graphqlData(t.baseUrl, SlowJobsDocument);
    await graphqlData(t.baseUrl, StuckJobsDocument);
    await graphqlData(t.baseUrl, JobTypesDocument);

    // One request for a busy dashboard: a count per status (6 aliases), stats, throughput,
    // health and the latest 50 jobs with their attempts.
    const statuses = ['PENDING', 'PROCESSING', 'RETRYING', 'COMPLETED', 'FAILED', 'CANCELLED'];
    const page = await graphqlData<Record<string, unknown>, Record<string, never>>(
      t.baseUrl,
      `{
        ${statuses.map((s) => `${s.toLowerCase()}: jobExecutions(filter: { status: [${s}] }) { totalCount }`).join('\n')}
        jobStats { jobType status count avgDurationSeconds p95DurationSeconds }
        hourly: jobThroughput(bucket: HOUR) { bucketStart enqueued completed failed }
        jobHealth { status failureRate stuckJobs byStatus { status count } }
        latest: jobExecutions(first: 50) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${FULL_NODE} } } }
      }`,
    );
    expect(Object.keys(page)).toHaveLength(10);
  });

  it('lets the largest page (first: 500, every field, edges and nodes) and GraphiQL introspection through', async () => {
    const largest = await graphql(
      t.baseUrl,
      `{ jobExecutions(first: 500) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${FULL_NODE} } } nodes { ${FULL_NODE} } } }`,
    );
    expect(largest.errors).toBeUndefined();
    const introspection = await graphql(
      t.baseUrl,
      getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }),
    );
    expect(introspection.errors).toBeUndefined();
  });

  it('rejects a query nested deeper than 10', async () => {
    // No cycle in the schema reaches that deep, but the introspection types do.
    const response = await graphql(t.baseUrl, `{ __type(name: "JobExecution") { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } }`);
    expectRejected(response, 'maxDepth', /^Query depth limit of 10 exceeded, found 12\.$/);
  });

  it('rejects more than 30 aliases, before any of them runs', async () => {
    const before = await jobCount();
    const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: enqueueJob(input: ${enqueueInput}) { jobId }`).join('\n');
    expectRejected(await graphql(t.baseUrl, `mutation { ${aliases} }`), 'maxAliases', /^Aliases limit of 30 exceeded, found 31\.$/);
    expect(await jobCount()).toBe(before);
  });

  it('rejects a document of more than 3000 tokens while parsing it', async () => {
    const before = await jobCount();
    const padding = Array.from({ length: 3000 }, () => '1').join(' ');
    const response = await graphql(
      t.baseUrl,
      `mutation { enqueueJob(input: { jobType: "send-email", payload: { to: "ada@example.com", subject: "s", text: "t", padding: [${padding}] } }) { jobId } }`,
    );
    expectRejected(response, 'maxTokens', /^Token limit of 3000 exceeded\.$/);
    expect(await jobCount()).toBe(before);
  });

  it('rejects an operation costing more than 200000 (four of the largest pages at once)', async () => {
    const pages = ['a', 'b', 'c', 'd'].map((a) => `${a}: jobExecutions(first: 500) { edges { node { ${FULL_NODE} } } }`).join('\n');
    expectRejected(await graphql(t.baseUrl, `{ ${pages} }`), 'costLimit', /^Query Cost limit of 200000 exceeded, found \d+(\.\d+)?\.$/);
  });

  it('applies the same limits over WebSocket, keeping the connection', async () => {
    const client = createClient({ url: `${t.baseUrl.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      // __typename aliases are free (the armor's allow list); these each read the registry.
      const aliases = Array.from({ length: 31 }, (_, i) => `a${i}: jobTypes { name }`).join(' ');
      const rejected = await new Promise<unknown>((resolve, reject) =>
        client.subscribe({ query: `{ ${aliases} }` }, { next: reject, error: resolve, complete: () => reject(new Error('completed')) }),
      );
      expect(rejected).toEqual([
        { message: 'Aliases limit of 30 exceeded, found 31.', extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: 'maxAliases' } },
      ]);
      const after = await new Promise<unknown>((resolve, reject) => {
        let last: unknown;
        client.subscribe({ query: '{ __typename }' }, { next: (r) => (last = r), error: reject, complete: () => resolve(last) });
      });
      expect(after).toEqual({ data: { __typename: 'Query' } });
    } finally {
      await client.dispose();
    }
  });

  it('passes expected errors through with their code', async () => {
    const response = await graphql(t.baseUrl, JobExecutionsDocument, { variables: { first: 501 } });
    expect(errorCodes(response)).toEqual(['BAD_USER_INPUT']);
    expect(response.errors![0]!.message).toMatch(/500/);
  });
});

describe('limit configuration', () => {
  it('has defaults and reads GRAPHQL_MAX_* from the environment, reporting every bad value', () => {
    expect(testConfig().graphqlLimits).toEqual({ maxDepth: 10, maxAliases: 30, maxTokens: 3000, maxCost: 200_000, subscriptionBufferKiB: 256, maxBodyKiB: 1024 });
    expect(testConfig({ GRAPHQL_MAX_DEPTH: '4', GRAPHQL_MAX_COST: '' }).graphqlLimits).toMatchObject({ maxDepth: 4, maxCost: 200_000 });
    expect(() => testConfig({ GRAPHQL_MAX_DEPTH: 'deep', GRAPHQL_MAX_TOKENS: '-1' })).toThrow(/GRAPHQL_MAX_DEPTH[\s\S]*GRAPHQL_MAX_TOKENS/);
  });
});

describe(`configured operation limits on ${databaseKind}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(database.handle, {
      env: { GRAPHQL_MAX_DEPTH: '2', GRAPHQL_MAX_ALIASES: '2', GRAPHQL_MAX_TOKENS: '120', GRAPHQL_MAX_COST: '20' },
    });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('rejects each over-limit mutation before it runs, and runs one within every limit', async () => {
    const before = await jobCount();
    const enqueue = (selection: string, alias = '') => `${alias}enqueueJob(input: ${enqueueInput}) { ${selection} }`;
    const cases: [string, string, RegExp][] = [
      ['maxDepth', `mutation { ${enqueue('jobId attempts { attempt }')} }`, /^Query depth limit of 2 exceeded, found 3\.$/],
      ['maxAliases', `mutation { ${['a', 'b', 'c'].map((a) => enqueue('jobId', `${a}: `)).join(' ')} }`, /^Aliases limit of 2 exceeded, found 3\.$/],
      ['maxTokens', `mutation { ${enqueue('jobId').replace('text: "t"', `text: "t", padding: [${'1 '.repeat(100)}]`)} }`, /^Token limit of 120 exceeded\.$/],
      ['costLimit', `mutation { ${enqueue(EXECUTION_FIELDS)} }`, /^Query Cost limit of 20 exceeded, found 29\.$/],
    ];
    for (const [limit, query, message] of cases) expectRejected(await graphql(t.baseUrl, query), limit, message);
    expect(await jobCount()).toBe(before);

    const ok = await graphql(t.baseUrl, `mutation { ${enqueue('jobId status')} }`);
    expect(ok.errors).toBeUndefined();
    expect(await jobCount()).toBe(before + 1);
  });
});

describe(`errors in production on ${databaseKind}`, () => {
  let t: TestApp;
  let dev: TestApp;
  // BASE_URL (required in production) names a public host; tests call the bound port.
  const url = () => `http://127.0.0.1:${(t.server.server.address() as AddressInfo).port}`;
  beforeAll(async () => {
    // Every use of the database fails, as when it is down: the resolvers' errors are unexpected.
    const broken = new Proxy(database.handle.db, {
      get() {
        throw new Error('connect ECONNREFUSED db.internal:5432 (user jobscope, password hunter2)');
      },
    }) as Database;
    const handle = new Proxy(database.handle, { get: (target, p) => (p === 'db' ? broken : Reflect.get(target, p)) });
    t = await startTestApp(handle, {
      env: {
        NODE_ENV: 'production',
        BASE_URL: 'http://127.0.0.1:9',
        QSTASH_TOKEN: 'production-token',
        QSTASH_CURRENT_SIGNING_KEY: 'sig_current_production',
        QSTASH_NEXT_SIGNING_KEY: 'sig_next_production',
        JOBSCOPE_READ_KEYS: 'read-key',
      },
    });
    dev = await startTestApp(database.handle);
  });
  afterAll(async () => {
    await t?.close();
    await dev?.close();
  });

  it('masks unexpected errors and logs them', async () => {
    const response = await graphql(url(), JobHealthDocument, { key: 'read-key' });
    expect(response.errors).toEqual([expect.objectContaining({ message: 'Unexpected error.' })]);
    expect(JSON.stringify(response)).not.toMatch(/ECONNREFUSED|hunter2/);
    expect(JSON.stringify(t.logs)).toContain('ECONNREFUSED');
  });

  it('hides field suggestions in production only', async () => {
    const typo = '{ jobExecutoins { totalCount } }';
    const production = await graphql(url(), typo, { key: 'read-key' });
    expect(production.errors?.[0]?.message).toBe('Cannot query field "jobExecutoins" on type "Query". [Suggestion hidden]');
    const development = await graphql(dev.baseUrl, typo);
    expect(development.errors?.[0]?.message).toMatch(/Did you mean "jobExecutions"/);
  });
});

/** A POST to /graphql over node:http, chunked (no Content-Length) when `chunked`. */
function post(baseUrl: string, body: string, chunked: boolean): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(chunked ? {} : { 'content-length': Buffer.byteLength(body) }) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    if (chunked) {
      // Two writes: the body arrives as chunks, its length declared nowhere.
      req.write(body.slice(0, 10));
      req.end(body.slice(10));
    } else req.end(body);
  });
}

describe(`request body limit on ${databaseKind}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(database.handle, { env: { GRAPHQL_MAX_BODY_KIB: '1' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it.each([false, true])('answers 413 REQUEST_ENTITY_TOO_LARGE past GRAPHQL_MAX_BODY_KIB and runs bodies within it (chunked: %s)', async (chunked) => {
    const small = JSON.stringify({ query: '{ __typename }' });
    const large = JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1100)}` });
    const ok = await post(t.baseUrl, small, chunked);
    expect(ok).toMatchObject({ status: 200 });
    expect(JSON.parse(ok.body)).toEqual({ data: { __typename: 'Query' } });
    const refused = await post(t.baseUrl, large, chunked);
    expect(refused.status).toBe(413);
    expect(JSON.parse(refused.body).errors[0]).toMatchObject({ message: expect.stringMatching(/1024 bytes/), extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } });
  });
});
