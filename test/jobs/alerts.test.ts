import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobExecutions } from '../../src/db/schema.js';
import { DEFAULT_POLICY } from '../../src/config/policy.js';
import { JobAlerter } from '../../src/jobs/alerts.js';
import { createReader } from '../../src/jobs/index.js';
import { createTestLogger, hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

const row = (jobId: string, status: 'completed' | 'failed' | 'processing', startedMinutesAgo = 1) => {
  const startedAt = new Date(Date.now() - startedMinutesAgo * 60_000);
  return {
    jobId,
    jobType: 'send-email',
    status,
    payload: { jobId, type: 'send-email', payload: {}, metadata: {} },
    startedAt,
    completedAt: status === 'processing' ? null : new Date(startedAt.getTime() + 1_000),
  };
};

describe(`health, alerts and metrics on ${databaseKind}`, () => {
  let database: TestDatabase;
  let webhook: Server;
  let webhookUrl: string;
  const received: Record<string, unknown>[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(JSON.parse(body) as Record<string, unknown>);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
  });
  afterAll(async () => {
    webhook?.closeAllConnections();
    await new Promise((r) => webhook?.close(r));
    await database?.destroy();
  });

  it("raises the guide's two alerts once, repeats them later, and logs recovery", async () => {
    const db = database.handle.db;
    await db.insert(jobExecutions).values([
      row('ok-1', 'completed'),
      row('ok-2', 'completed'),
      row('bad-1', 'failed'),
      row('stuck-1', 'processing', 25),
      row('busy-1', 'processing', 1),
    ]);
    const { logger, entries } = createTestLogger();
    const alerter = new JobAlerter({ read: createReader(db, DEFAULT_POLICY), logger, settings: { webhookUrl, repeatMinutes: 30 } });

    const t0 = new Date();
    const first = await alerter.check(t0);
    expect(first.map((a) => a.kind)).toEqual(['failure-rate', 'stuck-jobs']);
    expect(first[0]!.details).toMatchObject({ failedJobs: 1, totalJobs: 5, failureRate: 0.2 });
    expect(first[1]!.details).toMatchObject({ count: 1, stuckJobs: [{ jobId: 'stuck-1' }] });
    expect(entries.filter((e) => e.level === 'warn').map((e) => e.message)).toEqual([
      '[jobs] High job failure rate detected',
      '[jobs] Jobs stuck in processing',
    ]);
    expect(received.map((r) => r.text)).toEqual(['[jobscope] High job failure rate detected', '[jobscope] Jobs stuck in processing']);

    expect(await alerter.check(new Date(t0.getTime() + 5 * 60_000))).toEqual([]);
    expect((await alerter.check(new Date(t0.getTime() + 31 * 60_000))).map((a) => a.kind)).toEqual(['failure-rate', 'stuck-jobs']);

    await db.update(jobExecutions).set({ status: 'completed', completedAt: new Date() }).where(eq(jobExecutions.jobId, 'stuck-1'));
    await db.update(jobExecutions).set({ status: 'completed' }).where(eq(jobExecutions.jobId, 'bad-1'));
    expect(await alerter.check(new Date(t0.getTime() + 32 * 60_000))).toEqual([]);
    expect(entries.filter((e) => e.message.startsWith('[jobs] Resolved')).map((e) => e.alert)).toEqual(['failure-rate', 'stuck-jobs']);
  });

  it('serves Prometheus metrics read from the database', async () => {
    const t: TestApp = await startTestApp(database.handle);
    try {
      const job = await t.app.jobs.enqueue('send-email', { to: 'm@example.com', subject: 'metrics', text: 'x' });
      await waitForJob(database.handle, job.jobId, hasStatus('completed'));
      await expect.poll(async () => {
        const res = await fetch(`${t.baseUrl}/metrics`);
        return res.text();
      }).toMatch(/jobscope_job_events_total\{job_type="send-email",event="completed"\} 1/);
      const res = await fetch(`${t.baseUrl}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toMatch(/jobscope_jobs\{job_type="send-email",status="completed"\} 5/);
      expect(text).toMatch(/jobscope_job_failure_rate 0\n/);
      expect(text).toMatch(/jobscope_stuck_jobs 0\n/);
      expect(text).toMatch(/^# TYPE jobscope_job_duration_seconds histogram$/m);
      expect(text).toMatch(/^jobscope_job_duration_seconds_bucket\{job_type="send-email",status="completed",le="\+Inf"\} 5$/m);
      expect(text).toMatch(/^jobscope_job_duration_seconds_count\{job_type="send-email",status="completed"\} 5$/m);
      expect(text).toMatch(/^# TYPE jobscope_job_queue_wait_seconds histogram$/m);
      expect(text).toContain('process_cpu_user_seconds_total');
    } finally {
      await t.close();
    }
  });

  it('answers /health with a database round trip: 200, then 503 once the database is gone', async () => {
    const own = await createTestDatabase();
    const t: TestApp = await startTestApp(own.handle);
    try {
      const ok = await fetch(`${t.baseUrl}/health`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ status: 'ok', database: databaseKind, qstash: 'local' });
      await own.handle.close();
      const down = await fetch(`${t.baseUrl}/health`);
      expect(down.status).toBe(503);
      // The driver's error (hosts, ports) goes to the log, not to whoever asks.
      expect(await down.json()).toEqual({ status: 'error', database: 'unreachable' });
      expect(t.logs.find((l) => l.message === '[health] Database round trip failed')).toMatchObject({ error: expect.any(String) });
    } finally {
      await t.close();
      await own.destroy();
    }
  });

  it('answers /health/jobs 400 naming each bad query value, instead of using the default', async () => {
    const t: TestApp = await startTestApp(database.handle);
    try {
      const bad = await fetch(`${t.baseUrl}/health/jobs?windowMinutes=abc&failureRateThreshold=1.5`);
      expect(bad.status).toBe(400);
      expect(await bad.json()).toEqual({
        error: 'Bad query',
        problems: ['windowMinutes: must be a positive integer, got "abc"', 'failureRateThreshold: must be a number above 0 and at most 1, got "1.5"'],
      });
      for (const query of ['windowMinutes=0', 'windowMinutes=1.5', 'windowMinutes=', 'failureRateThreshold=-1']) {
        expect((await fetch(`${t.baseUrl}/health/jobs?${query}`)).status, query).toBe(400);
      }
      const good = await fetch(`${t.baseUrl}/health/jobs?windowMinutes=30&failureRateThreshold=0.5`);
      expect(await good.json()).toMatchObject({ windowMinutes: 30, failureRateThreshold: 0.5 });
    } finally {
      await t.close();
    }
  });
});
