import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobAttempts, jobExecutions } from '../../../src/db/schema.js';
import { reapLostAttempts } from '../../../src/jobs/ops/reaper.js';
import { finishAttempt } from '../../../src/jobs/recorder.js';
import { defineJob } from '../../../src/jobs/registry.js';
import { signDelivery } from '../../../src/qstash/signing.js';
import { DEV_CURRENT_SIGNING_KEY } from '../../../src/qstash/dev-credentials.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../../helpers/db.js';

const runs = new Map<string, number>();
const Payload = z.object({ key: z.string(), ms: z.number().default(0) });
const work = async ({ key, ms }: z.output<typeof Payload>) => {
  runs.set(key, (runs.get(key) ?? 0) + 1);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { key };
};
const retryType = defineJob({ type: 'lost-retry', endpoint: '/api/jobs/lost-retry', schema: Payload, timeoutSeconds: 5, retries: 1, handler: work });
const failType = defineJob({
  type: 'lost-fail',
  endpoint: '/api/jobs/lost-fail',
  schema: Payload,
  timeoutSeconds: 5,
  retries: 1,
  onWorkerLost: 'fail',
  handler: work,
});

/** Heartbeats every 100 ms, lost after 3 missed (300 ms); the reaper runs only when a test asks. */
const ENV = { JOBSCOPE_HEARTBEAT_SECONDS: '0.1', JOBSCOPE_HEARTBEAT_MISSES: '3', JOBSCOPE_REAPER_INTERVAL_SECONDS: '0' };

