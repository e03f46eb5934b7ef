import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { graphql } from '../helpers/graphql.js';
import { openThroughProxy, type ProxiedDatabase, type TcpProxy } from '../helpers/tcp-proxy.js';
import { deliverSigned } from '../helpers/deliveries.js';

const ENQUEUE = 'mutation { enqueueJob(input: { jobType: "send-email", payload: { to: "ada@example.com", subject: "s", text: "t" } }) { jobId status } }';

// PGlite runs in-process: there is no connection to cut.
describe.skipIf(databaseKind === 'pglite')(`a database outage (PostgreSQL behind a TCP proxy that is cut)`, () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let through: ProxiedDatabase;
  let t: TestApp;
  beforeAll(async () => {
    database = await createTestDatabase();
    through = await openThroughProxy(database.target as { url: string });
    proxy = through.proxy;
    t = await startTestApp(through.handle);
  });
  afterAll(async () => {
    await proxy?.restore();
    await t?.close();
    await through?.close();
    await database?.destroy();
  });

  const expectUnavailable = (response: Awaited<ReturnType<typeof graphql>>) => {
    expect(response.status).toBe(503);
    expect(response.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/unavailable/), extensions: { code: 'SERVICE_UNAVAILABLE' } })]);
  };

  it('answers 503 with Retry-After everywhere while cut, without driver text, and recovers once restored', async () => {
    // Where the time went, printed if the test fails (two CI runs timed out at 30 s; alone it takes 1–2 s).
    const started = Date.now();
    const stages: string[] = [];
    const mark = (stage: string) => stages.push(`${stage} +${Date.now() - started} ms`);
    onTestFailed(() => {
      console.log('[outage] stages reached:', stages);
      console.log('[outage] the app\'s last log lines:', JSON.stringify(t.logs.slice(-40), null, 1));
    });
    const enqueued = await graphql<{ enqueueJob: { jobId: string } }>(t.baseUrl, ENQUEUE);
    expect(enqueued.errors).toBeUndefined();
    // Cut while the pool is idle: once the job has run (read past the proxy) and its log lines
    // are flushed (every 200 ms), not at a fixed 200 ms after the enqueue.
    await waitForJob(database.handle, enqueued.data!.enqueueJob.jobId, hasStatus('completed'));
    mark('enqueued job completed');
    await new Promise((r) => setTimeout(r, 400));
    await proxy.cut();
    mark('cut');
    try {
      const res = await fetch(`${t.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: ENQUEUE }) });
      expect({ status: res.status, body: await res.clone().text() }).toMatchObject({ status: 503 });
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: 'SERVICE_UNAVAILABLE' } }] });
      mark('enqueue answered');
      expectUnavailable(await graphql(t.baseUrl, '{ jobExecutions(first: 5) { totalCount nodes { jobId } } }'));
      expectUnavailable(await graphql(t.baseUrl, '{ jobHealth { status } }'));
      mark('queries answered');

      const delivery = await deliverSigned(t.baseUrl, JSON.stringify({ jobId: `outage-${randomUUID()}`, type: 'send-email', payload: { to: 'a@example.com', subject: 's', text: 't' } }));
      expect(delivery.res.status).toBe(503);
      expect(delivery.res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(delivery.res.headers.get('upstash-nonretryable-error')).toBeNull();
      mark('delivery answered');

      for (const path of ['/health', '/health/jobs']) {
        const health = await fetch(t.baseUrl + path);
        expect(health.status).toBe(503);
        const text = await health.text();
        expect(JSON.parse(text)).toMatchObject({ status: 'error', database: 'unreachable' });
        expect(text).not.toMatch(/CONNECTION|127\.0\.0\.1|5432|ECONN/);
      }
      // The open checklist too: each item whose reads failed says the database is unreachable, not what the driver said.
      mark('health answered');
      const checks = await fetch(`${t.baseUrl}/health/checks`);
      expect(checks.status).toBe(503);
      const checksText = await checks.text();
      expect(checksText).toMatch(/the database could not be reached/);
      // (It names jobscope's own URLs on 127.0.0.1 by design; never the database's address, a query or a driver code.)
      for (const leak of [/CONNECTION_|ECONN|Failed query/, new RegExp(`:(${proxy.port}|5432)\\b`)]) expect(checksText).not.toMatch(leak);
      expect(JSON.stringify(t.logs)).toMatch(/CONNECTION_|ECONN/);
    } finally {
      await proxy.restore();
      mark('restored');
    }
    // Each attempt bounded: a request that hangs shows as 'hung' (and in the stages) instead of
    // holding the poll past its timeout, and fails the test. Until the postgres.js patch forgot a
    // closed socket's pending write (test/db/postgres-driver.test.ts), the first /health after the
    // restore hung for the driver's 30 s connect timeout in about 3 runs in 10.
    await expect
      .poll(
        async () => {
          try {
            return (await fetch(`${t.baseUrl}/health`, { signal: AbortSignal.timeout(3_000) })).status;
          } catch (error) {
            mark(`a /health request failed: ${String(error)}`);
            return 'hung';
          }
        },
        { timeout: 15_000 },
      )
      .toBe(200);
    mark('healthy again');
    expect(stages.filter((stage) => stage.includes('/health request failed')), stages.join('\n')).toEqual([]);
    expect((await graphql(t.baseUrl, ENQUEUE)).errors).toBeUndefined();
  });
});
