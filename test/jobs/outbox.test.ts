/**
 * The transactional outbox under faults, with real parts only: the QStash stand-in over HTTP
 * (behind a front that can answer like a struggling QStash), the real @upstash/qstash Client in
 * jobscope's relay, and the test's real database.
 */
import { createServer, type Server } from 'node:http';
import { createServerAdapter } from '@whatwg-node/server';
import { Client } from '@upstash/qstash';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { jobAttempts, jobExecutions, jobPublishes } from '../../src/db/schema.js';
import { claimPublishes, deduplicationId, releaseClaimsOf } from '../../src/jobs/outbox.js';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { createQStashStandIn, type QStashStandIn } from '../../src/qstash/standin/index.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { graphqlData } from '../helpers/graphql.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { openThroughProxy } from '../helpers/tcp-proxy.js';

/** A canned answer the front gives instead of the stand-in's. */
interface Fault {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** The stand-in on its own port, behind a front that answers publishes with queued faults first. */
interface FlakyQStash {
  url: string;
  standIn: QStashStandIn;
  faults: Fault[];
  /** When each publish request arrived at the front (faulted or not). */
  publishTimes: number[];
  /** Publishes the stand-in accepted as new messages (200) and as repeats it deduplicated (202). */
  accepted: number;
  deduplicated: number;
  /** Runs once, when the next publish has been accepted by the stand-in and before the front answers it. */
  afterAccept: (() => Promise<void>) | undefined;
  close(): Promise<void>;
}

async function startFlakyQStash(): Promise<FlakyQStash> {
  const standIn = createQStashStandIn({
    token: DEV_QSTASH_TOKEN,
    currentSigningKey: DEV_CURRENT_SIGNING_KEY,
    nextSigningKey: DEV_NEXT_SIGNING_KEY,
    retryDelayFactor: 0.0001,
  });
  const state: Omit<FlakyQStash, 'url' | 'close'> = { standIn, faults: [], publishTimes: [], accepted: 0, deduplicated: 0, afterAccept: undefined };
  const server: Server = createServer(
    createServerAdapter(async (request: Request) => {
      // Publishes: straight (`/v2/publish/…`) or into the job type's queue (`/v2/enqueue/…`).
      if (request.method !== 'POST' || !/^\/v2\/(publish|enqueue)\//.test(new URL(request.url).pathname)) return standIn.fetch(request);
      state.publishTimes.push(Date.now());
      const fault = state.faults.shift();
      if (fault) return new Response(fault.body ?? `fault ${fault.status}`, { status: fault.status, headers: fault.headers ?? {} });
      const response = await standIn.fetch(request);
      if (response.status === 202) state.deduplicated++;
      else if (response.ok) state.accepted++;
      const hook = state.afterAccept;
      state.afterAccept = undefined;
      await hook?.();
      return response;
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    async close() {
      await standIn.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  });
}

const email = (subject: string) => ({ to: 'ops@example.com', subject, text: 'hello' });

describe(`the transactional outbox under faults, on ${databaseKind}`, () => {
  let database: TestDatabase;
  let qstash: FlakyQStash;
  const apps: TestApp[] = [];
  const extraHandles: DatabaseHandle[] = [];

  /** A jobscope publishing through the flaky front; fast publish backoff. */
  async function startApp(env: Record<string, string> = {}, handle = database.handle): Promise<TestApp> {
    const app = await startTestApp(handle, {
      env: {
        QSTASH_URL: qstash.url,
        QSTASH_TOKEN: DEV_QSTASH_TOKEN,
        QSTASH_CURRENT_SIGNING_KEY: DEV_CURRENT_SIGNING_KEY,
        QSTASH_NEXT_SIGNING_KEY: DEV_NEXT_SIGNING_KEY,
        JOBSCOPE_PUBLISH_RETRY_BASE_MS: '20',
        ...env,
      },
    });
    apps.push(app);
    return app;
  }

  /** Another connection to the test database (PostgreSQL), or the same handle (PGlite: one per process). */
  async function secondHandle(): Promise<DatabaseHandle> {
    if (databaseKind !== 'postgres') return database.handle;
    const handle = await openDatabase(database.target);
    extraHandles.push(handle);
    return handle;
  }

  const attemptsOf = async (jobId: string) =>
    (await database.handle.db.select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId))).length;
  const publishOf = async (jobId: string) =>
    (await database.handle.db.select().from(jobPublishes).where(eq(jobPublishes.jobId, jobId)))[0];

  beforeAll(async () => {
    database = await createTestDatabase();
    qstash = await startFlakyQStash();
  });
  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const handle of extraHandles.splice(0)) await handle.close();
    qstash.faults.length = 0;
    qstash.afterAccept = undefined;
  });
  afterAll(async () => {
    await qstash?.close();
    await database?.destroy();
  });

