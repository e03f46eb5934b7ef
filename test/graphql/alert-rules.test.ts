/**
 * Alert rules through GraphQL on real pipeline data: a rule of each metric is created through the
 * API, its condition produced for real (a slow handler, a type held behind pauseJobType, a
 * throwing handler whose message QStash dead-letters, forged deliveries, failures of one type),
 * the real evaluator fires and resolves it, and alertEvents shows what happened; a Slack webhook
 * on loopback gets Slack's body; codes, keys, the audit log (secrets redacted) and paging.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, signatureFailures } from '../../src/db/schema.js';
import { defineJob } from '../../src/jobs/registry.js';
import { signDelivery } from '../../src/qstash/signing.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql, graphqlData } from '../helpers/graphql.js';

const OPERATE = 'alerts-operate-key';
const READ = 'alerts-read-key';
const SECRET = 'a-webhook-secret-of-32-characters';

const slowJob = defineJob({
  type: 'slow',
  endpoint: '/api/jobs/slow',
  schema: z.object({}),
  timeoutSeconds: 10,
  retries: 0,
  handler: () => new Promise((resolve) => setTimeout(() => resolve({ slept: 1_200 }), 1_200)),
});
const quickJob = defineJob({ type: 'quick', endpoint: '/api/jobs/quick', schema: z.object({}), timeoutSeconds: 5, retries: 0, handler: async () => ({}) });
const brokenJob = defineJob({
  type: 'broken',
  endpoint: '/api/jobs/broken',
  schema: z.object({ n: z.number() }),
  timeoutSeconds: 5,
  retries: 0,
  async handler({ n }) {
    throw new Error(`smtp refused job ${n}`);
  },
});
const heldJob = defineJob({ type: 'held', endpoint: '/api/jobs/held', schema: z.object({}), timeoutSeconds: 5, retries: 0, handler: async () => ({}) });

let database: TestDatabase;
let t: TestApp;
let statements: string[] | undefined;
let hook: Server;
let hookUrl: string;
const hookBodies: { headers: Record<string, string | string[] | undefined>; body: any }[] = [];

beforeAll(async () => {
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      hookBodies.push({ headers: req.headers, body: JSON.parse(body) });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/slack`;
  // The relay's and the bulk runner's polls run on their own clocks: not the operation's statements.
  const background = (query: string) => query.includes('"job_publishes"') || query.includes('"bulk_operations"');
  database = await createTestDatabase({ logger: { logQuery: (query) => !background(query) && statements?.push(query) } });
  t = await startTestApp(database.handle, {
    jobs: [slowJob, quickJob, brokenJob, heldJob],
    env: { JOBSCOPE_OPERATE_KEYS: `ops:${OPERATE}`, JOBSCOPE_READ_KEYS: `viewer:${READ}`, ALERT_INTERVAL_SECONDS: '0' },
  });
  // The guide's two default rules stay out of this file's events: disabled, not deletable.
  const { alertRules } = await graphqlData<{ alertRules: { id: string; defaultRule: boolean }[] }, Record<string, never>>(t.baseUrl, '{ alertRules { id defaultRule } }', { key: READ });
  for (const rule of alertRules.filter((r) => r.defaultRule)) {
    const deleted = await graphql(t.baseUrl, 'mutation ($id: ID!) { deleteAlertRule(id: $id) { id } }', { key: OPERATE, variables: { id: rule.id } });
    expect(errorCodes(deleted)).toEqual(['DEFAULT_ALERT_RULE']);
    await graphqlData(t.baseUrl, 'mutation ($id: ID!) { updateAlertRule(id: $id, input: { enabled: false }) { enabled } }', { key: OPERATE, variables: { id: rule.id } });
  }
});

afterAll(async () => {
  await t?.close();
  await database?.destroy();
  await new Promise((resolve) => hook?.close(resolve));
});

const RULE_FIELDS = 'id name metric scope windowMinutes threshold cooldownMinutes enabled firing lastValue channels { log webhooks { url format signed } }';
type Rule = { id: string; name: string; metric: string; firing: boolean; lastValue: number | null; cooldownMinutes: number; channels: { webhooks: { url: string; format: string; signed: boolean }[] } };

async function createRule(input: Record<string, unknown>): Promise<Rule> {
  const data = await graphqlData<{ createAlertRule: Rule }, { input: Record<string, unknown> }>(
    t.baseUrl,
    `mutation ($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { ${RULE_FIELDS} } }`,
    { key: OPERATE, variables: { input } },
  );
  return data.createAlertRule;
}

type Event = { id: string; kind: string; metric: string; value: number; threshold: number; jobIds: string[]; detail: any; rule: { id: string; name: string } | null; jobs: { jobId: string; jobType: string; status: string }[]; deliveries: { channel: string; ok: boolean; status: number | null; attempts: number }[] };
const EVENT_FIELDS = 'id kind metric value threshold jobIds detail rule { id name } jobs { jobId jobType status } deliveries { channel ok status attempts }';

/** The rule's events, newest first, as GraphQL shows them. */
async function eventsOf(ruleId: string): Promise<Event[]> {
  const data = await graphqlData<{ alertEvents: { nodes: Event[] } }, { ruleId: string }>(t.baseUrl, `query ($ruleId: ID!) { alertEvents(ruleId: $ruleId, first: 50) { nodes { ${EVENT_FIELDS} } } }`, {
    key: READ,
    variables: { ruleId },
  });
  return data.alertEvents.nodes;
}