describe(`heartbeats and the reaper on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp(database.handle, { jobs: [retryType, failType], env: ENV });
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  const db = () => database.handle.db;
  const attemptsOf = (jobId: string) => db().select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId)).orderBy(asc(jobAttempts.id));
  const body = (jobId: string, type: string, payload: object) => JSON.stringify({ jobId, type, payload, metadata: {} });
  const deliver = (path: string, text: string, messageId: string, retried = 0) =>
    fetch(`${t.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'upstash-message-id': messageId,
        'upstash-retried': String(retried),
        'upstash-signature': signDelivery({ signingKey: DEV_CURRENT_SIGNING_KEY, url: `${t.baseUrl}${path}`, body: Buffer.from(text) }),
      },
      body: text,
    });

  /** A job whose worker died mid-run: `processing`, with an open attempt last heard of `silentMs` ago. */
  async function lostRun(jobId: string, type: string, { attempt, silentMs = 5_000, messageId = `msg_gone_${jobId}` }: { attempt: number; silentMs?: number; messageId?: string }) {
    const lastBeat = new Date(Date.now() - silentMs);
    await db()
      .insert(jobExecutions)
      .values({
        jobId,
        jobType: type,
        status: 'processing',
        payload: { jobId, type, payload: { key: jobId }, metadata: {} },
        maxRetries: 1,
        retryCount: attempt,
        messageId,
        startedAt: lastBeat,
      });
    await db().insert(jobAttempts).values({ jobId, attempt, messageId, startedAt: lastBeat, heartbeatAt: lastBeat });
  }

  it('beats while the handler runs: heartbeat_at moves on, one UPDATE of job_attempts per interval', async () => {
    const job = await t.app.jobs.enqueue('lost-retry', { key: 'beating', ms: 600 });
    await waitForJob(database.handle, job.jobId, hasStatus('processing'));
    await expect
      .poll(async () => {
        const [open] = await attemptsOf(job.jobId);
        return open!.heartbeatAt!.getTime() - open!.startedAt.getTime();
      })
      .toBeGreaterThanOrEqual(200);
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    const [attempt] = await attemptsOf(job.jobId);
    expect(attempt).toMatchObject({ httpStatus: 200, error: null });
  });

  it('defers a duplicate while a live attempt heartbeats: it waits in place, then answers 409 until the run must have ended, and the handler runs once', async () => {
    const jobId = 'live-duplicate';
    const text = body(jobId, 'lost-retry', { key: jobId, ms: 1_500 });
    const first = deliver('/api/jobs/lost-retry', text, 'msg_live_a');
    await expect.poll(async () => (await attemptsOf(jobId)).length).toBe(1);
    const startedAt = Date.now();
    const duplicate = await deliver('/api/jobs/lost-retry', text, 'msg_live_b');
    // Held until the open attempt would have counted as lost (300 ms after its last beat, so the
    // wait is shorter than 300 ms by however long ago that beat was); it kept beating, so it is alive.
    const hold = t.logs.find((l) => l.jobId === jobId && l.message === '[jobs] Delivery held: another attempt of this job is open; waiting until it ends or counts as lost');
    expect(hold).toBeDefined();
    expect(hold!.waitMs).toBeGreaterThan(0);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(Number(hold!.waitMs));
    expect(duplicate.status).toBe(409);
    // Back when the live attempt must have ended (its 5 s timeout + 30 s grace), not in 300 ms:
    // a duplicate of a live run spends one retry, not one every few hundred milliseconds.
    expect(Number(duplicate.headers.get('retry-after'))).toBeGreaterThan(30);
    expect((await first).status).toBe(200);
    expect(runs.get(jobId)).toBe(1);
    expect(await attemptsOf(jobId)).toHaveLength(1);
  });

  it('lets a redelivery take over at once from an attempt that stopped beating, closing it as WORKER_LOST', async () => {
    const jobId = 'takeover';
    await lostRun(jobId, 'lost-retry', { attempt: 0, silentMs: 1_000, messageId: 'msg_takeover' });
    const res = await deliver('/api/jobs/lost-retry', body(jobId, 'lost-retry', { key: jobId }), 'msg_takeover', 1);
    expect(res.status).toBe(200);
    const [lost, taken] = await attemptsOf(jobId);
    expect(lost).toMatchObject({ attempt: 0, httpStatus: null, error: expect.stringMatching(/^WORKER_LOST: no heartbeat for 1\.\d s/) });
    expect(lost!.finishedAt).toBeInstanceOf(Date);
    expect(taken).toMatchObject({ attempt: 1, httpStatus: 200, error: null });
    expect((await waitForJob(database.handle, jobId, hasStatus('completed'))).retryCount).toBe(1);
    expect(t.logs.find((l) => l.jobId === jobId && l.message === '[jobs] Worker lost: took over the job from an attempt that stopped beating')).toMatchObject({
      level: 'warn',
      code: 'WORKER_LOST',
      lostAttempt: 0,
    });
  });

  it('a late outcome of a taken-over attempt changes nothing', async () => {
    const jobId = 'late-outcome';
    await lostRun(jobId, 'lost-retry', { attempt: 0, silentMs: 1_000, messageId: 'msg_late' });
    const [zombie] = await attemptsOf(jobId);
    expect((await deliver('/api/jobs/lost-retry', body(jobId, 'lost-retry', { key: jobId }), 'msg_late', 1)).status).toBe(200);
    const late = await finishAttempt(db(), {
      attemptId: zombie!.id,
      jobId,
      startedAt: zombie!.startedAt,
      httpStatus: 500,
      outcome: { kind: 'failed', error: 'late', final: true },
    });
    expect(late).toBeUndefined();
    expect(await waitForJob(database.handle, jobId, hasStatus('completed'))).toMatchObject({ error: null });
  });

  it('re-enqueues a lost run whose QStash retries are spent (policy retry), and it completes once', async () => {
    const jobId = 'reaped-retry';
    // The lost delivery was the last one its single retry allows: QStash will not come back.
    await lostRun(jobId, 'lost-retry', { attempt: 1 });
    const result = await t.app.jobs.reap();
    expect(result).toMatchObject({ skipped: false, requeued: [jobId], failed: [] });
    const done = await waitForJob(database.handle, jobId, hasStatus('completed'));
    expect(done.messageId).toMatch(/^msg_/);
    const attempts = await attemptsOf(jobId);
    expect(attempts.map((a) => [a.attempt, a.httpStatus, a.error?.slice(0, 11) ?? null])).toEqual([
      [1, null, 'WORKER_LOST'],
      [0, 200, null],
    ]);
    expect(runs.get(jobId)).toBe(1);
    const lines = t.logs.filter((l) => l.jobId === jobId).map((l) => [l.message, l.actor]);
    expect(lines).toEqual(
      expect.arrayContaining([
        ['[jobs] Worker lost: attempt closed by the reaper, job will be re-enqueued', 'system:reaper'],
        ['[jobs] Job re-enqueued after its worker was lost', 'system:reaper'],
      ]),
    );
  });

  it('asks QStash before acting on a lost run it might still deliver: a message QStash no longer holds is reaped', async () => {
    const jobId = 'reaped-gone';
    await lostRun(jobId, 'lost-retry', { attempt: 0, messageId: 'msg_unknown_to_qstash' });
    expect(await t.app.jobs.reap()).toMatchObject({ requeued: [jobId] });
    await waitForJob(database.handle, jobId, hasStatus('completed'));
  });

  it('leaves a lost run to QStash while QStash still holds its message: the redelivery takes it over', async () => {
    const jobId = 'left-to-qstash';
    // A message QStash holds (published, delivery delayed): it will deliver it again.
    const enqueued = await t.app.jobs.enqueue('lost-retry', { key: jobId }, { delaySeconds: 3_600 });
    // Published by the outbox relay after the commit.
    const published = await waitForJob(database.handle, enqueued.jobId, (row) => row.messageId !== null);
    await db().update(jobExecutions).set({ status: 'processing' }).where(eq(jobExecutions.jobId, published.jobId));
    const stale = new Date(Date.now() - 5_000);
    await db().insert(jobAttempts).values({ jobId: published.jobId, attempt: 0, messageId: published.messageId!, startedAt: stale, heartbeatAt: stale });
    const result = await t.app.jobs.reap();
    expect(result.leftToQStash).toContain(published.jobId);
    expect(result.requeued).not.toContain(published.jobId);
    expect((await attemptsOf(published.jobId))[0]!.finishedAt).toBeNull();
    await t.app.jobs.cancel(published.jobId).catch(() => undefined);
  });

  it('fails a lost run of a type whose policy is fail', async () => {
    const jobId = 'reaped-fail';
    await lostRun(jobId, 'lost-fail', { attempt: 1 });
    expect(await t.app.jobs.reap()).toMatchObject({ requeued: [], failed: [jobId] });
    const row = await waitForJob(database.handle, jobId, hasStatus('failed'));
    expect(row.error).toMatch(/^WORKER_LOST: /);
    expect(row.completedAt).toBeInstanceOf(Date);
    expect(runs.get(jobId)).toBeUndefined();
  });

  it('fails a run lost more often than its retries allow, instead of re-enqueueing it for ever', async () => {
    const jobId = 'lost-twice';
    await lostRun(jobId, 'lost-retry', { attempt: 1 });
    const old = new Date(Date.now() - 60_000);
    await db().insert(jobAttempts).values({ jobId, attempt: 0, messageId: 'msg_earlier', startedAt: old, finishedAt: old, error: 'WORKER_LOST: earlier' });
    expect(await t.app.jobs.reap()).toMatchObject({ requeued: [], failed: [jobId] });
  });

  it('two reapers at once: one acts, each lost job is re-enqueued once', async () => {
    const ids = ['twin-1', 'twin-2', 'twin-3'];
    for (const id of ids) await lostRun(id, 'lost-retry', { attempt: 1 });
    const [a, b] = await Promise.all([t.app.jobs.reap(), t.app.jobs.reap()]);
    expect([...a.requeued, ...b.requeued].sort()).toEqual(ids);
    // The loser either found the lock taken or every attempt already closed: it acted on none.
    expect(a.requeued.length === 0 || b.requeued.length === 0).toBe(true);
    for (const id of ids) {
      await waitForJob(database.handle, id, hasStatus('completed'));
      expect(runs.get(id)).toBe(1);
      expect(await attemptsOf(id)).toHaveLength(2);
    }
  });

  it('reaps nothing that is alive', async () => {
    const job = await t.app.jobs.enqueue('lost-retry', { key: 'alive', ms: 800 });
    await waitForJob(database.handle, job.jobId, hasStatus('processing'));
    await new Promise((resolve) => setTimeout(resolve, 400));
    const result = await reapLostAttempts({
      db: db(),
      registry: t.app.jobs.registry,
      dispatcher: undefined as never,
      logger: t.app.logger,
      liveness: t.app.jobs.liveness,
    });
    expect(result).toMatchObject({ requeued: [], failed: [], leftToQStash: [] });
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
  });
});
