/**
 * The operations guide's troubleshooting checklist as one answer (`systemCheck`, `GET
 * /health/checks`): its four groups, each item PASS, WARN or FAIL with what was found and, when it
 * is not a pass, the fix. Every item is measured on this deployment: its configuration, a timed
 * QStash call, a signed probe of each worker endpoint through the URL QStash calls, and the
 * job tables over the health window.
 */
import type { Client } from '@upstash/qstash';
import { and, count, desc, eq, gte, isNotNull, like, sql } from 'drizzle-orm';
import type { Config } from '../config/index.js';
import { databaseErrorSummary, isDatabaseUnavailable, type DatabaseHandle } from '../db/client.js';
import { auditLog, jobAttempts, jobExecutions, queueWaitSeconds } from '../db/schema.js';
import { errorMessage } from '../jobs/errors.js';
import type { Jobs } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/registry.js';
import { INVALID_PAYLOAD_PREFIX } from '../jobs/worker.js';
import type { Logger } from '../logger.js';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY } from '../qstash/dev-credentials.js';
import { probeEndpoint } from './probe.js';

export type CheckStatus = 'PASS' | 'WARN' | 'FAIL';

export interface CheckItem {
  /** Stable name, e.g. `qstash-reachable`, `endpoint:send-email`. */
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to do, for WARN and FAIL. */
  fix: string | null;
}

export const CHECK_GROUPS = [
  { id: 'ENQUEUEING', title: 'Job not enqueueing' },
  { id: 'PROCESSING', title: 'Job not processing' },
  { id: 'FAILURES', title: 'High failure rate' },
  { id: 'PERFORMANCE', title: 'Poor performance' },
] as const;
export type CheckGroupId = (typeof CHECK_GROUPS)[number]['id'];

export interface CheckGroup {
  id: CheckGroupId;
  title: string;
  status: CheckStatus;
  items: CheckItem[];
}

export interface SystemCheck {
  /** The worst item's status. */
  status: CheckStatus;
  checkedAt: Date;
  durationMs: number;
  groups: CheckGroup[];
}

export interface SystemCheckDeps {
  config: Config;
  database: DatabaseHandle;
  jobs: Jobs;
  qstash: () => Client;
  /** The public URL of a worker endpoint path: where QStash delivers (BASE_URL + base path + path). */
  endpointUrl: (path: string) => string;
  /** Where the driver's words go when an item's reads cannot reach the database. */
  logger?: Logger;
}

const RANK: Record<CheckStatus, number> = { PASS: 0, WARN: 1, FAIL: 2 };
const worst = (statuses: CheckStatus[]): CheckStatus => statuses.reduce<CheckStatus>((a, b) => (RANK[b] > RANK[a] ? b : a), 'PASS');
const pass = (name: string, detail: string): CheckItem => ({ name, status: 'PASS', detail, fix: null });
const warn = (name: string, detail: string, fix: string): CheckItem => ({ name, status: 'WARN', detail, fix });
const fail = (name: string, detail: string, fix: string): CheckItem => ({ name, status: 'FAIL', detail, fix });

/** A QStash call that takes longer than this is reachable but slow. */
const SLOW_QSTASH_MS = 1_000;
const SLOW_DATABASE_MS = 100;
/** Average wait from enqueue to start past which a type's queue wait is a warning. */
const SLOW_QUEUE_WAIT_SECONDS = 60;

