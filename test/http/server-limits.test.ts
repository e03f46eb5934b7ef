import { request as httpRequest, type ClientRequest } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { testConfig, useTestApp } from '../helpers/app.js';
import { databaseKind } from '../helpers/db.js';
import { deliverSigned } from '../helpers/deliveries.js';

/** A POST whose headers (and `sent` bytes of a `length`-byte body) are sent, the rest held back until `finish`. */
function heldPost(baseUrl: string, path: string, length: number): { req: ClientRequest; finish(): Promise<number> } {
  const req = httpRequest(`${baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': length } });
  const answered = new Promise<number>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
  });
  req.write(' '.repeat(16));
  return {
    req,
    finish() {
      req.end(' '.repeat(length - 16 - 2) + '{}');
      return answered;
    },
  };
}

const small = (baseUrl: string) =>
  fetch(`${baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });

/** Waits until the server has seen the held request (it counts from its headers on). */
const settle = () => new Promise((r) => setTimeout(r, 100));

describe(`load shedding on ${databaseKind}`, () => {
  const fixture = useTestApp({ env: { HTTP_MAX_CONCURRENT_LARGE_BODIES: '1', HTTP_MAX_CONCURRENT_REQUESTS: '2' } });

  it('turns away a second large body with 503 and Retry-After while small queries and /health still answer', async () => {
    const { baseUrl } = fixture.app;
    const held = heldPost(baseUrl, '/graphql', 200_000);
    await settle();
    const big = await fetch(`${baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ __typename } # ${'x'.repeat(100_000)}` }) });
    expect(big.status).toBe(503);
    expect(big.headers.get('retry-after')).toBe('1');
    expect(await big.json()).toEqual({ errors: [{ message: expect.any(String), extensions: { code: 'SERVICE_UNAVAILABLE' } }] });
    expect(await (await small(baseUrl)).json()).toEqual({ data: { __typename: 'Query' } });
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    expect(await held.finish()).not.toBe(503);
    expect((await fetch(`${baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: `{ __typename } # ${'x'.repeat(100_000)}` }) })).status).toBe(200);
  });

  it('turns away any request past HTTP_MAX_CONCURRENT_REQUESTS, but not health or metrics', async () => {
    const { baseUrl } = fixture.app;
    const held = [heldPost(baseUrl, '/graphql', 1_000), heldPost(baseUrl, '/graphql', 1_000)];
    await settle();
    const refused = await small(baseUrl);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await fetch(`${baseUrl}/health`)).status).toBe(200);
    expect((await fetch(`${baseUrl}/metrics`)).status).toBe(200);
    await Promise.all(held.map((h) => h.finish()));
    expect((await small(baseUrl)).status).toBe(200);
  });
});

describe(`worker body limit and timeouts on ${databaseKind}`, () => {
  const fixture = useTestApp({ env: { WORKER_MAX_BODY_KIB: '1', HTTP_HEADERS_TIMEOUT_SECONDS: '1' } });

  it('answers a delivery body over WORKER_MAX_BODY_KIB 413 and records nothing, and runs one within it', async () => {
    const { baseUrl } = fixture.app;
    const before = await fixture.database.handle.query('SELECT count(*)::int AS n FROM job_executions');
    const envelope = (subject: string) => JSON.stringify({ jobId: `limit-${subject.length}`, type: 'send-email', payload: { to: 'ada@example.com', subject, text: 't' } });
    const tooLarge = await deliverSigned(baseUrl, envelope('x'.repeat(1100)));
    expect(tooLarge.res.status).toBe(413);
    expect(tooLarge.json.error).toMatch(/1024 bytes/);
    expect(await fixture.database.handle.query('SELECT count(*)::int AS n FROM job_executions')).toEqual(before);
    expect((await deliverSigned(baseUrl, envelope('ok'))).res.status).toBe(200);
  });

  it('closes a connection whose headers do not arrive within HTTP_HEADERS_TIMEOUT_SECONDS', async () => {
    const { port } = new URL(fixture.app.baseUrl);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write('GET /health HTTP/1.1\r\nHost: x\r\n');
    const started = Date.now();
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d) => (text += d.toString()));
      socket.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1.1 408/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('HTTP limit configuration', () => {
  it('has defaults (worker bodies up to QStash’s 50 MB) and reads HTTP_* and WORKER_MAX_BODY_KIB', () => {
    expect(testConfig().http).toEqual({ maxConcurrentRequests: 256, maxConcurrentLargeBodies: 1, headersTimeoutSeconds: 10, requestTimeoutSeconds: 60, workerMaxBodyKiB: 51_200 });
    expect(testConfig({ WORKER_MAX_BODY_KIB: '2048', HTTP_MAX_CONCURRENT_REQUESTS: '10' }).http).toMatchObject({ workerMaxBodyKiB: 2048, maxConcurrentRequests: 10 });
    expect(() => testConfig({ HTTP_MAX_CONCURRENT_REQUESTS: '0', WORKER_MAX_BODY_KIB: 'big' })).toThrow(/HTTP_MAX_CONCURRENT_REQUESTS[\s\S]*WORKER_MAX_BODY_KIB/);
  });
});
