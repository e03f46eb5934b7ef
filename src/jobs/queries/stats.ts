import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { jobExecutions, type JobExecution } from '../../db/schema.js';
import { InvalidArgumentError } from '../errors.js';
import {
  binsByKey,
  bucketsIn,
  histogramPercentile,
  HOUR_MS,
  MINUTE_MS,
  rollupBinRows,
  rollupMinuteRows,
  rollupRows,
  splitWindow,
  timestamptz,
  withinAny,
} from './rollups.js';
import { isStuck } from './stuck.js';

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

/** One row of a statistics read: sums over rollup rows and scanned edge rows. */
interface CountRow {
  job_type: string;
  status: JobExecution['status'];
  jobs: unknown;
  avg: unknown;
}
interface BinRow {
  job_type: string;
  status: JobExecution['status'];
  value: unknown;
  n: unknown;
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

const ofType = (jobType: string | undefined) => (jobType === undefined ? sql`` : sql` AND job_type = ${jobType}`);

/**
 * The guide's "job statistics by type" per (job type, status), over jobs created in the window,
 * with duration percentiles. Every status is counted; durations come from rows that have both
 * `started_at` and `completed_at`. Read from the rollups: the all-time rows without a window, the
 * whole hours of a window plus an exact scan of its partial first and last hour otherwise.
 * Counts and averages are exact; p50/p95/p99 are within HISTOGRAM_RELATIVE_ERROR of
 * percentile_cont over the same rows.
 */
export async function jobStatistics(db: Database, window: StatsWindow = {}): Promise<JobStatistic[]> {
  const allTime = window.since === undefined && window.until === undefined;
  const split = splitWindow(window.since, window.until, HOUR_MS);
  const buckets = allTime
    ? sql`bucket_start = '-infinity'::timestamptz`
    : split.whole
      ? bucketsIn(sql`bucket_start`, split.whole)
      : sql`false`;
  const edges = withinAny(sql`created_at`, allTime ? [] : split.edges);
  const type = ofType(window.jobType);
  const [counts, bins] = await Promise.all([
    db.execute<CountRow>(
      sql`
        SELECT job_type, status, sum(jobs) AS jobs, sum(duration_sum) / nullif(sum(timed), 0) AS avg
        FROM (
          SELECT job_type, status, jobs, timed, duration_sum FROM ${rollupRows} rollup
          WHERE series = 'created' AND ${buckets}${type}
          UNION ALL
          SELECT job_type, status, 1,
                 CASE WHEN started_at IS NOT NULL AND completed_at IS NOT NULL THEN 1 ELSE 0 END,
                 coalesce(EXTRACT(EPOCH FROM (completed_at - started_at)), 0)
          FROM ${jobExecutions} WHERE (${edges})${type}
        ) s
        GROUP BY job_type, status
        HAVING sum(jobs) > 0
        ORDER BY job_type, status`,
      'objects',
    ),
    db.execute<BinRow>(
      sql`
        SELECT job_type, status, jobscope_bin_value(bin) AS value, sum(n) AS n
        FROM (
          SELECT job_type, status, bin, n FROM ${rollupBinRows} bins
          WHERE series = 'duration' AND ${buckets}${type}
          UNION ALL
          SELECT job_type, status, jobscope_duration_bin(date_part('epoch', completed_at - started_at)), 1
          FROM ${jobExecutions}
          WHERE (${edges}) AND started_at IS NOT NULL AND completed_at IS NOT NULL${type}
        ) s
        GROUP BY job_type, status, bin
        HAVING sum(n) > 0
        ORDER BY job_type, status, bin`,
      'objects',
    ),
  ]);
  const histograms = binsByKey([...bins], (r) => `${r.job_type}\u0000${r.status}`);
  return [...counts].map((row) => {
    const bins = histograms.get(`${row.job_type}\u0000${row.status}`) ?? [];
    return {
      jobType: row.job_type,
      status: row.status,
      count: Number(row.jobs),
      avgDurationSeconds: nullableNumber(row.avg),
      p50DurationSeconds: histogramPercentile(bins, 0.5),
      p95DurationSeconds: histogramPercentile(bins, 0.95),
      p99DurationSeconds: histogramPercentile(bins, 0.99),
    };
  });
}

export interface JobHealthReport {
  status: 'healthy' | 'unhealthy';
  windowMinutes: number;
  failureRateThreshold: number;
  totalJobs: number;
  failedJobs: number;
  /** failed / total over jobs created in the window; 0 for an empty window. */
  failureRate: number;
  /** Minutes in `processing` after which a job counted as stuck. */
  stuckAfterMinutes: number;
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
  { windowMinutes, failureRateThreshold, stuckAfterMinutes }: { windowMinutes: number; failureRateThreshold: number; stuckAfterMinutes: number },
): Promise<JobHealthReport> {
  // The window starts at now() - windowMinutes and has no end: whole hours from the rollups
  // (future hours too, as the guide's query would count them), the partial first hour scanned.
  const [byStatusRows, stuckRows] = await Promise.all([
    db.execute<{ status: JobExecution['status']; count: unknown }>(
      sql`
        WITH w AS (SELECT now() - make_interval(mins => ${windowMinutes}) AS since),
        h AS (
          SELECT since, CASE WHEN date_trunc('hour', since, 'UTC') = since THEN since
                             ELSE date_trunc('hour', since, 'UTC') + interval '1 hour' END AS whole_from
          FROM w
        )
        SELECT status, sum(n) AS count FROM (
          SELECT r.status, r.jobs AS n FROM ${rollupRows} r, h WHERE r.series = 'created' AND r.bucket_start >= h.whole_from
          UNION ALL
          SELECT e.status, 1 FROM ${jobExecutions} e, h WHERE e.created_at >= h.since AND e.created_at < h.whole_from
        ) s
        GROUP BY status
        HAVING sum(n) > 0
        ORDER BY status`,
      'objects',
    ),
    db.select({ count: sql<number>`count(*)::int` }).from(jobExecutions).where(isStuck(stuckAfterMinutes)),
  ]);
  const byStatus = [...byStatusRows].map((r) => ({ status: r.status, count: Number(r.count) }));
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
    stuckAfterMinutes,
    stuckJobs: stuckRows[0]?.count ?? 0,
    byStatus,
  };
}