  it('returns the pending job at once; a relay started after a crash publishes it once and it completes', async () => {
    // The process that enqueued dies between the commit and the publish: its relay never runs.
    const crashed = await startApp();
    await crashed.app.relay.stop();
    const accepted = qstash.accepted;
    const job = await crashed.app.jobs.enqueue('send-email', email('crash before publish'));
    expect(job).toMatchObject({ status: 'pending', messageId: null });
    expect(await publishOf(job.jobId)).toMatchObject({ state: 'queued', attempts: 0 });
    await crashed.close();
    apps.length = 0;

    // A new process on the same database picks the row up.
    const next = await startApp();
    const done = await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    expect(done.messageId).toMatch(/^msg_/);
    expect(qstash.accepted - accepted).toBe(1);
    expect(await attemptsOf(job.jobId)).toBe(1);
    // The delivery can complete before the relay has recorded the publish.
    await expect.poll(async () => (await publishOf(job.jobId))?.state).toBe('published');
    const data = await graphqlData<{ jobExecution: { publishState: Record<string, unknown> } }, { jobId: string }>(
      next.baseUrl,
      'query ($jobId: ID!) { jobExecution(jobId: $jobId) { publishState { state attempts lastError publishedAt nextAttemptAt } } }',
      { variables: { jobId: job.jobId } },
    );
    expect(data.jobExecution.publishState).toMatchObject({ state: 'PUBLISHED', attempts: 1, lastError: null, nextAttemptAt: null });
  });

  it('a relay that died after QStash took the publish but before recording it: the repeat is deduplicated, delivered once', async () => {
    const first = await startApp();
    await first.app.relay.stop();
    const job = await first.app.jobs.enqueue('send-email', email('crash after publish'));
    // What the dead relay did: claimed the row, published it with the job's deduplication id, died.
    const [claimed] = await claimPublishes(database.handle.db, { limit: 1, leaseMs: 60_000, token: 'dead-relay', jobTypes: ['send-email'] });
    expect(claimed!.request.jobId).toBe(job.jobId);
    const client = new Client({ baseUrl: qstash.url, token: DEV_QSTASH_TOKEN, retry: false, enableTelemetry: false });
    await client.queue({ queueName: 'jobscope-send-email' }).enqueueJSON({
      url: `${first.baseUrl}/api/jobs/email`,
      body: claimed!.job.payload,
      deduplicationId: deduplicationId(claimed!.request),
    });
    const dedupedBefore = qstash.deduplicated;
    // Its lease runs out; the live relay publishes again.
    await database.handle.db.update(jobPublishes).set({ nextAttemptAt: sql`now()` }).where(eq(jobPublishes.jobId, job.jobId));
    first.app.relay.start();
    await expect.poll(async () => (await publishOf(job.jobId))?.state).toBe('published');
    expect(qstash.deduplicated - dedupedBefore).toBe(1);
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    await qstash.standIn.idle();
    expect(await attemptsOf(job.jobId)).toBe(1);
    expect(await publishOf(job.jobId)).toMatchObject({ attempts: 2 });
  });

