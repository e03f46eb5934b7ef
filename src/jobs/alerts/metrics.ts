/**
 * What an alert rule can measure. Each metric is defined once here: what it is, its unit, whether
 * a JobFilter scope and a window apply to it, and how it is measured. A rule fires when the value
 * reaches its threshold (value ≥ threshold); the jobs behind the value go with the event.
 */
import { and, asc, count, desc, eq, gte, inArray, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { durationSeconds, jobExecutions, signatureFailures, type AlertMetric } from '../../db/schema.js';
import type { ListDeadLetters, DeadLetter } from '../ops/dead-letters.js';
import { givenFields, jobFilterCondition, type JobFilter } from '../read/filter.js';
import { jobStatistics } from '../read/stats.js';
import { isStuck } from '../read/stuck.js';

/** The jobs behind a value: at most this many go with an event. */
export const ALERT_JOB_SAMPLE = 20;
/** DEAD_LETTERS reads at most this many of QStash's dead letters (10 pages). */
export const DEAD_LETTERS_COUNTED_MAX = 1_000;

export interface MeasureDeps {
  db: Database;
  /** QStash's dead-letter queue, newest first (DEAD_LETTERS). */
  deadLetters: (input: ListDeadLetters) => Promise<{ deadLetters: DeadLetter[]; cursor: string | undefined }>;
}

/** What a rule measures over: its scope and its window. */
export interface MeasuredRule {
  scope: JobFilter;
  windowMinutes: number;
  threshold: number;
}

export interface Measurement {
  value: number;
  /** The jobs behind the value, at most ALERT_JOB_SAMPLE. */
  jobIds: string[];
  /** The numbers a person reads in the alert (for the guide's two alerts, the fields its log lines always had). */
  detail: Record<string, unknown>;
}

export interface MetricDefinition {
  /** The alert's text in logs and webhooks; the guide's own for its two alerts. */
  message: string;
  unit: 'ratio' | 'jobs' | 'seconds' | 'deliveries';
  description: string;
  /** Whether a JobFilter scope applies (SIGNATURE_FAILURES' deliveries have no job the worker could trust). */
  scoped: boolean;
  /** Whether the window applies (the backlog and the DLQ are read as they are now). */
  windowed: boolean;
  /** The most a threshold may be (a rate is at most 1). */
  maxThreshold?: number;
  measure(deps: MeasureDeps, rule: MeasuredRule): Promise<Measurement>;
}

const since = (windowMinutes: number) => new Date(Date.now() - windowMinutes * 60_000);

/** The first ALERT_JOB_SAMPLE job ids `where` names, in `orderBy`'s order. */
async function jobIdsWhere(db: Database, where: SQL | undefined, orderBy: SQL[]): Promise<string[]> {
  const rows = await db
    .select({ jobId: jobExecutions.jobId })
    .from(jobExecutions)
    .where(where)
    .orderBy(...orderBy)
    .limit(ALERT_JOB_SAMPLE);
  return rows.map((r) => r.jobId);
}

export const METRICS: Record<AlertMetric, MetricDefinition> = {
  failure_rate: {
    message: 'High job failure rate detected',
    unit: 'ratio',
    description:
      'Failed ÷ all jobs created in the window (0 when none were), as jobHealth counts them; the threshold is a rate (0.05 = 5 %). The jobs: the newest failed ones.',
    scoped: true,
    windowed: true,
    maxThreshold: 1,
    async measure({ db }, rule) {
      const filter: JobFilter = { ...rule.scope, createdAfter: since(rule.windowMinutes) };
      const stats = await jobStatistics(db, { filter });
      const totalJobs = stats.reduce((sum, s) => sum + s.count, 0);
      const failedJobs = stats.filter((s) => s.status === 'failed').reduce((sum, s) => sum + s.count, 0);
      const failureRate = totalJobs === 0 ? 0 : failedJobs / totalJobs;
      const jobIds =
        failedJobs === 0
          ? []
          : await jobIdsWhere(db, and(jobFilterCondition(filter), eq(jobExecutions.status, 'failed')), [desc(jobExecutions.createdAt), desc(jobExecutions.jobId)]);
      return {
        value: failureRate,
        jobIds,
        detail: { failureRate, threshold: rule.threshold, failedJobs, totalJobs, windowMinutes: rule.windowMinutes },
      };
    },
  },
  stuck_jobs: {
    message: 'Jobs stuck in processing',
    unit: 'jobs',
    description:
      "Jobs `processing` whose attempt started more than the window's minutes ago (the stuckJobs rule with the window as its threshold). The jobs: the oldest starts.",
    scoped: true,
    windowed: true,
    async measure({ db }, rule) {
      const where = and(isStuck(rule.windowMinutes), jobFilterCondition(rule.scope));
      const [[counted], oldest] = await Promise.all([
        db.select({ n: count() }).from(jobExecutions).where(where),
        db
          .select({ jobId: jobExecutions.jobId, jobType: jobExecutions.jobType, startedAt: jobExecutions.startedAt })
          .from(jobExecutions)
          .where(where)
          .orderBy(asc(jobExecutions.startedAt), asc(jobExecutions.jobId))
          .limit(ALERT_JOB_SAMPLE),
      ]);
      const n = counted?.n ?? 0;
      return {
        value: n,
        jobIds: oldest.map((j) => j.jobId),
        detail: { count: n, olderThanMinutes: rule.windowMinutes, stuckJobs: oldest },
      };
    },
  },
  slow_jobs: {
    message: 'Jobs slower than their threshold',
    unit: 'seconds',
    description:
      'The highest p95 duration, in seconds, among the job types whose jobs created in the window completed (per type, as jobStats computes it). The jobs: the slowest completed ones of the types at or over the threshold.',
    scoped: true,
    windowed: true,
    async measure({ db }, rule) {
      const filter: JobFilter = { ...rule.scope, status: ['completed'], createdAfter: since(rule.windowMinutes) };
      const stats = await jobStatistics(db, { filter });
      const types = stats
        .filter((s) => s.status === 'completed' && s.p95DurationSeconds !== null)
        .map((s) => ({ jobType: s.jobType, p95DurationSeconds: s.p95DurationSeconds!, count: s.count }))
        .sort((a, b) => b.p95DurationSeconds - a.p95DurationSeconds);
      const value = types[0]?.p95DurationSeconds ?? 0;
      const over = types.filter((t) => t.p95DurationSeconds >= rule.threshold).map((t) => t.jobType);
      const jobIds =
        over.length === 0
          ? []
          : await jobIdsWhere(db, and(jobFilterCondition(filter), inArray(jobExecutions.jobType, over)), [
              sql`${durationSeconds(jobExecutions)} DESC NULLS LAST`,
              asc(jobExecutions.jobId),
            ]);
      return { value, jobIds, detail: { p95DurationSeconds: value, thresholdSeconds: rule.threshold, windowMinutes: rule.windowMinutes, types } };
    },
  },
  backlog_age: {
    message: 'Jobs waiting too long to start',
    unit: 'seconds',
    description:
      'Age in seconds of the oldest `pending` job (enqueued or retried, not started), as queueDepth reports it; 0 when none waits. The window does not apply. The jobs: the oldest pending ones.',
    scoped: true,
    windowed: false,
    async measure({ db }, rule) {
      const where = and(eq(jobExecutions.status, 'pending'), jobFilterCondition(rule.scope));
      const [[summary], oldest] = await Promise.all([
        db
          .select({
            pending: count(),
            ageSeconds: sql<number | null>`EXTRACT(EPOCH FROM now() - min(${jobExecutions.createdAt}))`.mapWith((v) => (v === null ? null : Number(v))),
          })
          .from(jobExecutions)
          .where(where),
        jobIdsWhere(db, where, [asc(jobExecutions.createdAt), asc(jobExecutions.jobId)]),
      ]);
      const value = Math.max(0, summary?.ageSeconds ?? 0);
      return { value, jobIds: oldest, detail: { oldestPendingAgeSeconds: value, pendingJobs: summary?.pending ?? 0 } };
    },
  },
  dead_letters: {
    message: 'Dead letters waiting',
    unit: 'jobs',
    description: `Messages in QStash's dead-letter queue (of the scope's jobs, when a scope is given; at most ${DEAD_LETTERS_COUNTED_MAX} counted). The window does not apply. The jobs: those of the newest dead letters.`,
    scoped: true,
    windowed: false,
    async measure({ db, deadLetters }, rule) {
      const letters: DeadLetter[] = [];
      let cursor: string | undefined;
      do {
        const page = await deadLetters({ first: 100, after: cursor });
        letters.push(...page.deadLetters);
        cursor = page.cursor;
      } while (cursor && letters.length < DEAD_LETTERS_COUNTED_MAX);
      let counted = letters.slice(0, DEAD_LETTERS_COUNTED_MAX);
      if (givenFields(rule.scope).length > 0) {
        const ids = counted.map((l) => l.jobId).filter((id): id is string => id !== null);
        const inScope = new Set(
          ids.length === 0
            ? []
            : (
                await db
                  .select({ jobId: jobExecutions.jobId })
                  .from(jobExecutions)
                  .where(and(inArray(jobExecutions.jobId, ids), jobFilterCondition(rule.scope)))
              ).map((r) => r.jobId),
        );
        counted = counted.filter((l) => l.jobId !== null && inScope.has(l.jobId));
      }
      return {
        value: counted.length,
        jobIds: [...new Set(counted.map((l) => l.jobId).filter((id): id is string => id !== null))].slice(0, ALERT_JOB_SAMPLE),
        detail: {
          deadLetters: counted.length,
          capped: letters.length >= DEAD_LETTERS_COUNTED_MAX,
          newest: counted.slice(0, 5).map((l) => ({ dlqId: l.dlqId, messageId: l.messageId, jobId: l.jobId, responseStatus: l.responseStatus })),
        },
      };
    },
  },
  signature_failures: {
    message: 'Deliveries rejected for their signature',
    unit: 'deliveries',
    description:
      'Deliveries the worker rejected with 401 in the window (signatureFailures). No scope: a delivery that did not verify has no job the worker could trust. No jobs; the detail counts the reasons.',
    scoped: false,
    windowed: true,
    async measure({ db }, rule) {
      const rows = await db
        .select({ reason: signatureFailures.reason, n: count(), messageIds: sql<(string | null)[]>`(array_agg(${signatureFailures.messageId} ORDER BY ${signatureFailures.id} DESC))[1:5]` })
        .from(signatureFailures)
        .where(gte(signatureFailures.at, since(rule.windowMinutes)))
        .groupBy(signatureFailures.reason);
      const value = rows.reduce((sum, r) => sum + r.n, 0);
      return {
        value,
        jobIds: [],
        detail: {
          signatureFailures: value,
          windowMinutes: rule.windowMinutes,
          reasons: Object.fromEntries(rows.map((r) => [r.reason, r.n])),
          messageIds: rows.flatMap((r) => r.messageIds.filter((id): id is string => id !== null)).slice(0, 10),
        },
      };
    },
  },
};