export const THROUGHPUT_BUCKET_SIZES = ['minute', 'hour', 'day'] as const;
export type ThroughputBucketSize = (typeof THROUGHPUT_BUCKET_SIZES)[number];
export const MAX_THROUGHPUT_BUCKETS = 10_000;
const BUCKET_MS: Record<ThroughputBucketSize, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
/** Buckets shown when no `since` is given: the last hour, day or month. */
const DEFAULT_BUCKET_COUNT: Record<ThroughputBucketSize, number> = { minute: 60, hour: 24, day: 30 };

export interface ThroughputBucket {
  bucketStart: Date;
  /** Jobs created in the bucket. */
  enqueued: number;
  /** Jobs that completed in the bucket (by completed_at). */
  completed: number;
  /** Jobs that failed for good in the bucket (by completed_at). */
  failed: number;
}

export interface ThroughputWindow {
  since?: Date | undefined;
  until?: Date | undefined;
  bucket?: ThroughputBucketSize | undefined;
  jobType?: string | undefined;
}

/**
 * Enqueued, completed and failed jobs per UTC-aligned bucket, oldest first, with every bucket
 * from the one holding `since` to the one holding `until` present (zeros where nothing
 * happened). Counts are limited to [since, until). Without `since`: the last 60 minutes, 24
 * hours or 30 days, whole buckets.
 */
export async function jobThroughput(db: Database, window: ThroughputWindow = {}): Promise<ThroughputBucket[]> {
  const bucket = window.bucket ?? 'hour';
  const step = BUCKET_MS[bucket];
  const until = window.until ?? new Date();
  const since = window.since ?? new Date(Math.floor(until.getTime() / step) * step - (DEFAULT_BUCKET_COUNT[bucket] - 1) * step);
  if (since.getTime() > until.getTime()) throw new InvalidArgumentError('since', '"since" must not be after "until"');
  if ((until.getTime() - since.getTime()) / step > MAX_THROUGHPUT_BUCKETS) {
    throw new InvalidArgumentError('bucket', `At most ${MAX_THROUGHPUT_BUCKETS} buckets: use a larger bucket or a shorter window`);
  }
  const unit = sql.raw(`'${bucket}'`);
  const interval = sql.raw(`interval '1 ${bucket}'`);
  const from = timestamptz(since);
  const to = timestamptz(until);
  const type = ofType(window.jobType);
  // Whole minutes from job_rollup_minutes for MINUTE buckets, whole hours from job_rollups for
  // HOUR and DAY; the partial minute or hour at either end of [since, until) scanned exactly.
  const split = splitWindow(since, until, bucket === 'minute' ? MINUTE_MS : HOUR_MS);
  const rollup = !split.whole
    ? sql`SELECT NULL::timestamptz AS counted_at, 0::int8 AS enqueued, 0::int8 AS completed, 0::int8 AS failed WHERE false`
    : bucket === 'minute'
      ? sql`SELECT minute AS counted_at, enqueued, completed, failed FROM ${rollupMinuteRows} minutes WHERE ${bucketsIn(sql`minute`, split.whole)}${type}`
      : sql`SELECT bucket_start AS counted_at,
                   CASE WHEN series = 'created' THEN jobs ELSE 0 END AS enqueued,
                   CASE WHEN series = 'completed' AND status = 'completed' THEN jobs ELSE 0 END AS completed,
                   CASE WHEN series = 'completed' AND status = 'failed' THEN jobs ELSE 0 END AS failed
            FROM ${rollupRows} rollup WHERE ${bucketsIn(sql`bucket_start`, split.whole)}${type}`;
  const rows = await db.execute<{ bucket_start: string; enqueued: number; completed: number; failed: number }>(
    sql`
      WITH buckets AS (
        SELECT generate_series(date_trunc(${unit}, ${from}, 'UTC'), ${to} - interval '1 microsecond', ${interval}) AS bucket_start
      ), counts AS (
        SELECT date_trunc(${unit}, counted_at, 'UTC') AS bucket_start, sum(enqueued) AS enqueued, sum(completed) AS completed, sum(failed) AS failed
        FROM (
          ${rollup}
          UNION ALL
          SELECT created_at, 1, 0, 0 FROM ${jobExecutions} WHERE (${withinAny(sql`created_at`, split.edges)})${type}
          UNION ALL
          SELECT completed_at, 0, CASE WHEN status = 'completed' THEN 1 ELSE 0 END, CASE WHEN status = 'failed' THEN 1 ELSE 0 END
          FROM ${jobExecutions}
          WHERE (${withinAny(sql`completed_at`, split.edges)}) AND status IN ('completed', 'failed')${type}
        ) s
        GROUP BY 1
      )
      SELECT to_char(b.bucket_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS bucket_start,
             coalesce(c.enqueued, 0)::int AS enqueued,
             coalesce(c.completed, 0)::int AS completed,
             coalesce(c.failed, 0)::int AS failed
      FROM buckets b
      LEFT JOIN counts c ON c.bucket_start = b.bucket_start
      ORDER BY b.bucket_start`,
    'objects',
  );
  return rows.map((r) => ({
    bucketStart: new Date(r.bucket_start),
    enqueued: Number(r.enqueued),
    completed: Number(r.completed),
    failed: Number(r.failed),
  }));
}