  it('a claim that committed while its relay heard only an error is given back by its token, due at once instead of after the lease', async () => {
    const t = await startApp();
    await t.app.relay.stop();
    const job = await t.app.jobs.enqueue('send-email', email('claim answer lost'));
    // The claim commits; the relay's connection is cut before the COMMIT's answer reaches it.
    const [claimed] = await claimPublishes(database.handle.db, { limit: 1, leaseMs: 60_000, token: 'round-unheard', jobTypes: ['send-email'] });
    expect(claimed!.request.jobId).toBe(job.jobId);
    expect((await publishOf(job.jobId))!.nextAttemptAt.getTime()).toBeGreaterThan(Date.now() + 50_000);
    // Once the database answers again: only that round's claims come back, due now.
    expect(await releaseClaimsOf(database.handle.db, 'round-other')).toBe(0);
    expect(await releaseClaimsOf(database.handle.db, 'round-unheard')).toBe(1);
    expect((await publishOf(job.jobId))!.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now() + 1_000);
    t.app.relay.start();
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    expect(await attemptsOf(job.jobId)).toBe(1);
  });

  it('retries 503s with backoff until QStash recovers: published once, completed, the attempts in publishState', async () => {
    const t = await startApp();
    qstash.faults.push({ status: 503 }, { status: 503 }, { status: 503 });
    const before = { accepted: qstash.accepted, retries: t.app.relay.retries };
    const job = await t.app.jobs.enqueue('send-email', email('flaky 503'));
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    expect(qstash.accepted - before.accepted).toBe(1);
    expect(await attemptsOf(job.jobId)).toBe(1);
    expect(t.app.relay.retries - before.retries).toBe(3);
    // The delivery can complete before the relay has recorded the publish.
    await expect.poll(async () => (await publishOf(job.jobId))?.state).toBe('published');
    expect(await publishOf(job.jobId)).toMatchObject({ state: 'published', attempts: 4, lastError: 'fault 503' });
    const retried = t.logs.filter((l) => l.message === '[jobs] Job publish failed, retrying' && l.jobId === job.jobId);
    expect(retried.map((l) => l.status)).toEqual([503, 503, 503]);
    expect(retried.map((l) => l.attempt)).toEqual([1, 2, 3]);
    const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^jobscope_publish_retries_total 3$/m);
  });

  it.skipIf(databaseKind !== 'postgres')(
    'a publish QStash accepted while the database was cut is recorded once it is back, not after the lease',
    async () => {
      const { proxy, handle: proxied, close } = await openThroughProxy(database.target as { url: string });
      try {
        const t = await startApp({}, proxied);
        const before = { accepted: qstash.accepted, deduplicated: qstash.deduplicated };
        // The database goes away between QStash taking the publish and the relay recording it.
        qstash.afterAccept = async () => {
          await proxy.cut('refuse');
          setTimeout(() => void proxy.restore(), 500);
        };
        // Delivered in 2 s, when the database is back: only the relay's record is at stake.
        const job = await t.app.jobs.enqueue('send-email', email('cut after accept'), { delaySeconds: 2 });
        const published = Date.now();
        await expect.poll(async () => (await publishOf(job.jobId))?.state, { timeout: 10_000 }).toBe('published');
        // Well inside the relay's 30 s lease.
        expect(Date.now() - published).toBeLessThan(5_000);
        expect(t.logs.some((l) => l.message === '[jobs] Publish outcome not recorded; settled once the database answers' && l.jobId === job.jobId)).toBe(true);
        await waitForJob(database.handle, job.jobId, hasStatus('completed'));
        expect({ accepted: qstash.accepted - before.accepted, deduplicated: qstash.deduplicated - before.deduplicated }).toEqual({ accepted: 1, deduplicated: 0 });
        expect(await attemptsOf(job.jobId)).toBe(1);
        expect((await database.handle.db.select().from(jobExecutions).where(eq(jobExecutions.jobId, job.jobId)))[0]!.messageId).toMatch(/^msg_/);
      } finally {
        await proxy.restore();
        for (const app of apps.splice(0)) await app.close();
        await close();
      }
    },
  );

  it('waits the Retry-After of a 503 before publishing again: published once, completed', async () => {
    const t = await startApp();
    qstash.faults.push({ status: 503, headers: { 'Retry-After': '1' } });
    const start = qstash.publishTimes.length;
    const before = qstash.accepted;
    const job = await t.app.jobs.enqueue('send-email', email('503 retry-after'));
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    const [refused, accepted] = qstash.publishTimes.slice(start);
    // The header's second, not the relay's 20 ms backoff.
    expect(accepted! - refused!).toBeGreaterThanOrEqual(950);
    expect(accepted! - refused!).toBeLessThan(3_000);
    expect(qstash.accepted - before).toBe(1);
    expect(await attemptsOf(job.jobId)).toBe(1);
    await expect.poll(async () => (await publishOf(job.jobId))?.state).toBe('published');
    expect(await publishOf(job.jobId)).toMatchObject({ state: 'published', attempts: 2 });
    const retried = t.logs.find((l) => l.message === '[jobs] Job publish failed, retrying' && l.jobId === job.jobId);
    expect(retried).toMatchObject({ status: 503, retryInMs: 1_000 });
  });

  it("waits out a 429 until QStash's rate-limit reset, then publishes", async () => {
    const t = await startApp();
    const reset = Math.ceil(Date.now() / 1000) + 1;
    qstash.faults.push({ status: 429, headers: { 'Retry-After': '1', 'Burst-RateLimit-Reset': String(reset) } });
    const start = qstash.publishTimes.length;
    const job = await t.app.jobs.enqueue('send-email', email('rate limited'));
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    const [limited, accepted] = qstash.publishTimes.slice(start);
    // Not the 20 ms backoff: the next attempt came at the reset (to the second).
    expect(accepted! - limited!).toBeGreaterThanOrEqual(reset * 1000 - limited! - 50);
    expect(accepted! - limited!).toBeGreaterThan(200);
    // The delivery can complete before the relay has recorded the publish.
    await expect.poll(async () => (await publishOf(job.jobId))?.state).toBe('published');
    expect(await publishOf(job.jobId)).toMatchObject({ state: 'published', attempts: 2 });
  });

  it('fails the job on a permanent refusal (a 4xx), with the error, without retrying', async () => {
    const t = await startApp();
    qstash.faults.push({ status: 400, body: 'invalid destination url' });
    const start = qstash.publishTimes.length;
    const job = await t.app.jobs.enqueue('send-email', email('refused'));
    const failed = await waitForJob(database.handle, job.jobId, hasStatus('failed'));
    expect(failed.error).toBe(`Publishing job ${job.jobId} to QStash failed: QStash refused the publish (400): invalid destination url`);
    expect(failed.completedAt).toBeInstanceOf(Date);
    expect(await publishOf(job.jobId)).toMatchObject({ state: 'failed', attempts: 1, lastError: failed.error });
    expect(qstash.publishTimes.length - start).toBe(1);
    // Logged once the failure is committed: the row can be read a moment before the line.
    await expect.poll(() => t.logs.some((l) => l.message === '[jobs] Job enqueue failed' && l.jobId === job.jobId)).toBe(true);
  });

  it('fails the job once the publish deadline passes while QStash keeps failing', async () => {
    const t = await startApp({ JOBSCOPE_PUBLISH_DEADLINE_SECONDS: '1', JOBSCOPE_PUBLISH_RETRY_BASE_MS: '100' });
    for (let i = 0; i < 100; i++) qstash.faults.push({ status: 502 });
    const job = await t.app.jobs.enqueue('send-email', email('deadline'));
    const failed = await waitForJob(database.handle, job.jobId, hasStatus('failed'), 5_000);
    expect(failed.error).toMatch(/^Publishing job .* failed: Publishing gave up after \d+ attempts \(deadline passed\): fault 502$/);
    const request = await publishOf(job.jobId);
    expect(request).toMatchObject({ state: 'failed' });
    expect(request!.attempts).toBeGreaterThan(1);
  });

  it("enqueues inside the caller's drizzle transaction: a rollback leaves no job and publishes nothing, a commit publishes", async () => {
    const t = await startApp();
    const db = t.app.jobs.db;
    const start = qstash.publishTimes.length;
    let rolledBackId: string | undefined;
    await expect(
      db.transaction(async (tx) => {
        rolledBackId = (await t.app.jobs.enqueue('send-email', email('rolled back'), { tx })).jobId;
        throw new Error('the business write failed');
      }),
    ).rejects.toThrow('the business write failed');
    const committed = await db.transaction((tx) => t.app.jobs.enqueue('send-email', email('committed'), { tx }));
    await waitForJob(database.handle, committed.jobId, hasStatus('completed'));
    expect(await t.app.jobs.read.get(rolledBackId!)).toBeUndefined();
    expect(await publishOf(rolledBackId!)).toBeUndefined();
    expect(qstash.publishTimes.length - start).toBe(1);
  });

  it.runIf(databaseKind === 'postgres')("enqueues inside the caller's postgres.js transaction (sql.begin)", async () => {
    const t = await startApp();
    if (database.target.kind !== 'postgres') throw new Error('unreachable');
    const sqlClient = postgres(database.target.url, { max: 2, onnotice: () => {} });
    try {
      await sqlClient`CREATE TABLE IF NOT EXISTS orders (id text PRIMARY KEY)`;
      const start = qstash.publishTimes.length;
      let rolledBackId: string | undefined;
      await expect(
        sqlClient.begin(async (tx) => {
          await tx`INSERT INTO orders (id) VALUES ('o_1')`;
          rolledBackId = (await t.app.jobs.enqueue('send-email', email('order o_1'), { tx })).jobId;
          throw new Error('payment declined');
        }),
      ).rejects.toThrow('payment declined');
      const job = await sqlClient.begin(async (tx) => {
        await tx`INSERT INTO orders (id) VALUES ('o_2')`;
        return t.app.jobs.enqueue('send-email', email('order o_2'), { tx });
      });
      expect(job).toMatchObject({ status: 'pending', jobType: 'send-email', messageId: null });
      expect(job.createdAt).toBeInstanceOf(Date);
      expect(Math.abs(job.createdAt.getTime() - Date.now())).toBeLessThan(5_000);
      expect(job.payload.payload).toMatchObject({ subject: 'order o_2' });
      await waitForJob(database.handle, job.jobId, hasStatus('completed'));
      expect(await t.app.jobs.read.get(rolledBackId!)).toBeUndefined();
      expect(await sqlClient`SELECT id FROM orders ORDER BY id`).toEqual([{ id: 'o_2' }]);
      expect(qstash.publishTimes.length - start).toBe(1);
    } finally {
      await sqlClient.end({ timeout: 5 });
    }
  });

  it('a job cancelled before the relay published it is never published', async () => {
    const t = await startApp();
    await t.app.relay.stop();
    const start = qstash.publishTimes.length;
    const job = await t.app.jobs.enqueue('send-email', email('cancelled first'));
    await t.app.jobs.cancel(job.jobId);
    t.app.relay.start();
    await t.app.relay.stop();
    expect(await publishOf(job.jobId)).toMatchObject({ state: 'failed', attempts: 0, lastError: 'The job was cancelled before it was published' });
    expect((await t.app.jobs.read.get(job.jobId))?.status).toBe('cancelled');
    expect(qstash.publishTimes.length - start).toBe(0);
  });

  it('two relays on one database publish each job exactly once', async () => {
    const a = await startApp();
    const b = await startApp({}, await secondHandle());
    await a.app.relay.stop();
    await b.app.relay.stop();
    const jobs = [];
    for (let i = 0; i < 60; i++) jobs.push(await (i % 2 ? a : b).app.jobs.enqueue('send-email', email(`shared ${i}`)));
    const before = { accepted: qstash.accepted, deduplicated: qstash.deduplicated, requests: qstash.publishTimes.length };
    a.app.relay.start();
    b.app.relay.start();
    for (const job of jobs) await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    expect(qstash.accepted - before.accepted).toBe(60);
    expect(qstash.deduplicated - before.deduplicated).toBe(0);
    expect(qstash.publishTimes.length - before.requests).toBe(60);
    const rows = await database.handle.db
      .select({ attempts: jobPublishes.attempts })
      .from(jobPublishes)
      .innerJoin(jobExecutions, eq(jobExecutions.jobId, jobPublishes.jobId))
      .where(sql`${jobExecutions.payload} -> 'payload' ->> 'subject' LIKE 'shared %'`);
    expect(rows.map((r) => r.attempts)).toEqual(new Array(60).fill(1));
    for (const job of jobs) expect(await attemptsOf(job.jobId)).toBe(1);
  });
});
