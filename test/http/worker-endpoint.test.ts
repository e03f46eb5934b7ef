import { randomUUID } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobAttempts, jobExecutions } from '../../src/db/schema.js';
import { defineJob } from '../../src/jobs/registry.js';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY } from '../../src/qstash/dev-credentials.js';
import { signDelivery } from '../../src/qstash/signing.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { graphqlData } from '../helpers/graphql.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

let runs = 0;
const blockingJob = defineJob({
  type: 'blocking',
  endpoint: '/api/jobs/blocking',
  schema: z.object({ waitMs: z.number() }),
  timeoutSeconds: 10,
  retries: 3,
  async handler({ waitMs }) {
    runs += 1;
    await new Promise((r) => setTimeout(r, waitMs));
    return { runs };
  },
});

/** A payload with an array of objects, to show issue paths that hold indexes. */
const batchJob = defineJob({
  type: 'batch',
  endpoint: '/api/jobs/batch',
  schema: z.object({ items: z.array(z.object({ sku: z.string().min(1) })).min(1) }),
  timeoutSeconds: 10,
  retries: 3,
  async handler({ items }) {
    return { count: items.length };
  },
});

/** Posts a delivery to a worker endpoint the way QStash would, with a signature we control. */
async function deliver(
  t: TestApp,
  body: string,
  options: { signature?: string | null; messageId?: string; retried?: number; path?: string; scheduleId?: string } = {},
) {
  const path = options.path ?? '/api/jobs/blocking';
  const signature =
    options.signature === undefined
      ? signDelivery({ signingKey: DEV_CURRENT_SIGNING_KEY, url: t.baseUrl + path, body: Buffer.from(body) })
      : options.signature;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'upstash-message-id': options.messageId ?? `msg_${randomUUID()}`,
    'upstash-retried': String(options.retried ?? 0),
  };
  if (signature !== null) headers['upstash-signature'] = signature;
  if (options.scheduleId) headers['upstash-schedule-id'] = options.scheduleId;
  return fetch(t.baseUrl + path, { method: 'POST', headers, body });
}

const envelope = (jobId: string, waitMs = 0) =>
  JSON.stringify({ jobId, type: 'blocking', payload: { waitMs }, metadata: {} });