export interface SlowJobType {
  jobType: string;
  /** Finished jobs of the type (the guide's `completed_at IS NOT NULL`). */
  count: number;
  avgDurationSeconds: number;
  p95DurationSeconds: number | null;
}

/**
 * The guide's "slower than 30 s" query: job types whose average duration over finished jobs
 * (durations from rows with both `started_at` and `completed_at`) exceeds the threshold, slowest
 * first. `since` limits it to jobs that finished at or after that instant.
 */
export async function findSlowJobTypes(
  db: Database,
  { thresholdSeconds = 30, since }: { thresholdSeconds?: number; since?: Date | undefined } = {},
): Promise<SlowJobType[]> {
  // All time: the created series' all-time rows (finished = the guide's completed_at IS NOT NULL).
  // Since an instant: the completed series' whole hours from the hour after it, the partial hour
  // scanned on completed_at.
  const split = splitWindow(since, undefined, HOUR_MS);
  const counts = since
    ? sql`SELECT job_type, jobs AS finished, timed, duration_sum FROM ${rollupRows} rollup
          WHERE series = 'completed' AND ${bucketsIn(sql`bucket_start`, split.whole!)}`
    : sql`SELECT job_type, finished, timed, duration_sum FROM ${rollupRows} rollup
          WHERE series = 'created' AND bucket_start = '-infinity'::timestamptz`;
  const bins = since
    ? sql`SELECT job_type, bin, n FROM ${rollupBinRows} bins
          WHERE series = 'duration_completed' AND ${bucketsIn(sql`bucket_start`, split.whole!)}`
    : sql`SELECT job_type, bin, n FROM ${rollupBinRows} bins WHERE series = 'duration' AND bucket_start = '-infinity'::timestamptz`;
  const edges = withinAny(sql`completed_at`, since ? split.edges : []);
  const rows = await db.execute<{ job_type: string; count: unknown; avg: unknown }>(
    sql`
      SELECT job_type, sum(finished) AS count, sum(duration_sum) / sum(timed) AS avg
      FROM (
        ${counts}
        UNION ALL
        SELECT job_type, 1, CASE WHEN started_at IS NOT NULL THEN 1 ELSE 0 END,
               coalesce(EXTRACT(EPOCH FROM (completed_at - started_at)), 0)
        FROM ${jobExecutions} WHERE ${edges}
      ) s
      GROUP BY job_type
      HAVING sum(timed) > 0 AND sum(duration_sum) / sum(timed) > ${thresholdSeconds}::float8
      ORDER BY avg DESC, job_type`,
    'objects',
  );
  if (rows.length === 0) return [];
  const types = [...rows].map((r) => r.job_type);
  const binRows = await db.execute<{ job_type: string; value: unknown; n: unknown }>(
    sql`
      SELECT job_type, jobscope_bin_value(bin) AS value, sum(n) AS n
      FROM (
        ${bins}
        UNION ALL
        SELECT job_type, jobscope_duration_bin(date_part('epoch', completed_at - started_at)), 1
        FROM ${jobExecutions} WHERE (${edges}) AND started_at IS NOT NULL
      ) s
      WHERE job_type IN (${sql.join(types.map((t) => sql`${t}`), sql`, `)})
      GROUP BY job_type, bin
      HAVING sum(n) > 0
      ORDER BY job_type, bin`,
    'objects',
  );
  const histograms = binsByKey([...binRows], (r) => r.job_type);
  return [...rows].map((r) => ({
    jobType: r.job_type,
    count: Number(r.count),
    avgDurationSeconds: Number(r.avg),
    p95DurationSeconds: histogramPercentile(histograms.get(r.job_type) ?? [], 0.95),
  }));
}