/** One pass of the real evaluator; the events it wrote for `rule`. */
async function evaluate(rule: Rule): Promise<{ kind: string; value: number }[]> {
  return (await t.app.alerts.evaluator.check()).filter((e) => e.ruleId === rule.id).map((e) => ({ kind: e.kind, value: e.value }));
}

async function enqueue(jobType: string, payload: Record<string, unknown> = {}): Promise<string> {
  const { enqueueJob } = await graphqlData<{ enqueueJob: { jobId: string } }, Record<string, unknown>>(
    t.baseUrl,
    'mutation ($jobType: String!, $payload: JSON!) { enqueueJob(input: { jobType: $jobType, payload: $payload }) { jobId } }',
    { key: OPERATE, variables: { jobType, payload } },
  );
  return enqueueJob.jobId;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('alert rules on real pipeline data', () => {
  it('SLOW_JOBS fires for the slow type only, names its slowest jobs, and posts Slack’s body to the webhook', async () => {
    const rule = await createRule({
      name: 'Slow runs',
      metric: 'SLOW_JOBS',
      threshold: 0.5,
      windowMinutes: 30,
      channels: { log: true, webhooks: [{ url: hookUrl, format: 'SLACK', secret: SECRET }] },
    });
    expect(rule).toMatchObject({ metric: 'SLOW_JOBS', cooldownMinutes: 60, firing: false, channels: { webhooks: [{ url: hookUrl, format: 'SLACK', signed: true }] } });
    const quick = await Promise.all([enqueue('quick'), enqueue('quick')]);
    expect(await evaluate(rule)).toEqual([]);
    const slow = await Promise.all([enqueue('slow'), enqueue('slow')]);
    await Promise.all([...quick, ...slow].map((id) => waitForJob(database.handle, id, hasStatus('completed'))));

    const fired = await evaluate(rule);
    expect(fired).toEqual([{ kind: 'fired', value: expect.any(Number) }]);
    expect(fired[0]!.value).toBeGreaterThanOrEqual(1);
    const [event] = await eventsOf(rule.id);
    expect(event).toMatchObject({ kind: 'FIRED', metric: 'SLOW_JOBS', threshold: 0.5, rule: { id: rule.id, name: 'Slow runs' } });
    expect(event!.detail.types.map((type: { jobType: string }) => type.jobType)).toEqual(['slow', 'quick']);
    expect([...event!.jobIds].sort()).toEqual([...slow].sort());
    expect(event!.jobs.map((j) => [j.jobType, j.status])).toEqual([
      ['slow', 'COMPLETED'],
      ['slow', 'COMPLETED'],
    ]);
    expect(event!.deliveries).toEqual([
      { channel: 'log', ok: true, status: null, attempts: 1 },
      { channel: 'webhook', ok: true, status: 200, attempts: 1 },
    ]);
    expect(t.logs.some((l) => l.level === 'warn' && l.message === '[jobs] Jobs slower than their threshold')).toBe(true);
    const posted = hookBodies.find((b) => b.headers['x-jobscope-alert-event'] === event!.id)!;
    expect(posted.body.text).toBe('[jobscope] Jobs slower than their threshold');
    expect(posted.body.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn', text: expect.stringContaining('Rule *Slow runs* (SLOW_JOBS)') } });
    expect(posted.body.blocks[0].text.text).toContain(`\`${event!.jobIds[0]}\``);
    expect(String(posted.headers['x-jobscope-signature'])).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    // While it holds, the cooldown keeps it quiet.
    expect(await evaluate(rule)).toEqual([]);
    // Raised above the slow type's p95, the rule keeps its firing state and resolves.
    await graphqlData(t.baseUrl, 'mutation ($id: ID!) { updateAlertRule(id: $id, input: { threshold: 30 }) { threshold firing } }', { key: OPERATE, variables: { id: rule.id } });
    expect(await evaluate(rule)).toEqual([{ kind: 'resolved', value: fired[0]!.value }]);
    const resolvedBody = hookBodies.at(-1)!.body;
    expect(resolvedBody.text).toBe('[jobscope] Resolved: Jobs slower than their threshold');
  });

  it('BACKLOG_AGE fires while a paused type holds its jobs and resolves once resumed and run', async () => {
    const rule = await createRule({ name: 'Backlog of held', metric: 'BACKLOG_AGE', threshold: 1, scope: { jobType: ['held'] } });
    await graphqlData(t.baseUrl, 'mutation { pauseJobType(jobType: "held") { paused } }', { key: OPERATE });
    const held = [await enqueue('held'), await enqueue('held')];
    expect(await evaluate(rule)).toEqual([]);
    // A job of another type waiting is out of the scope; the held ones age past the threshold.
    await sleep(1_300);
    const fired = await evaluate(rule);
    expect(fired).toEqual([{ kind: 'fired', value: expect.any(Number) }]);
    expect(fired[0]!.value).toBeGreaterThanOrEqual(1);
    const [event] = await eventsOf(rule.id);
    expect(event).toMatchObject({ kind: 'FIRED', jobIds: held, detail: { pendingJobs: 2 } });
    expect(event!.jobs.map((j) => j.status)).toEqual(['PENDING', 'PENDING']);

    await graphqlData(t.baseUrl, 'mutation { resumeJobType(jobType: "held") { paused } }', { key: OPERATE });
    await Promise.all(held.map((id) => waitForJob(database.handle, id, hasStatus('completed'))));
    expect(await evaluate(rule)).toEqual([{ kind: 'resolved', value: 0 }]);
    expect((await eventsOf(rule.id)).map((e) => e.kind)).toEqual(['RESOLVED', 'FIRED']);
  });

  it('DEAD_LETTERS fires for a message QStash dead-lettered and resolves once deleteDeadLetters clears it', async () => {
    const rule = await createRule({ name: 'DLQ', metric: 'DEAD_LETTERS', threshold: 1, scope: { jobType: ['broken'] } });
    const jobId = await enqueue('broken', { n: 1 });
    await waitForJob(database.handle, jobId, hasStatus('failed'));
    await t.app.standIn!.idle();
    expect(await evaluate(rule)).toEqual([{ kind: 'fired', value: 1 }]);
    const [event] = await eventsOf(rule.id);
    expect(event).toMatchObject({ jobIds: [jobId], jobs: [{ jobId, jobType: 'broken', status: 'FAILED' }], detail: { deadLetters: 1, capped: false } });
    const dlqId = event!.detail.newest[0].dlqId as string;
    expect(event!.detail.newest[0]).toMatchObject({ jobId, responseStatus: 500 });

    await graphqlData(t.baseUrl, 'mutation ($ids: [ID!]!) { deleteDeadLetters(dlqIds: $ids) { dlqId } }', { key: OPERATE, variables: { ids: [dlqId] } });
    expect(await evaluate(rule)).toEqual([{ kind: 'resolved', value: 0 }]);
  });

  it('FAILURE_RATE scoped to a type fires for that type’s failures only', async () => {
    const broken = await createRule({ name: 'Broken fails', metric: 'FAILURE_RATE', threshold: 0.5, windowMinutes: 60, scope: { jobType: ['broken'] } });
    const quick = await createRule({ name: 'Quick fails', metric: 'FAILURE_RATE', threshold: 0.01, windowMinutes: 60, scope: { jobType: ['quick'] } });
    const failed = await enqueue('broken', { n: 2 });
    await waitForJob(database.handle, failed, hasStatus('failed'));
    const events = await t.app.alerts.evaluator.check();
    expect(events.filter((e) => e.ruleId === broken.id).map((e) => [e.kind, e.value])).toEqual([['fired', 1]]);
    expect(events.filter((e) => e.ruleId === quick.id)).toEqual([]);
    const [event] = await eventsOf(broken.id);
    expect(event!.jobIds[0]).toBe(failed);
    expect(event!.detail).toMatchObject({ failureRate: 1, failedJobs: 2, totalJobs: 2, windowMinutes: 60, threshold: 0.5 });
    const quickRule = await graphqlData<{ alertRule: { firing: boolean; lastValue: number } }, { id: string }>(t.baseUrl, 'query ($id: ID!) { alertRule(id: $id) { firing lastValue } }', {
      key: READ,
      variables: { id: quick.id },
    });
    expect(quickRule.alertRule).toEqual({ firing: false, lastValue: 0 });
    // Narrowed to errors these jobs do not have, the scope holds no failure: resolved.
    await graphqlData(t.baseUrl, 'mutation ($id: ID!) { updateAlertRule(id: $id, input: { scope: { jobType: ["broken"], errorContains: "ECONNRESET" } }) { id } }', {
      key: OPERATE,
      variables: { id: broken.id },
    });
    expect(await evaluate(broken)).toEqual([{ kind: 'resolved', value: 0 }]);
  });

  it('SIGNATURE_FAILURES fires for forged deliveries, counting the reasons, and resolves once they age out of the window', async () => {
    const rule = await createRule({ name: 'Forged', metric: 'SIGNATURE_FAILURES', threshold: 2, windowMinutes: 5 });
    const url = `${t.baseUrl}/api/jobs/quick`;
    const body = JSON.stringify({ jobId: 'forged-1', type: 'quick', payload: {}, metadata: {} });
    const post = (headers: Record<string, string>) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    expect((await post({ 'upstash-signature': signDelivery({ signingKey: 'sig_notTheKey', url, body: Buffer.from(body) }), 'upstash-message-id': 'msg_forged_1' })).status).toBe(401);
    expect((await post({ 'upstash-message-id': 'msg_unsigned_1' })).status).toBe(401);
    await expect.poll(async () => (await database.handle.db.select().from(signatureFailures)).length, { timeout: 10_000 }).toBe(2);

    expect(await evaluate(rule)).toEqual([{ kind: 'fired', value: 2 }]);
    const [event] = await eventsOf(rule.id);
    expect(event).toMatchObject({ jobIds: [], jobs: [], detail: { signatureFailures: 2, windowMinutes: 5, reasons: { WRONG_KEY: 1, MISSING_SIGNATURE: 1 } } });
    expect([...event!.detail.messageIds].sort()).toEqual(['msg_forged_1', 'msg_unsigned_1']);
    // No job was written for either delivery.
    expect(await graphqlData(t.baseUrl, '{ jobExecution(jobId: "forged-1") { jobId } }', { key: READ })).toEqual({ jobExecution: null });

    await database.handle.db.update(signatureFailures).set({ at: sql`now() - interval '10 minutes'` });
    expect(await evaluate(rule)).toEqual([{ kind: 'resolved', value: 0 }]);
  });
});

describe('alert rules: the API around them', () => {
  it('refuses bad rules with BAD_USER_INPUT naming the field, and unknown ids with their codes; nothing is written', async () => {
    const before = (await graphqlData<{ alertRules: unknown[] }, Record<string, never>>(t.baseUrl, '{ alertRules { id } }', { key: READ })).alertRules.length;
    const bad = async (input: Record<string, unknown>) => {
      const res = await graphql(t.baseUrl, 'mutation ($input: CreateAlertRuleInput!) { createAlertRule(input: $input) { id } }', { key: OPERATE, variables: { input } });
      expect(res.status).toBe(200);
      expect(errorCodes(res)).toEqual(['BAD_USER_INPUT']);
      return res.errors![0]!.message;
    };
    expect(await bad({ name: 'x', metric: 'FAILURE_RATE', threshold: 2 })).toContain('threshold');
    expect(await bad({ name: 'x', metric: 'STUCK_JOBS', threshold: 1, scope: { createdAfter: '2026-01-01T00:00:00Z' } })).toContain('createdAfter');
    expect(await bad({ name: 'x', metric: 'SIGNATURE_FAILURES', threshold: 1, scope: { jobType: ['quick'] } })).toContain('scope');
    expect(await bad({ name: ' ', metric: 'STUCK_JOBS', threshold: 1 })).toContain('name');
    expect(await bad({ name: 'x', metric: 'STUCK_JOBS', threshold: 1, cooldownMinutes: 10_081 })).toContain('cooldownMinutes');
    expect(await bad({ name: 'x', metric: 'STUCK_JOBS', threshold: 1, channels: { webhooks: [{ url: 'ftp://example.com/' }] } })).toContain('url');
    // An unknown enum value is the GraphQL layer's refusal, with its code too.
    const unknownMetric = await graphql(t.baseUrl, 'mutation { createAlertRule(input: { name: "x", metric: NOPE, threshold: 1 }) { id } }', { key: OPERATE });
    expect(errorCodes(unknownMetric)).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect((await graphqlData<{ alertRules: unknown[] }, Record<string, never>>(t.baseUrl, '{ alertRules { id } }', { key: READ })).alertRules).toHaveLength(before);

    const missing = '00000000-0000-4000-8000-000000000000';
    for (const op of [
      `mutation { updateAlertRule(id: "${missing}", input: { threshold: 3 }) { id } }`,
      `mutation { deleteAlertRule(id: "${missing}") { id } }`,
      `mutation { muteAlertRule(id: "${missing}", until: "2030-01-01T00:00:00Z") { id } }`,
    ]) {
      expect(errorCodes(await graphql(t.baseUrl, op, { key: OPERATE })), op).toEqual(['ALERT_RULE_NOT_FOUND']);
    }
    expect(errorCodes(await graphql(t.baseUrl, 'mutation { acknowledgeAlert(id: "999999999") { id } }', { key: OPERATE }))).toEqual(['ALERT_EVENT_NOT_FOUND']);
    expect(errorCodes(await graphql(t.baseUrl, 'mutation { acknowledgeAlert(id: "not-a-number") { id } }', { key: OPERATE }))).toEqual(['BAD_USER_INPUT']);
    expect(await graphqlData(t.baseUrl, `{ alertRule(id: "${missing}") { id } }`, { key: READ })).toEqual({ alertRule: null });
  });

  it('gives a read key the rules and events but no mutation (FORBIDDEN), and audits every change with the webhook secret redacted', async () => {
    const forbidden = await graphql(t.baseUrl, 'mutation { createAlertRule(input: { name: "r", metric: STUCK_JOBS, threshold: 1 }) { id } }', { key: READ });
    expect(errorCodes(forbidden)).toEqual(['FORBIDDEN']);

    const rule = await createRule({ name: 'Audited', metric: 'STUCK_JOBS', threshold: 3, channels: { webhooks: [{ url: hookUrl, secret: SECRET }] } });
    await graphqlData(t.baseUrl, 'mutation ($id: ID!) { updateAlertRule(id: $id, input: { threshold: 4, channels: { webhooks: [{ url: "http://127.0.0.1:9/x", secret: "another-secret-of-enough-length" }] } }) { threshold } }', {
      key: OPERATE,
      variables: { id: rule.id },
    });
    const muted = await graphqlData<{ muteAlertRule: { muted: boolean; mutedUntil: string } }, { id: string }>(
      t.baseUrl,
      'mutation ($id: ID!) { muteAlertRule(id: $id, until: "2099-01-01T00:00:00Z") { muted mutedUntil } }',
      { key: OPERATE, variables: { id: rule.id } },
    );
    expect(muted.muteAlertRule).toEqual({ muted: true, mutedUntil: '2099-01-01T00:00:00.000Z' });
    await graphqlData(t.baseUrl, 'mutation ($id: ID!) { deleteAlertRule(id: $id) { id } }', { key: OPERATE, variables: { id: rule.id } });

    const rows = await database.handle.db
      .select()
      .from(auditLog)
      .where(and(sql`${auditLog.action} IN ('createAlertRule', 'updateAlertRule', 'muteAlertRule', 'deleteAlertRule')`, sql`${auditLog.detail}->>'ruleId' = ${rule.id}`));
    expect(rows.map((r) => [r.action, r.outcome, r.actor]).sort()).toEqual([
      ['createAlertRule', 'ok', 'api-key:ops'],
      ['deleteAlertRule', 'ok', 'api-key:ops'],
      ['muteAlertRule', 'ok', 'api-key:ops'],
      ['updateAlertRule', 'ok', 'api-key:ops'],
    ]);
    const written = JSON.stringify(rows);
    expect(written).not.toContain(SECRET);
    expect(written).not.toContain('another-secret-of-enough-length');
    expect(written).toContain('[redacted]');
    expect(JSON.stringify(await graphqlData(t.baseUrl, '{ alertRules { channels { webhooks { url signed } } } }', { key: READ }))).not.toContain(SECRET);
  });

  it('pages alertEvents newest first by cursor, by rule and kind, and reads a page of events with their rules and jobs in a fixed number of statements', async () => {
    type Page = { alertEvents: { nodes: { id: string; kind: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
    const PAGE = 'query ($after: String, $kind: AlertEventKind) { alertEvents(first: 2, after: $after, kind: $kind) { nodes { id kind } pageInfo { hasNextPage endCursor } } }';
    const all: string[] = [];
    let after: string | null = null;
    do {
      const page: Page = await graphqlData<Page, { after?: string | null }>(t.baseUrl, PAGE, { key: READ, variables: { after } });
      all.push(...page.alertEvents.nodes.map((n) => n.id));
      after = page.alertEvents.pageInfo.hasNextPage ? page.alertEvents.pageInfo.endCursor : null;
    } while (after);
    // The tests above wrote 5 firings and 5 resolutions.
    expect(all).toHaveLength(10);
    expect([...all].sort((a, b) => Number(b) - Number(a))).toEqual(all);
    const resolved = await graphqlData<Page, { kind: string }>(t.baseUrl, 'query ($kind: AlertEventKind) { alertEvents(first: 50, kind: $kind) { nodes { id kind } pageInfo { hasNextPage endCursor } } }', {
      key: READ,
      variables: { kind: 'RESOLVED' },
    });
    expect(resolved.alertEvents.nodes.map((n) => n.kind)).toEqual(Array(5).fill('RESOLVED'));
    expect(errorCodes(await graphql(t.baseUrl, '{ alertEvents(first: 201) { nodes { id } } }', { key: READ }))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await graphql(t.baseUrl, '{ alertEvents(after: "nope") { nodes { id } } }', { key: READ }))).toEqual(['BAD_USER_INPUT']);

    statements = [];
    const data = await graphqlData<{ alertEvents: { nodes: Event[] } }, Record<string, never>>(t.baseUrl, `{ alertEvents(first: 50) { nodes { ${EVENT_FIELDS} } } }`, { key: READ });
    const executed = statements;
    statements = undefined;
    expect(data.alertEvents.nodes).toHaveLength(10);
    expect(data.alertEvents.nodes.filter((e) => e.jobs.length > 0).length).toBeGreaterThanOrEqual(4);
    // The events, the rules once, and every event's jobs in one list read (not one per event or per job).
    expect(executed.filter((s) => s.includes('"alert_events"'))).toHaveLength(1);
    expect(executed.filter((s) => s.includes('"alert_rules"'))).toHaveLength(1);
    expect(executed.filter((s) => s.includes('"job_executions"'))).toHaveLength(1);
    expect(executed).toHaveLength(3);
  });
});
