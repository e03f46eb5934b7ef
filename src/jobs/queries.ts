import { and, eq, gte, isNotNull, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { FINAL_STATUSES, jobExecutions, type JobExecution, type NewJobExecution } from '../db/schema.js';

/** The operations guide's helper: one job's row, or undefined. */
export async function getJobExecutionByJobId(db: Database, jobId: string): Promise<JobExecution | undefined> {
  const [row] = await db.select().from(jobExecutions).where(eq(jobExecutions.jobId, jobId)).limit(1);
  return row;
}

/** Columns an operator may change by hand (the guide's manual retry sets status, error, retryCount). */
export type JobExecutionChanges = Partial<
  Pick<NewJobExecution, 'status' | 'error' | 'retryCount' | 'messageId' | 'startedAt' | 'completedAt' | 'result'>
>;

/**
 * The operations guide's helper: applies `changes` and returns the updated row (undefined if
 * none). Moving a job back to a non-final status clears `completed_at` (unless given), so the
 * guide's statistics, which count rows with `completed_at`, do not count it as finished.
 */
export async function updateJobExecution(
  db: Database,
  jobId: string,
  changes: JobExecutionChanges,
): Promise<JobExecution | undefined> {
  const reopened = changes.status !== undefined && !FINAL_STATUSES.includes(changes.status) && !('completedAt' in changes);
  const [row] = await db
    .update(jobExecutions)
    .set({ ...changes, ...(reopened ? { completedAt: null } : {}), updatedAt: new Date() })
    .where(eq(jobExecutions.jobId, jobId))
    .returning();
  return row;
}

export interface StatsWindow {
  since?: Date | undefined;
  until?: Date | undefined;
  jobType?: string | undefined;
}

export interface JobStatistic {
  jobType: string;
  status: JobExecution['status'];
  count: number;
  avgDurationSeconds: number | null;
  p50DurationSeconds: number | null;
  p95DurationSeconds: number | null;
  p99DurationSeconds: number | null;
}

function windowConditions(window: StatsWindow): SQL[] {
  const conditions: SQL[] = [];
  if (window.since) conditions.push(gte(jobExecutions.createdAt, window.since));
  if (window.until) conditions.push(lt(jobExecutions.createdAt, window.until));
  if (window.jobType) conditions.push(eq(jobExecutions.jobType, window.jobType));
  return conditions;
}

const duration = sql`EXTRACT(EPOCH FROM (${jobExecutions.completedAt} - ${jobExecutions.startedAt}))`;
const percentile = (p: number) =>
  sql<number | null>`percentile_cont(${sql.raw(String(p))}) WITHIN GROUP (ORDER BY ${duration})`.mapWith(nullableNumber);

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/**
 * The guide's "job statistics by type" per (job type, status), over jobs created in the window,
 * with duration percentiles. Every status is counted; durations come from rows that have both
 * `started_at` and `completed_at` (AVG and percentile_cont skip the NULLs of the others).
 */
export async function jobStatistics(db: Database, window: StatsWindow = {}): Promise<JobStatistic[]> {
  return db
    .select({
      jobType: jobExecutions.jobType,
      status: jobExecutions.status,
      count: sql<number>`count(*)::int`,
      avgDurationSeconds: sql<number | null>`AVG(${duration})`.mapWith(nullableNumber),
      p50DurationSeconds: percentile(0.5),
      p95DurationSeconds: percentile(0.95),
      p99DurationSeconds: percentile(0.99),
    })
    .from(jobExecutions)
    .where(and(...windowConditions(window)))
    .groupBy(jobExecutions.jobType, jobExecutions.status)
    .orderBy(jobExecutions.jobType, jobExecutions.status);
}

/** Jobs `processing` whose latest attempt started more than `olderThanMinutes` ago. */
export async function findStuckJobs(db: Database, olderThanMinutes = 10): Promise<JobExecution[]> {
  return db
    .select()
    .from(jobExecutions)
    .where(
      and(
        eq(jobExecutions.status, 'processing'),
        isNotNull(jobExecutions.startedAt),
        lt(jobExecutions.startedAt, sql`now() - make_interval(mins => ${olderThanMinutes})`),
      ),
    )
    .orderBy(jobExecutions.startedAt);
}

export interface JobHealthReport {
  status: 'healthy' | 'unhealthy';
  windowMinutes: number;
  failureRateThreshold: number;
  totalJobs: number;
  failedJobs: number;
  /** failed / total over jobs created in the window; 0 for an empty window. */
  failureRate: number;
  /** Count of jobs `findStuckJobs` would return. */
  stuckJobs: number;
  byStatus: { status: JobExecution['status']; count: number }[];
}

/**
 * The guide's job-health check over jobs created in the last `windowMinutes`: unhealthy when the
 * failure rate reaches the threshold. Unlike the guide's route, an empty window is healthy with a
 * rate of 0 rather than a division by zero.
 */
export async function jobHealth(
  db: Database,
  { windowMinutes = 60, failureRateThreshold = 0.05, stuckAfterMinutes = 10 } = {},
): Promise<JobHealthReport> {
  const byStatus = await db
    .select({ status: jobExecutions.status, count: sql<number>`count(*)::int` })
    .from(jobExecutions)
    .where(gte(jobExecutions.createdAt, sql`now() - make_interval(mins => ${windowMinutes})`))
    .groupBy(jobExecutions.status)
    .orderBy(jobExecutions.status);
  const [stuck] = await db
    .select({ count: sql<number>`count(*)::int` })
    .from(jobExecutions)
    .where(
      and(
        eq(jobExecutions.status, 'processing'),
        lt(jobExecutions.startedAt, sql`now() - make_interval(mins => ${stuckAfterMinutes})`),
      ),
    );
  const totalJobs = byStatus.reduce((sum, s) => sum + s.count, 0);
  const failedJobs = byStatus.find((s) => s.status === 'failed')?.count ?? 0;
  const failureRate = totalJobs === 0 ? 0 : failedJobs / totalJobs;
  return {
    status: failureRate >= failureRateThreshold && totalJobs > 0 ? 'unhealthy' : 'healthy',
    windowMinutes,
    failureRateThreshold,
    totalJobs,
    failedJobs,
    failureRate,
    stuckJobs: stuck?.count ?? 0,
    byStatus,
  };
}