describe(`worker endpoint on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp(database.handle, { jobs: [blockingJob, batchJob] });
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  const snapshot = async () => ({
    jobs: await database.handle.db.select().from(jobExecutions).orderBy(asc(jobExecutions.jobId)),
    attempts: await database.handle.db.select().from(jobAttempts).orderBy(asc(jobAttempts.id)),
  });

  describe('rejects every delivery whose signature does not verify, changing nothing', () => {
    const body = envelope('sig-job');
    const cases: [string, (t: TestApp) => { body?: string; signature: string | null; path?: string }][] = [
      ['forged with another key', (t) => ({
        signature: signDelivery({ signingKey: 'sig_forgedKeyForgedKeyForged1', url: `${t.baseUrl}/api/jobs/blocking`, body: Buffer.from(body) }),
      })],
      ['expired token', (t) => ({
        signature: signDelivery({ signingKey: DEV_CURRENT_SIGNING_KEY, url: `${t.baseUrl}/api/jobs/blocking`, body: Buffer.from(body), now: Date.now() - 3_600_000 }),
      })],
      ['signed for another URL', () => ({
        signature: signDelivery({ signingKey: DEV_CURRENT_SIGNING_KEY, url: 'http://localhost:3000/api/jobs/blocking', body: Buffer.from(body) }),
      })],
      ['tampered body', (t) => ({
        body: envelope('sig-job', 5),
        signature: signDelivery({ signingKey: DEV_CURRENT_SIGNING_KEY, url: `${t.baseUrl}/api/jobs/blocking`, body: Buffer.from(body) }),
      })],
      ['missing header', () => ({ signature: null })],
      ['garbage header', () => ({ signature: 'not-a-jwt' })],
    ];
    for (const [name, make] of cases) {
      it(name, async () => {
        const before = await snapshot();
        const runsBefore = runs;
        const c = make(t);
        const res = await deliver(t, c.body ?? body, { signature: c.signature });
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({ error: 'Invalid QStash signature' });
        expect(await snapshot()).toEqual(before);
        expect(runs).toBe(runsBefore);
        expect(t.logs.at(-1)).toMatchObject({ message: '[jobs] Invalid QStash signature' });
      });
    }
  });

  it('accepts a delivery signed with the next signing key (key rotation)', async () => {
    const body = envelope('next-key-job');
    const signature = signDelivery({ signingKey: DEV_NEXT_SIGNING_KEY, url: `${t.baseUrl}/api/jobs/blocking`, body: Buffer.from(body) });
    const res = await deliver(t, body, { signature });
    expect(res.status).toBe(200);
  });

  it('never writes a signature or key to the logs', () => {
    const text = JSON.stringify(t.logs);
    expect(text).not.toContain(DEV_CURRENT_SIGNING_KEY);
    expect(text).not.toMatch(/eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.[\w-]+\.[\w-]+/);
  });

  it('runs the handler once when the same message arrives twice at once', async () => {
    const jobId = 'dup-concurrent';
    const messageId = 'msg_dup_concurrent';
    const before = runs;
    const [a, b] = await Promise.all([
      deliver(t, envelope(jobId, 1_000), { messageId }),
      deliver(t, envelope(jobId, 1_000), { messageId }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 409]);
    const busy = a.status === 409 ? a : b;
    expect(Number(busy.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(runs - before).toBe(1);
    const attempts = await database.handle.db.select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId));
    expect(attempts).toHaveLength(1);
  });

  it('acknowledges a redelivery of a completed message without running it or adding an attempt', async () => {
    const jobId = 'dup-after-completion';
    const messageId = 'msg_dup_after';
    expect((await deliver(t, envelope(jobId), { messageId })).status).toBe(200);
    const before = runs;
    for (const retried of [0, 1]) {
      const again = await deliver(t, envelope(jobId), { messageId, retried });
      expect(again.status).toBe(200);
      expect(await again.json()).toMatchObject({ jobId, duplicate: true, status: 'completed' });
    }
    expect(runs).toBe(before);
    const attempts = await database.handle.db.select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId));
    expect(attempts).toHaveLength(1);
  });

  it('acknowledges a delivery of a cancelled job without running it', async () => {
    const jobId = 'cancelled-before-delivery';
    await database.handle.db.insert(jobExecutions).values({
      jobId,
      jobType: 'blocking',
      status: 'cancelled',
      completedAt: new Date(),
      payload: { jobId, type: 'blocking', payload: { waitMs: 0 }, metadata: {} },
    });
    const before = runs;
    const res = await deliver(t, envelope(jobId), { messageId: 'msg_cancelled' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ jobId, status: 'cancelled', skipped: true });
    expect(runs).toBe(before);
    expect(await database.handle.db.select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId))).toEqual([]);
  });

  it('records a delivery whose body is not JSON as failed, non-retryable', async () => {
    const res = await deliver(t, '{not json', { messageId: 'msg_not_json' });
    expect(res.status).toBe(489);
    expect(res.headers.get('upstash-nonretryable-error')).toBe('true');
    const [row] = await database.handle.db.select().from(jobExecutions).where(eq(jobExecutions.jobId, 'msg_not_json'));
    expect(row).toMatchObject({ status: 'failed', jobType: 'blocking', error: 'Invalid job payload: body is not JSON' });
  });

  it('rejects an envelope of another job type at this endpoint', async () => {
    const body = JSON.stringify({ jobId: 'wrong-type', type: 'send-email', payload: { waitMs: 0 }, metadata: {} });
    const res = await deliver(t, body);
    expect(res.status).toBe(489);
    expect(await res.json()).toMatchObject({ error: 'Invalid job payload', issues: [{ path: ['type'] }] });
  });

  it("records each run of a QStash schedule as its own job, named by its message id, with the schedule's id", async () => {
    // A schedule delivers the same body every time, the jobId in it included.
    const body = envelope('schedule-template');
    const first = await deliver(t, body, { messageId: 'msg_sched_run_1', scheduleId: 'scd_nightly' });
    const second = await deliver(t, body, { messageId: 'msg_sched_run_2', scheduleId: 'scd_nightly' });
    const invalid = await deliver(t, JSON.stringify({ jobId: 'x', type: 'blocking', payload: {} }), {
      messageId: 'msg_sched_bad',
      scheduleId: 'scd_nightly',
    });
    expect([first.status, second.status, invalid.status]).toEqual([200, 200, 489]);
    const rows = await database.handle.query<{ job_id: string; schedule_id: string; status: string }>(
      "SELECT job_id, schedule_id, status FROM job_executions WHERE schedule_id IS NOT NULL ORDER BY job_id",
    );
    expect(rows).toEqual([
      { job_id: 'msg_sched_bad', schedule_id: 'scd_nightly', status: 'failed' },
      { job_id: 'msg_sched_run_1', schedule_id: 'scd_nightly', status: 'completed' },
      { job_id: 'msg_sched_run_2', schedule_id: 'scd_nightly', status: 'completed' },
    ]);
    // A retry of a run is the same job, not another one.
    const again = await deliver(t, body, { messageId: 'msg_sched_run_1', retried: 1, scheduleId: 'scd_nightly' });
    expect(again.status).toBe(200);
    expect((await database.handle.query("SELECT 1 FROM job_executions WHERE schedule_id = 'scd_nightly'")).length).toBe(3);
    const data = await graphqlData<{ jobExecution: { scheduleId: string | null } }, Record<string, never>>(
      t.baseUrl,
      '{ jobExecution(jobId: "msg_sched_run_2") { scheduleId } }',
    );
    expect(data.jobExecution.scheduleId).toBe('scd_nightly');
  });

  it('answers an invalid payload with issue paths as arrays of keys and indexes under "payload"', async () => {
    const jobId = 'bad-batch';
    const body = JSON.stringify({ jobId, type: 'batch', payload: { items: [{ sku: 'a-1' }, { sku: '' }] }, metadata: {} });
    const res = await deliver(t, body, { path: '/api/jobs/batch', messageId: 'msg_bad_batch' });
    expect(res.status).toBe(489);
    expect(await res.json()).toEqual({
      error: 'Invalid job payload',
      jobId,
      issues: [{ path: ['payload', 'items', 1, 'sku'], message: 'Too small: expected string to have >=1 characters' }],
    });
    const [row] = await database.handle.db.select().from(jobExecutions).where(eq(jobExecutions.jobId, jobId));
    const error = 'Invalid job payload: payload.items[1].sku: Too small: expected string to have >=1 characters';
    expect(row).toMatchObject({ status: 'failed', jobType: 'batch', error });
    expect(t.logs.find((l) => l.message === '[jobs] Job processing failed' && l.jobId === jobId)?.error).toBe(error);
  });
});

describe(`shutdown on ${databaseKind}`, () => {
  it('lets a running delivery commit its outcome and answer before the server closes', async () => {
    const database = await createTestDatabase();
    const t = await startTestApp(database.handle, { jobs: [blockingJob] });
    try {
      const running = deliver(t, envelope('shutdown-job', 400), { messageId: 'msg_shutdown' });
      await expect.poll(async () => (await database.handle.query<{ status: string }>(
        "SELECT status FROM job_executions WHERE job_id = 'shutdown-job'",
      ))[0]?.status).toBe('processing');
      const closed = t.close();
      const res = await running;
      expect(res.status).toBe(200);
      await closed;
      const [row] = await database.handle.query<{ status: string }>("SELECT status FROM job_executions WHERE job_id = 'shutdown-job'");
      expect(row?.status).toBe('completed');
      await expect(fetch(`${t.baseUrl}/health`)).rejects.toThrow();
    } finally {
      await t.close();
      await database.destroy();
    }
  });
});
