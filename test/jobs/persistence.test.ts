import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import type { JobEvent } from '../../src/jobs/events.js';
import { getJobExecutionByJobId, updateJobExecution } from '../../src/jobs/read/index.js';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY } from '../../src/qstash/dev-credentials.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

/** A loopback port nothing listens on: connections to it are refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const email = (subject: string) => ({ to: 'ops@example.com', subject, text: 'report attached' });

describe(`persistence and events on ${databaseKind}`, () => {
  let dataDir: string;
  let database: TestDatabase;
  let t: TestApp;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jobscope-restart-'));
    database = await createTestDatabase({ dataDir: join(dataDir, 'pglite') });
    t = await startTestApp(database.handle);
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the job queued while QStash cannot be reached, retrying; another instance publishes it once QStash is back', async () => {
    // Only the cut-off instance's relay runs while QStash is unreachable from it.
    await t.app.relay.stop();
    const unreachable = await startTestApp(database.handle, {
      env: {
        QSTASH_URL: `http://127.0.0.1:${await closedPort()}`,
        QSTASH_TOKEN: 'token-for-a-qstash-that-is-not-there',
        QSTASH_CURRENT_SIGNING_KEY: DEV_CURRENT_SIGNING_KEY,
        QSTASH_NEXT_SIGNING_KEY: DEV_NEXT_SIGNING_KEY,
        JOBSCOPE_PUBLISH_RETRY_BASE_MS: '20',
      },
    });
    let jobId: string;
    try {
      const job = await unreachable.app.jobs.enqueue('send-email', email('unreachable'));
      jobId = job.jobId;
      expect(job).toMatchObject({ status: 'pending', messageId: null });
      await expect.poll(() => unreachable.logs.filter((l) => l.message === '[jobs] Job publish failed, retrying' && l.jobId === jobId).length).toBeGreaterThanOrEqual(2);
      const [request] = await database.handle.query<{ state: string; last_error: string }>('SELECT state, last_error FROM job_publishes WHERE job_id = $1', [jobId]);
      expect(request).toMatchObject({ state: 'queued', last_error: expect.stringMatching(/ECONNREFUSED|fetch failed/) });
      expect((await getJobExecutionByJobId(database.handle.db, jobId))?.status).toBe('pending');
    } finally {
      await unreachable.close();
      t.app.relay.start();
    }
    const done = await waitForJob(database.handle, jobId, hasStatus('completed'));
    expect(done.messageId).toMatch(/^msg_/);
  });

  it('fails the job when QStash refuses the publish (wrong token: a 401 is not retried)', async () => {
    await t.app.relay.stop();
    const refused = await startTestApp(database.handle, {
      env: {
        QSTASH_URL: `${t.baseUrl}/qstash`,
        QSTASH_TOKEN: 'not-the-right-token',
        QSTASH_CURRENT_SIGNING_KEY: DEV_CURRENT_SIGNING_KEY,
        QSTASH_NEXT_SIGNING_KEY: DEV_NEXT_SIGNING_KEY,
      },
    });
    try {
      const job = await refused.app.jobs.enqueue('send-email', email('refused'));
      const row = await waitForJob(database.handle, job.jobId, hasStatus('failed'));
      expect(row.error).toMatch(new RegExp(`^Publishing job ${job.jobId} to QStash failed: QStash refused the publish \\(401\\)`));
      expect(row.completedAt).toBeInstanceOf(Date);
      // The relay logs once the failure is committed: the row can be read a moment before the line.
      const deadline = Date.now() + 5_000;
      while (!refused.logs.some((l) => l.message === '[jobs] Job enqueue failed') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(refused.logs.find((l) => l.message === '[jobs] Job enqueue failed')).toMatchObject({ jobId: job.jobId, type: 'send-email' });
    } finally {
      await refused.close();
      t.app.relay.start();
    }
  });

  it('lets a second instance on the same database hear the runs of the first', async () => {
    // PGlite is embedded (one process per data directory), so its second instance shares the
    // handle; on PostgreSQL the second instance has its own connections and LISTEN session.
    const otherHandle = databaseKind === 'postgres' ? await openDatabase(database.target) : database.handle;
    const other = await startTestApp(otherHandle);
    const heard: JobEvent[] = [];
    other.app.jobs.events.subscribe((e) => heard.push(e));
    try {
      const job = await t.app.jobs.enqueue('send-email', email('two instances'));
      await waitForJob(database.handle, job.jobId, hasStatus('completed'));
      await expect
        .poll(() => heard.filter((e) => e.jobId === job.jobId).map((e) => e.type))
        .toEqual(['enqueued', 'started', 'completed']);
      const completed = heard.find((e) => e.jobId === job.jobId && e.type === 'completed')!;
      expect(completed).toMatchObject({ jobType: 'send-email', status: 'completed', retryCount: 0, error: null });
      expect(completed.occurredAt).toBeInstanceOf(Date);
    } finally {
      await other.close();
      if (otherHandle !== database.handle) await otherHandle.close();
    }
  });

  it("emits an event for an operator's manual change too (the guide's manual retry)", async () => {
    const heard: JobEvent[] = [];
    const stop = t.app.jobs.events.subscribe((e) => heard.push(e));
    const job = await t.app.jobs.enqueue('send-email', email('manual'));
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    await updateJobExecution(database.handle.db, job.jobId, { status: 'pending', error: null, retryCount: 0 });
    await expect.poll(() => heard.filter((e) => e.jobId === job.jobId).map((e) => e.type)).toContain('requeued');
    stop();
  });

  it("answers the operations guide's SQL, verbatim, from what the pipeline recorded", async () => {
    const recent = await database.handle.query<Record<string, unknown>>(
      'SELECT job_id, job_type, status, retry_count, created_at, completed_at FROM job_executions ORDER BY created_at DESC LIMIT 50;',
    );
    expect(recent.length).toBeGreaterThanOrEqual(4);
    expect(Object.keys(recent[0]!)).toEqual(['job_id', 'job_type', 'status', 'retry_count', 'created_at', 'completed_at']);
    const times = recent.map((r) => new Date(r.created_at as string).getTime());
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const failed = await database.handle.query<Record<string, unknown>>(
      "SELECT job_id, job_type, error, retry_count, payload FROM job_executions WHERE status = 'failed' ORDER BY created_at DESC;",
    );
    // The refused publish; the unreachable one was published once QStash was back.
    expect(failed).toHaveLength(1);
    for (const row of failed) {
      expect(row.error).toMatch(/^Publishing job/);
      expect(row.payload).toMatchObject({ type: 'send-email', payload: { to: 'ops@example.com' } });
    }

    const stats = await database.handle.query<{ job_type: string; status: string; count: unknown; avg_duration_seconds: unknown }>(
      'SELECT job_type, status, COUNT(*) as count, AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) as avg_duration_seconds FROM job_executions WHERE completed_at IS NOT NULL GROUP BY job_type, status;',
    );
    const byStatus = Object.fromEntries(stats.map((s) => [`${s.job_type}/${s.status}`, Number(s.count)]));
    expect(byStatus).toEqual({ 'send-email/completed': 2, 'send-email/failed': 1 });
    const completed = stats.find((s) => s.status === 'completed')!;
    expect(Number(completed.avg_duration_seconds)).toBeGreaterThanOrEqual(0);
    expect(Number(completed.avg_duration_seconds)).toBeLessThan(5);
  });

  it('keeps the history across a restart', async () => {
    const job = await t.app.jobs.enqueue('send-email', email('before restart'));
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    await t.close();
    await database.handle.close();

    const reopened = await openDatabase(database.target);
    database.handle = reopened;
    const row = await getJobExecutionByJobId(reopened.db, job.jobId);
    expect(row).toMatchObject({ status: 'completed', jobType: 'send-email' });
    t = await startTestApp(reopened);
    const after = await t.app.jobs.enqueue('send-email', email('after restart'));
    await waitForJob(reopened, after.jobId, hasStatus('completed'));
  });
});
