/**
 * The guide's two alerts as default rules, evaluated by the real evaluator over a real database:
 * fire once, cooldown, acknowledgement, mute, resolution; a webhook receiver on loopback gets a
 * verifiable signature and is tried again after a 500; one evaluator at a time across instances.
 * Also /metrics and /health (the other monitors of this file's first life).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertEvaluator, alertEvents, jobExecutions } from '../../src/db/schema.js';
import { verifyAlertWebhook } from '../../src/index.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
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

const SECRET = 'alerts-test-secret-0123456789';
const minutes = (t0: Date, n: number) => new Date(t0.getTime() + n * 60_000);

describe(`alert rules evaluated on ${databaseKind}`, () => {
  let database: TestDatabase;
  let webhook: Server;
  let t: TestApp;
  /** Every request the receiver got, the failed ones too. */
  const received: { headers: IncomingHttpHeaders; body: string; answered: number }[] = [];
  /** The receiver answers 500 to the first try of each event id in here. */
  const failFirstTry = new Set<string>();

  beforeAll(async () => {
    database = await createTestDatabase();
    webhook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const eventId = String(req.headers['x-jobscope-alert-event']);
        const answered = failFirstTry.delete(eventId) ? 500 : 200;
        received.push({ headers: req.headers, body, answered });
        res.statusCode = answered;
        res.end(answered === 200 ? 'ok' : 'down');
      });
    });
    await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
    const webhookUrl = `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`;
    t = await startTestApp(database.handle, {
      env: { ALERT_INTERVAL_SECONDS: '0', ALERT_WEBHOOK_URL: webhookUrl, ALERT_WEBHOOK_SECRET: SECRET, ALERT_COOLDOWN_MINUTES: '30' },
    });
  });
  afterAll(async () => {
    await t?.close();
    webhook?.closeAllConnections();
    await new Promise((r) => webhook?.close(r));
    await database?.destroy();
  });

  it("fires the guide's two alerts once, signs and retries the webhook, reminds after the cooldown unless acknowledged, mutes, and resolves", async () => {
    const db = database.handle.db;
    await db.insert(jobExecutions).values([
      row('ok-1', 'completed'),
      row('ok-2', 'completed'),
      row('bad-1', 'failed'),
      row('stuck-1', 'processing', 25),
      row('busy-1', 'processing', 1),
    ]);
    const rules = await t.app.alerts.rules();
    expect(rules.map((r) => [r.defaultKey, r.metric, r.windowMinutes, r.threshold, r.cooldownMinutes])).toEqual([
      ['failure-rate', 'failure_rate', 60, 0.05, 30],
      ['stuck-jobs', 'stuck_jobs', 10, 1, 30],
    ]);
    // The first firing of the failure-rate rule meets a receiver that answers 500 once.
    const [{ nextId }] = (await db.execute<{ nextId: string }>(sql`SELECT coalesce(max(id), 0) + 1 AS "nextId" FROM alert_events`, 'objects')) as unknown as [{ nextId: string }];
    failFirstTry.add(String(nextId));

    const t0 = new Date();
    const first = await t.app.alerts.evaluator.check(t0);
    expect(first.map((e) => [e.ruleName, e.kind])).toEqual([
      ['High job failure rate', 'fired'],
      ['Jobs stuck in processing', 'fired'],
    ]);
    const [failing, stuck] = first as [(typeof first)[0], (typeof first)[0]];
    expect(failing.detail).toMatchObject({ failedJobs: 1, totalJobs: 5, failureRate: 0.2, windowMinutes: 60 });
    expect(failing.jobIds).toEqual(['bad-1']);
    expect(stuck).toMatchObject({ value: 1, jobIds: ['stuck-1'] });
    expect(stuck.detail).toMatchObject({ count: 1, olderThanMinutes: 10, stuckJobs: [{ jobId: 'stuck-1' }] });
    expect(t.logs.filter((e) => e.level === 'warn' && e.message.startsWith('[jobs] ')).map((e) => [e.message, e.alert])).toEqual([
      ['[jobs] High job failure rate detected', 'failure-rate'],
      ['[jobs] Jobs stuck in processing', 'stuck-jobs'],
    ]);

    // The webhook: the 500 was tried again (a second later), every body is signed and verifies.
    expect(failing.deliveries).toEqual([
      { channel: 'log', ok: true, attempts: 1 },
      { channel: 'webhook', url: expect.stringMatching(/\/hook$/), ok: true, attempts: 2, status: 200 },
    ]);
    expect(stuck.deliveries[1]).toMatchObject({ ok: true, attempts: 1 });
    expect(received.map((r) => r.answered).sort()).toEqual([200, 200, 500]);
    for (const request of received) {
      expect(verifyAlertWebhook({ secret: SECRET, signature: request.headers['x-jobscope-signature'] as string, body: request.body })).toBe(true);
      expect(verifyAlertWebhook({ secret: 'another-secret-0123456789', signature: request.headers['x-jobscope-signature'] as string, body: request.body })).toBe(false);
      expect(verifyAlertWebhook({ secret: SECRET, signature: request.headers['x-jobscope-signature'] as string, body: `${request.body} ` })).toBe(false);
    }
    const bodies = received.filter((r) => r.answered === 200).map((r) => JSON.parse(r.body) as Record<string, any>);
    expect(bodies.map((b) => b.text).sort()).toEqual(['[jobscope] High job failure rate detected', '[jobscope] Jobs stuck in processing']);
    expect(bodies.find((b) => b.kind === 'failure-rate')).toMatchObject({
      message: 'High job failure rate detected',
      details: { failedJobs: 1, totalJobs: 5 },
      event: { id: String(failing.id), kind: 'FIRED', rule: { metric: 'FAILURE_RATE' }, value: 0.2, threshold: 0.05, jobIds: ['bad-1'] },
    });

    // Within the cooldown: nothing. Past it: reminders, except for an acknowledged firing.
    expect(await t.app.alerts.evaluator.check(minutes(t0, 5))).toEqual([]);
    const reminders = await t.app.alerts.evaluator.check(minutes(t0, 31));
    expect(reminders.map((e) => [e.ruleName, e.kind])).toEqual([
      ['High job failure rate', 'fired'],
      ['Jobs stuck in processing', 'fired'],
    ]);
    const acknowledged = await t.app.alerts.acknowledge(reminders[0]!.id, { actor: { kind: 'cli' } });
    expect(acknowledged).toMatchObject({ acknowledgedBy: 'cli', acknowledgedAt: expect.any(Date) });
    expect((await t.app.alerts.evaluator.check(minutes(t0, 62))).map((e) => e.ruleName)).toEqual(['Jobs stuck in processing']);

    // Resolved: both conditions stop holding.
    await db.update(jobExecutions).set({ status: 'completed', completedAt: new Date() }).where(eq(jobExecutions.jobId, 'stuck-1'));
    await db.update(jobExecutions).set({ status: 'completed' }).where(eq(jobExecutions.jobId, 'bad-1'));
    const resolved = await t.app.alerts.evaluator.check(minutes(t0, 63));
    expect(resolved.map((e) => [e.ruleName, e.kind, e.value])).toEqual([
      ['High job failure rate', 'resolved', 0],
      ['Jobs stuck in processing', 'resolved', 0],
    ]);
    expect(t.logs.filter((e) => e.message.startsWith('[jobs] Resolved')).map((e) => e.alert)).toEqual(['failure-rate', 'stuck-jobs']);
    expect(received.filter((r) => r.answered === 200).map((r) => JSON.parse(r.body).text as string).slice(-2).sort()).toEqual([
      '[jobscope] Resolved: High job failure rate detected',
      '[jobscope] Resolved: Jobs stuck in processing',
    ]);

    // A flapping condition fires again only once the cooldown since its last firing has passed.
    await db.update(jobExecutions).set({ status: 'processing', completedAt: null }).where(eq(jobExecutions.jobId, 'stuck-1'));
    expect(await t.app.alerts.evaluator.check(minutes(t0, 64))).toEqual([]);
    // A muted rule is not evaluated until its mute ends.
    const stuckRule = rules.find((r) => r.defaultKey === 'stuck-jobs')!;
    await t.app.alerts.mute(stuckRule.id, minutes(t0, 120));
    expect(await t.app.alerts.evaluator.check(minutes(t0, 100))).toEqual([]);
    expect((await t.app.alerts.evaluator.check(minutes(t0, 121))).map((e) => [e.ruleName, e.kind])).toEqual([['Jobs stuck in processing', 'fired']]);
    await db.update(jobExecutions).set({ status: 'completed', completedAt: new Date() }).where(eq(jobExecutions.jobId, 'stuck-1'));
    expect((await t.app.alerts.evaluator.check(minutes(t0, 122))).map((e) => e.kind)).toEqual(['resolved']);
  });

  it('serves Prometheus metrics read from the database', async () => {
    const job = await t.app.jobs.enqueue('send-email', { to: 'm@example.com', subject: 'metrics', text: 'x' });
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    await expect.poll(async () => {
      const res = await fetch(`${t.baseUrl}/metrics`);
      return res.text();
    }).toMatch(/jobscope_job_events_total\{job_type="send-email",event="completed"\} [1-9]/);
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE jobscope_job_duration_seconds histogram$/m);
    expect(text).toMatch(/^jobscope_job_duration_seconds_count\{job_type="send-email",status="completed"\} \d+$/m);
    expect(text).toMatch(/^# TYPE jobscope_job_queue_wait_seconds histogram$/m);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('answers /health with a database round trip: 200, then 503 once the database is gone', async () => {
    const own = await createTestDatabase();
    const app: TestApp = await startTestApp(own.handle);
    try {
      const ok = await fetch(`${app.baseUrl}/health`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ status: 'ok', database: databaseKind, qstash: 'local' });
      await own.handle.close();
      const down = await fetch(`${app.baseUrl}/health`);
      expect(down.status).toBe(503);
      // The driver's error (hosts, ports) goes to the log, not to whoever asks.
      expect(await down.json()).toEqual({ status: 'error', database: 'unreachable' });
      expect(app.logs.find((l) => l.message === '[health] Database round trip failed')).toMatchObject({ error: expect.any(String) });
    } finally {
      await app.close();
      await own.destroy();
    }
  });

  it('answers /health/jobs 400 naming each bad query value, instead of using the default', async () => {
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
  });
  it('evaluates on one instance at a time: another waits for the lease to lapse, then takes over', async () => {
    const other = await startTestApp(database.handle, { env: { ALERT_INTERVAL_SECONDS: '0' } });
    try {
      await database.handle.db.insert(jobExecutions).values(row('stuck-lease', 'processing', 30));
      const later = minutes(new Date(), 500);
      expect(await other.app.alerts.evaluator.check(later)).toEqual([]);
      const [lease] = await database.handle.db.select().from(alertEvaluator);
      expect(lease?.owner).toBe(t.app.alerts.evaluator.owner);
      expect(other.app.alerts.evaluator.owner).not.toBe(t.app.alerts.evaluator.owner);
      // The holder stops (or dies): its lease lapses.
      await database.handle.db.update(alertEvaluator).set({ leaseUntil: new Date(Date.now() - 1_000) });
      const fired = await other.app.alerts.evaluator.check(later);
      expect(fired.map((e) => [e.ruleName, e.kind, e.jobIds])).toEqual([['Jobs stuck in processing', 'fired', ['stuck-lease']]]);
      const [taken] = await database.handle.db.select().from(alertEvaluator);
      expect(taken?.owner).toBe(other.app.alerts.evaluator.owner);
      expect(await t.app.alerts.evaluator.check(later)).toEqual([]);
      expect(await database.handle.db.select().from(alertEvents).where(eq(alertEvents.ruleName, 'Jobs stuck in processing'))).toHaveLength(7);
    } finally {
      await other.close();
    }
  });
});