async function timed<T>(run: () => Promise<T>): Promise<{ value?: T; error?: unknown; ms: number }> {
  const started = performance.now();
  try {
    const value = await run();
    return { value, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

const isLoopback = (url: string) => /^(localhost|127\.|\[::1\]|0\.0\.0\.0)/.test(new URL(url).hostname);

function enqueueingConfig(deps: SystemCheckDeps): CheckItem[] {
  const { config } = deps;
  const production = config.env === 'production';
  const items: CheckItem[] = [];
  items.push(
    config.qstash.kind === 'local'
      ? production
        ? fail('qstash-configured', 'No QSTASH_TOKEN: publishing through the local stand-in.', 'Set QSTASH_TOKEN (and QSTASH_URL if not the default) from the QStash console.')
        : pass('qstash-configured', `Local QStash stand-in at ${deps.endpointUrl(config.qstash.basePath)} (development).`)
      : pass('qstash-configured', `QSTASH_TOKEN set; QStash at ${config.qstash.url ?? 'https://qstash.upstash.io'}.`),
  );
  const devKeys = config.signingKeys.current === DEV_CURRENT_SIGNING_KEY || config.signingKeys.next === DEV_NEXT_SIGNING_KEY;
  items.push(
    devKeys && production
      ? fail('signing-keys', 'The public development signing keys are in use in production.', 'Set QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY from the QStash console.')
      : pass('signing-keys', devKeys ? 'Signing keys: the public development keys (development only).' : 'QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY are set.'),
  );
  const sample = deps.endpointUrl('/');
  if (config.baseUrl === undefined) {
    items.push(
      production
        ? fail('base-url', `BASE_URL is not set; QStash would be told ${sample}.`, 'Set BASE_URL to the public URL of this deployment (https://…), exactly as QStash will call it.')
        : pass('base-url', `BASE_URL not set: using ${sample} (where the server listens, development).`),
    );
  } else if (isLoopback(config.baseUrl)) {
    items.push(
      production
        ? fail('base-url', `BASE_URL is ${config.baseUrl}: QStash cannot reach a local address.`, 'Set BASE_URL to the public URL of this deployment.')
        : pass('base-url', `BASE_URL is ${config.baseUrl} (local: only the stand-in can reach it).`),
    );
  } else {
    items.push(pass('base-url', `BASE_URL is ${config.baseUrl}.`));
  }
  return items;
}

async function qstashReachable(deps: SystemCheckDeps): Promise<CheckItem> {
  const { error, ms } = await timed(() => deps.qstash().schedules.list());
  if (error !== undefined) {
    return fail('qstash-reachable', `An authenticated QStash call failed after ${Math.round(ms)} ms: ${errorMessage(error)}`, 'Check QSTASH_TOKEN and QSTASH_URL, and that this host can reach QStash.');
  }
  if (ms > SLOW_QSTASH_MS) return warn('qstash-reachable', `QStash answered in ${Math.round(ms)} ms.`, 'Publishing will be slow: check the network path to QStash.');
  return pass('qstash-reachable', `QStash answered an authenticated call in ${Math.round(ms)} ms.`);
}

async function enqueueValidationErrors(deps: SystemCheckDeps, since: Date): Promise<CheckItem> {
  const [row] = await deps.database.db
    .select({ n: count() })
    .from(auditLog)
    .where(and(eq(auditLog.action, 'enqueueJob'), eq(auditLog.outcome, 'INVALID_PAYLOAD'), gte(auditLog.at, since)));
  const n = Number(row?.n ?? 0);
  return n === 0
    ? pass('enqueue-validation-errors', 'No enqueueJob refused for an invalid payload in the window.')
    : warn('enqueue-validation-errors', `${n} enqueueJob call(s) refused for an invalid payload in the window.`, "auditLog(filter: { action: \"enqueueJob\" }) shows them: fix the callers' payloads.");
}

async function endpointProbe(deps: SystemCheckDeps, definition: JobDefinition): Promise<CheckItem> {
  const url = deps.endpointUrl(definition.endpoint);
  const name = `endpoint:${definition.type}`;
  const probe = await probeEndpoint(url, deps.config.signingKeys.current);
  if (probe.ok) return pass(name, `A signed probe through ${url} was answered by the worker in ${Math.round(probe.ms)} ms.`);
  if (probe.status === 401) {
    return fail(name, `The worker at ${url} rejected a correctly signed probe (401).`, 'BASE_URL must be exactly the URL QStash calls (scheme, host, port, path), and the signing keys the ones QStash signs with.');
  }
  if (probe.status !== undefined) {
    return fail(name, `${url} answered the probe ${probe.status}${probe.body ? `: ${probe.body}` : ''}.`, `Check that ${definition.endpoint} is routed to jobscope (a proxy, auth or a 404 in front of it).`);
  }
  return fail(name, `${url} could not be reached: ${probe.error}.`, 'Check BASE_URL and that this deployment is reachable at it from the internet (QStash calls it from outside).');
}

async function signatureFailureItem(deps: SystemCheckDeps, since: Date): Promise<CheckItem> {
  const failures = await deps.jobs.read.signatureFailures({ since, first: 500 });
  if (failures.length === 0) return pass('signature-failures', 'No delivery rejected for its signature in the window.');
  const reasons = new Map<string, number>();
  for (const failure of failures) reasons.set(failure.reason, (reasons.get(failure.reason) ?? 0) + 1);
  const latest = failures[0]!;
  const urls = latest.signedUrl ? ` The latest was signed for ${latest.signedUrl} and checked against ${latest.checkedUrl}.` : '';
  return fail(
    'signature-failures',
    `${failures.length}${failures.length === 500 ? '+' : ''} delivery(ies) rejected for their signature in the window (${[...reasons].map(([r, n]) => `${n} ${r}`).join(', ')}).${urls}`,
    'WRONG_KEY: set QSTASH_CURRENT_SIGNING_KEY / QSTASH_NEXT_SIGNING_KEY from the QStash console (or the stand-in restarted with new keys). URL_MISMATCH: BASE_URL must be the URL QStash calls. signatureFailures lists them.',
  );
}

async function deliveriesVsEnqueued(deps: SystemCheckDeps, since: Date): Promise<CheckItem> {
  const db = deps.database.db;
  const [[created], [delivered]] = await Promise.all([
    db.select({ n: count() }).from(jobExecutions).where(gte(jobExecutions.createdAt, since)),
    db.select({ n: count() }).from(jobAttempts).where(gte(jobAttempts.startedAt, since)),
  ]);
  const jobs = Number(created?.n ?? 0);
  const attempts = Number(delivered?.n ?? 0);
  if (jobs > 0 && attempts === 0) {
    return fail('deliveries', `${jobs} job(s) created in the window and no delivery seen.`, 'QStash is not reaching the worker: see the endpoint probes and jobDiagnosis of a pending job.');
  }
  return pass('deliveries', `${attempts} delivery attempt(s) for ${jobs} job(s) created in the window.`);
}

async function failureItems(deps: SystemCheckDeps, since: Date): Promise<CheckItem[]> {
  const { policy } = deps.jobs;
  const stats = await deps.jobs.read.stats({ since });
  const byType = new Map<string, { total: number; failed: number }>();
  for (const row of stats) {
    const entry = byType.get(row.jobType) ?? { total: 0, failed: 0 };
    entry.total += row.count;
    if (row.status === 'failed') entry.failed += row.count;
    byType.set(row.jobType, entry);
  }
  const items: CheckItem[] = [];
  for (const type of deps.jobs.registry.types()) {
    const { total, failed } = byType.get(type) ?? { total: 0, failed: 0 };
    const rate = total === 0 ? 0 : failed / total;
    const detail = `${failed} of ${total} job(s) failed in the window (${(rate * 100).toFixed(1)} %; threshold ${(policy.failureRateThreshold * 100).toFixed(1)} %).`;
    items.push(
      total > 0 && rate >= policy.failureRateThreshold
        ? fail(`failure-rate:${type}`, detail, `retryJobs(filter: { jobType: ["${type}"], status: [FAILED] }) once the cause is fixed; jobDiagnosis of one says why.`)
        : pass(`failure-rate:${type}`, detail),
    );
  }
  const db = deps.database.db;
  const top = await db
    .select({ error: jobExecutions.error, n: count() })
    .from(jobExecutions)
    .where(and(eq(jobExecutions.status, 'failed'), isNotNull(jobExecutions.error), gte(jobExecutions.createdAt, since)))
    .groupBy(jobExecutions.error)
    .orderBy(desc(count()))
    .limit(5);
  items.push(
    top.length === 0
      ? pass('top-errors', 'No job failed in the window.')
      : warn('top-errors', top.map((row) => `${Number(row.n)}× ${row.error}`).join('; '), 'The most frequent errors first: fix their cause, then retry the jobs they failed (retryJobs with errorContains).'),
  );
  const [invalid] = await db
    .select({ n: count() })
    .from(jobExecutions)
    .where(and(eq(jobExecutions.status, 'failed'), like(jobExecutions.error, `${INVALID_PAYLOAD_PREFIX}%`), gte(jobExecutions.createdAt, since)));
  const invalidCount = Number(invalid?.n ?? 0);
  items.push(
    invalidCount === 0
      ? pass('payload-validation-failures', 'No delivery refused for an invalid payload in the window.')
      : warn('payload-validation-failures', `${invalidCount} job(s) failed on an invalid payload in the window.`, 'Their publishers send payloads the type\'s schema refuses: replayJob with a corrected payload.'),
  );
  const letters = await timed(() => deps.qstash().dlq.listMessages({ count: 100 }));
  if (letters.error !== undefined) {
    items.push(warn('dead-letters', `QStash's DLQ could not be read: ${errorMessage(letters.error)}`, 'See qstash-reachable.'));
  } else {
    const n = letters.value!.messages.length;
    items.push(
      n === 0
        ? pass('dead-letters', 'No dead letters waiting in QStash.')
        : warn('dead-letters', `${n}${letters.value!.cursor ? '+' : ''} dead letter(s) waiting in QStash.`, 'deadLetters lists them with their last answer; retryDeadLetters delivers them again.'),
    );
  }
  return items;
}

async function performanceItems(deps: SystemCheckDeps, since: Date): Promise<CheckItem[]> {
  const items: CheckItem[] = [];
  const stats = await deps.jobs.read.stats({ since, filter: { status: ['completed'] } });
  for (const definition of deps.jobs.registry.list()) {
    const p95 = stats.find((row) => row.jobType === definition.type)?.p95DurationSeconds ?? null;
    const name = `slow:${definition.type}`;
    if (p95 === null) items.push(pass(name, 'No completed job in the window.'));
    else if (p95 >= definition.timeoutSeconds * 0.8) {
      items.push(
        (p95 >= definition.timeoutSeconds ? fail : warn)(
          name,
          `p95 ${p95.toFixed(2)} s against a timeout of ${definition.timeoutSeconds} s.`,
          `Raise the type's timeoutSeconds (to about ${Math.ceil(p95 * 1.5)} s) or make the handler faster.`,
        ),
      );
    } else items.push(pass(name, `p95 ${p95.toFixed(2)} s, timeout ${definition.timeoutSeconds} s.`));
  }
  const rounds: number[] = [];
  for (let i = 0; i < 3; i++) rounds.push((await timed(() => deps.database.query('SELECT 1'))).ms);
  const median = rounds.sort((a, b) => a - b)[1]!;
  items.push(
    median > SLOW_DATABASE_MS
      ? warn('database-latency', `A database round trip takes ${median.toFixed(1)} ms (median of 3).`, 'Run jobscope near its database; check the database\'s load.')
      : pass('database-latency', `A database round trip takes ${median.toFixed(1)} ms (median of 3).`),
  );
  items.push(await slowestQueries(deps));
  const waits = await deps.database.db
    .select({
      jobType: jobExecutions.jobType,
      seconds: sql<number>`avg(${queueWaitSeconds(jobExecutions)})`.mapWith(Number),
    })
    .from(jobExecutions)
    .where(and(isNotNull(jobExecutions.startedAt), gte(jobExecutions.createdAt, since)))
    .groupBy(jobExecutions.jobType);
  for (const { jobType, seconds } of waits) {
    const detail = `Jobs waited ${seconds.toFixed(2)} s on average from enqueue to start.`;
    items.push(
      seconds > SLOW_QUEUE_WAIT_SECONDS
        ? warn(`queue-wait:${jobType}`, detail, `queueDepth shows its backlog: raise the type's parallelism, or check that its queue is not paused.`)
        : pass(`queue-wait:${jobType}`, detail),
    );
  }
  return items;
}

/** jobscope's slowest statements, when the database keeps pg_stat_statements. */
async function slowestQueries(deps: SystemCheckDeps): Promise<CheckItem> {
  try {
    const rows = (await deps.database.query(
      `SELECT left(query, 120) AS query, round(mean_exec_time::numeric, 2) AS ms, calls FROM pg_stat_statements
       WHERE query ILIKE '%job_executions%' OR query ILIKE '%job_attempts%' ORDER BY mean_exec_time DESC LIMIT 3`,
    )) as Array<{ query: string; ms: unknown; calls: unknown }>;
    if (rows.length === 0) return pass('slowest-queries', 'pg_stat_statements has no jobscope statement yet.');
    return pass('slowest-queries', rows.map((row) => `${String(row.ms)} ms × ${String(row.calls)}: ${row.query}`).join(' | '));
  } catch {
    return pass('slowest-queries', 'Not measured: the database does not keep pg_stat_statements (CREATE EXTENSION pg_stat_statements shows them here).');
  }
}

/** Runs the whole checklist; an item whose own reads fail is a FAIL naming the error, never a missing answer. */
export async function runSystemCheck(deps: SystemCheckDeps): Promise<SystemCheck> {
  const started = performance.now();
  const since = new Date(Date.now() - deps.jobs.policy.healthWindowMinutes * 60_000);
  const guarded = async (name: string, run: () => Promise<CheckItem | CheckItem[]>): Promise<CheckItem[]> => {
    try {
      const result = await run();
      return Array.isArray(result) ? result : [result];
    } catch (error) {
      // /health/checks is open: an outage's error names the query, the host and the port (drizzle's
      // "Failed query: …" around the driver's "write CONNECTION_CLOSED 127.0.0.1:5432"). They go to
      // the log; the answer says what /health says.
      if (isDatabaseUnavailable(error)) {
        deps.logger?.error('[health] System check item failed: the database is unavailable', { check: name, error: errorMessage(error) });
        return [fail(name, 'The check itself failed: the database could not be reached.', 'See /health; jobscope answers again once the database does.')];
      }
      // Any other failure: the database's own words when it refused the statement, and nothing of
      // the statement or its parameters; the whole error goes to the log.
      deps.logger?.error('[health] System check item failed', { check: name, error: errorMessage(error) });
      const said = databaseErrorSummary(error);
      return [
        fail(
          name,
          said ? `The check itself failed: ${said}.` : 'The check itself failed with an unexpected error; the log has it ([health] System check item failed).',
          'See the database and QStash checks.',
        ),
      ];
    }
  };
  const [enqueueing, processing, failures, performanceGroup] = await Promise.all([
    Promise.all([
      Promise.resolve(enqueueingConfig(deps)),
      guarded('qstash-reachable', () => qstashReachable(deps)),
      guarded('enqueue-validation-errors', () => enqueueValidationErrors(deps, since)),
    ]).then((parts) => parts.flat()),
    Promise.all([
      ...deps.jobs.registry.list().map((definition) => guarded(`endpoint:${definition.type}`, () => endpointProbe(deps, definition))),
      guarded('signature-failures', () => signatureFailureItem(deps, since)),
      guarded('deliveries', () => deliveriesVsEnqueued(deps, since)),
    ]).then((parts) => parts.flat()),
    guarded('failures', () => failureItems(deps, since)),
    guarded('performance', () => performanceItems(deps, since)),
  ]);
  const byGroup: Record<CheckGroupId, CheckItem[]> = { ENQUEUEING: enqueueing, PROCESSING: processing, FAILURES: failures, PERFORMANCE: performanceGroup };
  const groups = CHECK_GROUPS.map(({ id, title }) => ({ id, title, status: worst(byGroup[id].map((item) => item.status)), items: byGroup[id] }));
  return { status: worst(groups.map((group) => group.status)), checkedAt: new Date(), durationMs: performance.now() - started, groups };
}
