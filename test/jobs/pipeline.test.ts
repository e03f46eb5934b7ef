import { Client } from '@upstash/qstash';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobAttempts } from '../../src/db/schema.js';
import { InvalidPayloadError, NonRetryableJobError, UnknownJobTypeError } from '../../src/jobs/errors.js';
import type { JobEvent } from '../../src/jobs/events.js';
import { defineJob } from '../../src/jobs/registry.js';
import { sendEmailJob } from '../../src/jobs/types/send-email.js';
import { memoryTransport } from '../helpers/email.js';
import { generateReportJob } from '../../src/jobs/types/generate-report.js';
import { DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { asc, eq } from 'drizzle-orm';

const calls = new Map<string, number>();
const countCall = (key: string) => {
  const n = (calls.get(key) ?? 0) + 1;
  calls.set(key, n);
  return n;
};

const TestPayload = z.object({ key: z.string() });
const flakyJob = defineJob({
  type: 'flaky',
  endpoint: '/api/jobs/flaky',
  schema: TestPayload,
  timeoutSeconds: 5,
  retries: 3,
  async handler({ key }) {
    if (countCall(key) === 1) throw new Error('flaky: first attempt fails');
    return { ok: true };
  },
});
const failingJob = defineJob({
  type: 'always-fails',
  endpoint: '/api/jobs/always-fails',
  schema: TestPayload,
  timeoutSeconds: 5,
  retries: 2,
  async handler({ key }) {
    throw new Error(`boom #${countCall(key)}`);
  },
});
const slowJob = defineJob({
  type: 'slow',
  endpoint: '/api/jobs/slow',
  schema: TestPayload,
  timeoutSeconds: 0.3,
  retries: 0,
  async handler(_payload, _job, { signal }) {
    await new Promise((resolve) => setTimeout(resolve, 5_000).unref());
    signal.throwIfAborted();
    return { finished: true };
  },
});
const hopelessJob = defineJob({
  type: 'hopeless',
  endpoint: '/api/jobs/hopeless',
  schema: TestPayload,
  timeoutSeconds: 5,
  retries: 3,
  async handler({ key }) {
    countCall(key);
    throw new NonRetryableJobError('account closed');
  },
});

describe(`job pipeline on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;
  const transport = memoryTransport();
  const events: JobEvent[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp(database.handle, {
      jobs: [sendEmailJob(transport), generateReportJob, flakyJob, failingJob, slowJob, hopelessJob],
    });
    t.app.jobs.events.subscribe((e) => events.push(e));
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  const eventsOf = (jobId: string) => events.filter((e) => e.jobId === jobId).map((e) => e.type);
  const attemptsOf = (jobId: string) =>
    database.handle.db.select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId)).orderBy(asc(jobAttempts.id));
  const qstash = () => new Client({ baseUrl: `${t.baseUrl}/qstash`, token: DEV_QSTASH_TOKEN, devMode: false, retry: false });

  it('enqueues, delivers, runs and records a job', async () => {
    const enqueued = await t.app.jobs.enqueue(
      'send-email',
      { to: 'ada@example.com', subject: 'Welcome', text: 'Hello Ada' },
      { metadata: { userId: 'u1', organizationId: 'org1' } },
    );
    // Recorded with its publish request; the relay publishes it after the commit.
    expect(enqueued.status).toBe('pending');
    expect(enqueued.messageId).toBeNull();

    const done = await waitForJob(database.handle, enqueued.jobId, hasStatus('completed'));
    expect(done.messageId).toMatch(/^msg_/);
    expect(done).toMatchObject({ jobType: 'send-email', retryCount: 0, error: null, userId: 'u1', organizationId: 'org1' });
    expect(done.startedAt).toBeInstanceOf(Date);
    expect(done.completedAt!.getTime()).toBeGreaterThanOrEqual(done.startedAt!.getTime());
    expect(done.payload).toMatchObject({ jobId: enqueued.jobId, type: 'send-email', payload: { subject: 'Welcome' }, metadata: { userId: 'u1' } });
    expect(done.result).toEqual({ messageId: expect.stringMatching(/^mem-/) });
    expect(transport.sent.at(-1)).toMatchObject({ to: ['ada@example.com'], subject: 'Welcome' });

    const attempts = await attemptsOf(enqueued.jobId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 0, messageId: done.messageId, httpStatus: 200, error: null });
    expect(attempts[0]!.durationMs).toBeGreaterThanOrEqual(0);

    await expect.poll(() => eventsOf(enqueued.jobId)).toEqual(['enqueued', 'started', 'completed']);
    // The relay logs after recording the publish, which can come after the delivery completed.
    await expect.poll(() => t.logs.some((l) => l.message === '[jobs] Job enqueued successfully' && l.jobId === enqueued.jobId)).toBe(true);
    const messages = t.logs.filter((l) => l.jobId === enqueued.jobId).map((l) => l.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        '[jobs] Enqueueing job',
        '[jobs] Job enqueued successfully',
        '[jobs] Processing job',
        '[jobs] Job processed successfully',
      ]),
    );
    expect(t.logs.find((l) => l.message === '[jobs] Enqueueing job' && l.jobId === enqueued.jobId)).toMatchObject({ type: 'send-email' });
    // The relay's line once QStash took it.
    expect(t.logs.find((l) => l.message === '[jobs] Job enqueued successfully' && l.jobId === enqueued.jobId)).toMatchObject({
      type: 'send-email',
      url: `${t.baseUrl}/api/jobs/email`,
      attempt: 1,
    });
    // The log lines carry the same event vocabulary as the event bus. ("Job enqueued
    // successfully" is written once publish returns, which may be after the delivery started.)
    const logged = t.logs.filter((l) => l.jobId === enqueued.jobId && l.event).map((l) => l.event);
    expect([...logged].sort()).toEqual(['completed', 'enqueued', 'started']);
  });

  it('retries a handler that fails once, keeping both attempts', async () => {
    const job = await t.app.jobs.enqueue('flaky', { key: 'flaky-1' });
    const done = await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    expect(done.retryCount).toBe(1);
    expect(done.error).toBeNull();
    const attempts = await attemptsOf(job.jobId);
    expect(attempts.map((a) => [a.attempt, a.httpStatus, a.error])).toEqual([
      [0, 500, 'flaky: first attempt fails'],
      [1, 200, null],
    ]);
    await expect.poll(() => eventsOf(job.jobId)).toEqual(['enqueued', 'started', 'retrying', 'started', 'completed']);
    expect(t.logs.find((l) => l.message === '[jobs] Job processing failed' && l.jobId === job.jobId)).toMatchObject({
      type: 'flaky',
      error: 'flaky: first attempt fails',
    });
  });

  it('fails a job whose every attempt fails, and QStash keeps it in the DLQ', async () => {
    const job = await t.app.jobs.enqueue('always-fails', { key: 'fail-1' });
    const failed = await waitForJob(database.handle, job.jobId, hasStatus('failed'));
    expect(failed).toMatchObject({ retryCount: 2, error: 'boom #3' });
    expect(failed.completedAt).toBeInstanceOf(Date);
    expect((await attemptsOf(job.jobId)).map((a) => a.attempt)).toEqual([0, 1, 2]);
    expect(calls.get('fail-1')).toBe(3);
    await expect
      .poll(async () => (await qstash().dlq.listMessages()).messages.map((m) => m.messageId))
      .toContain(failed.messageId);
    expect(eventsOf(job.jobId)).toEqual(['enqueued', 'started', 'retrying', 'started', 'retrying', 'started', 'failed']);
  });

  it('records an invalid payload as failed, answers 489 and is not retried', async () => {
    const jobId = 'bad-payload-1';
    const { messageId } = await qstash().publishJSON({
      url: `${t.baseUrl}/api/jobs/email`,
      body: { jobId, type: 'send-email', payload: { to: 'not-an-email', subject: '' }, metadata: {} },
      retries: 3,
    });
    const failed = await waitForJob(database.handle, jobId, hasStatus('failed'));
    expect(failed.error).toMatch(/^Invalid job payload: /);
    expect(failed.error).toContain('payload.to');
    expect(failed.completedAt).toBeInstanceOf(Date);
    await t.app.standIn!.idle();
    const attempts = await attemptsOf(jobId);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ messageId, httpStatus: 489 });
    const dlq = await qstash().dlq.listMessages();
    expect(dlq.messages.find((m) => m.messageId === messageId)?.responseStatus).toBe(489);
  });

  it('fails an attempt that runs past its timeout', async () => {
    const job = await t.app.jobs.enqueue('slow', { key: 'slow-1' });
    const failed = await waitForJob(database.handle, job.jobId, hasStatus('failed'));
    expect(failed.error).toBe('Job timed out after 0.3s');
    const [attempt] = await attemptsOf(job.jobId);
    expect(attempt!.durationMs).toBeGreaterThanOrEqual(290);
    expect(attempt!.durationMs).toBeLessThan(5_000);
  });

  it('fails at once, without retries, when a handler throws NonRetryableJobError', async () => {
    const job = await t.app.jobs.enqueue('hopeless', { key: 'hopeless-1' });
    const failed = await waitForJob(database.handle, job.jobId, hasStatus('failed'));
    expect(failed).toMatchObject({ error: 'account closed', retryCount: 0 });
    await t.app.standIn!.idle();
    expect(calls.get('hopeless-1')).toBe(1);
    expect((await attemptsOf(job.jobId)).map((a) => a.httpStatus)).toEqual([489]);
  });

  it('rejects an unknown type or an invalid payload at enqueue, writing nothing', async () => {
    const before = await database.handle.query<{ n: number }>('SELECT count(*)::int AS n FROM job_executions');
    await expect(t.app.jobs.enqueue('no-such-type', {})).rejects.toBeInstanceOf(UnknownJobTypeError);
    const invalid = await t.app.jobs.enqueue('send-email', { to: 'nope', subject: 'x' }).catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(InvalidPayloadError);
    expect((invalid as InvalidPayloadError).issues).toEqual(
      expect.arrayContaining([expect.objectContaining({ path: ['to'] }), { path: [], message: 'either text or html is required' }]),
    );
    const after = await database.handle.query<{ n: number }>('SELECT count(*)::int AS n FROM job_executions');
    expect(after[0]!.n).toBe(before[0]!.n);
  });

  it('records and runs a job published straight to QStash', async () => {
    const jobId = 'external-1';
    await qstash().publishJSON({
      url: `${t.baseUrl}/api/jobs/report`,
      body: { jobId, type: 'generate-report', payload: { reportType: 'job-summary' }, metadata: { userId: 'cron' } },
    });
    const done = await waitForJob(database.handle, jobId, hasStatus('completed'));
    expect(done).toMatchObject({ jobType: 'generate-report', userId: 'cron' });
    expect(done.result).toMatchObject({ reportType: 'job-summary', totalJobs: expect.any(Number) });
    // Never enqueued through jobscope: it is first seen as it starts (one write of its row).
    expect(done.startedAt).toEqual(done.createdAt);
    await expect.poll(() => eventsOf(jobId)).toEqual(['started', 'completed']);
  });

  it('loses nothing when many jobs run at once, failing ones included', async () => {
    const jobs = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 4 === 0
          ? t.app.jobs.enqueue('flaky', { key: `burst-${i}` })
          : t.app.jobs.enqueue('send-email', { to: `burst${i}@example.com`, subject: `burst ${i}`, text: 'x' }),
      ),
    );
    const done = await Promise.all(jobs.map((j) => waitForJob(database.handle, j.jobId, hasStatus('completed'), 30_000)));
    expect(done.every((row) => row.completedAt !== null && row.error === null)).toBe(true);
    const attempts = await database.handle.query<{ job_id: string; n: number; open: number }>(
      'SELECT job_id, count(*)::int AS n, count(*) FILTER (WHERE finished_at IS NULL)::int AS open FROM job_attempts WHERE job_id = ANY($1) GROUP BY job_id',
      [jobs.map((j) => j.jobId)],
    );
    const expected = Object.fromEntries(jobs.map((j, i) => [j.jobId, i % 4 === 0 ? 2 : 1]));
    expect(Object.fromEntries(attempts.map((a) => [a.job_id, a.n]))).toEqual(expected);
    expect(attempts.every((a) => a.open === 0)).toBe(true);
  });

  it('answers a GET on a worker endpoint with what it is', async () => {
    const res = await fetch(`${t.baseUrl}/api/jobs/email`);
    expect(res.status).toBe(405);
    expect(await res.json()).toMatchObject({ jobType: 'send-email', endpoint: '/api/jobs/email' });
  });
});
