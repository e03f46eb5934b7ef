import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { durationSeconds, jobExecutions, queueWaitSeconds, type JobExecution } from '../../db/schema.js';
import { InvalidArgumentError } from '../errors.js';
import { answerableFromRollups, jobFilterCondition, rollupFilterCondition, withArguments, type JobFilter } from './filter.js';
import {
  binsByKey,
  bucketsIn,
  histogramPercentile,
  MINUTE_MS,
  planBuckets,
  planScans,
  planWindow,
  rollupBinRows,
  rollupMinuteRows,
  rollupRows,
  type Selection,
  splitWindow,
  timestamptz,
  withinAny,
} from './rollups.js';
import { isStuck } from './stuck.js';

export interface StatsWindow {
  /** Jobs created at or after this instant: the same as `filter.createdAfter` (give one of them). */
  since?: Date | undefined;
  /** Jobs created before this instant: the same as `filter.createdBefore`. */
  until?: Date | undefined;
  /** One job type: the same as `filter.jobType: [jobType]`. */
  jobType?: string | undefined;
  filter?: JobFilter | undefined;
}

export interface JobStatistic {
  jobType: string;
  status: JobExecution['status'];
  count: number;
  avgDurationSeconds: number | null;
  p50DurationSeconds: number | null;
  p95DurationSeconds: number | null;
  p99DurationSeconds: number | null;
  /** Queue wait (started_at − created_at) over the jobs that started: the average, exact. */
  avgQueueWaitSeconds: number | null;
  p50QueueWaitSeconds: number | null;
  p95QueueWaitSeconds: number | null;
  p99QueueWaitSeconds: number | null;
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

/** The status and job-type fields of a rollup-answerable filter, on rollup rows and on scanned rows. */
function rollupAndRows(filter: JobFilter): { rollup: SQL; rows: SQL } {
  const kept = { status: filter.status, jobType: filter.jobType };
  return { rollup: sql` AND ${rollupFilterCondition(kept)}`, rows: sql` AND ${jobFilterCondition(kept)}` };
}

/** One row of a statistics read: sums over rollup rows and scanned rows, signed. */
interface CountRow {
  job_type: string;
  status: JobExecution['status'];
  jobs: unknown;
  avg: unknown;
  avg_wait: unknown;
}
interface BinRow {
  job_type: string;
  status: JobExecution['status'];
  measure: 'duration' | 'wait';
  value: unknown;
  n: unknown;
}

/**
 * The guide's "job statistics by type" per (job type, status), over jobs created in the window,
 * with duration and queue-wait percentiles. Every status is counted; durations come from rows
 * that have both `started_at` and `completed_at`, queue waits from rows with `started_at`. Read from the rollups: the all-time rows without a window,
 * otherwise the window's whole days and hours plus an exact scan of what its ends add or take
 * away ({@link planWindow}). Counts and averages are exact; p50/p95/p99 are within
 * HISTOGRAM_RELATIVE_ERROR of percentile_cont over the same rows.
 */
export async function jobStatistics(db: Database, window: StatsWindow = {}): Promise<JobStatistic[]> {
  const filter = withArguments(window.filter, {
    createdAfter: { argument: 'since', value: window.since },
    createdBefore: { argument: 'until', value: window.until },
    jobType: { argument: 'jobType', value: window.jobType === undefined ? undefined : [window.jobType] },
  });
  if (!answerableFromRollups(filter)) return statisticsFromRows(db, filter);
  const since = filter.createdAfter;
  const until = filter.createdBefore;
  const allTime = since === undefined && until === undefined;
  const plan = allTime ? { days: [], hours: [], scans: [] } : planWindow(since, until, ['day', 'hour']);
  const counted = allTime ? { where: sql`series = 'created' AND bucket_start = '-infinity'::timestamptz`, sign: sql`1` } : planBuckets(plan, 'created');
  const binned = allTime ? { where: sql`series = 'duration' AND bucket_start = '-infinity'::timestamptz`, sign: sql`1` } : planBuckets(plan, 'duration');
  const waitBinned = allTime ? { where: sql`series = 'wait' AND bucket_start = '-infinity'::timestamptz`, sign: sql`1` } : planBuckets(plan, 'wait');
  const scanned = planScans(plan, sql`created_at`);
  const { rollup: onRollup, rows: onRows } = rollupAndRows(filter);
  // Two statements on two connections, in parallel: one statement for both ran 0.8 ms slower for
  // all time at 1M rows on a busy 2-core machine, and the scanned ends are at most half an hour.
  const [counts, bins] = await Promise.all([
    db.execute<CountRow>(
      sql`
        SELECT job_type, status, sum(jobs) AS jobs, sum(duration_sum) / nullif(sum(timed), 0) AS avg,
               sum(wait_sum) / nullif(sum(waited), 0) AS avg_wait
        FROM (
          SELECT job_type, status, sign * jobs AS jobs, sign * timed AS timed, sign * duration_sum AS duration_sum,
                 sign * waited AS waited, sign * wait_sum AS wait_sum
          FROM (SELECT job_type, status, jobs, timed, duration_sum, waited, wait_sum, ${counted.sign} AS sign FROM ${rollupRows} rollup
                WHERE ${counted.where}${onRollup}) r
          UNION ALL
          SELECT job_type, status, ${scanned.sign},
                 CASE WHEN started_at IS NOT NULL AND completed_at IS NOT NULL THEN ${scanned.sign} ELSE 0 END,
                 coalesce(${scanned.sign} * EXTRACT(EPOCH FROM (completed_at - started_at)), 0),
                 CASE WHEN started_at IS NOT NULL THEN ${scanned.sign} ELSE 0 END,
                 coalesce(${scanned.sign} * EXTRACT(EPOCH FROM (started_at - created_at)), 0)
          FROM ${jobExecutions} WHERE ${scanned.where}${onRows}
        ) s
        GROUP BY job_type, status
        HAVING sum(jobs) > 0
        ORDER BY job_type, status`,
      'objects',
    ),
    db.execute<BinRow>(
      sql`
        SELECT job_type, status, measure, jobscope_bin_value(bin) AS value, sum(n) AS n
        FROM (
          SELECT job_type, status, 'duration' AS measure, bin, sign * n AS n
          FROM (SELECT job_type, status, bin, n, ${binned.sign} AS sign FROM ${rollupBinRows} bins
                WHERE ${binned.where}${onRollup}) b
          UNION ALL
          SELECT job_type, status, 'wait', bin, sign * n
          FROM (SELECT job_type, status, bin, n, ${waitBinned.sign} AS sign FROM ${rollupBinRows} bins
                WHERE ${waitBinned.where}${onRollup}) w
          UNION ALL
          SELECT job_type, status, 'duration', jobscope_duration_bin(date_part('epoch', completed_at - started_at)), ${scanned.sign}
          FROM ${jobExecutions}
          WHERE ${scanned.where} AND started_at IS NOT NULL AND completed_at IS NOT NULL${onRows}
          UNION ALL
          SELECT job_type, status, 'wait', jobscope_duration_bin(date_part('epoch', started_at - created_at)), ${scanned.sign}
          FROM ${jobExecutions}
          WHERE ${scanned.where} AND started_at IS NOT NULL${onRows}
        ) s
        GROUP BY job_type, status, measure, bin
        HAVING sum(n) > 0
        ORDER BY job_type, status, measure, bin`,
      'objects',
    ),
  ]);
  const histograms = binsByKey([...bins], (r) => `${r.job_type}\u0000${r.status}\u0000${r.measure}`);
  return [...counts].map((row) => {
    const durations = histograms.get(`${row.job_type}\u0000${row.status}\u0000duration`) ?? [];
    const waits = histograms.get(`${row.job_type}\u0000${row.status}\u0000wait`) ?? [];
    return {
      jobType: row.job_type,
      status: row.status,
      count: Number(row.jobs),
      avgDurationSeconds: nullableNumber(row.avg),
      p50DurationSeconds: histogramPercentile(durations, 0.5),
      p95DurationSeconds: histogramPercentile(durations, 0.95),
      p99DurationSeconds: histogramPercentile(durations, 0.99),
      avgQueueWaitSeconds: nullableNumber(row.avg_wait),
      p50QueueWaitSeconds: histogramPercentile(waits, 0.5),
      p95QueueWaitSeconds: histogramPercentile(waits, 0.95),
      p99QueueWaitSeconds: histogramPercentile(waits, 0.99),
    };
  });
}

/**
 * jobStatistics for a filter the rollups cannot answer (it names fields other than status, job
 * type and creation time): counted from the matching rows, with exact percentiles.
 */
async function statisticsFromRows(db: Database, filter: JobFilter): Promise<JobStatistic[]> {
  const duration = durationSeconds(jobExecutions);
  const wait = queueWaitSeconds(jobExecutions);
  const percentile = (p: number, of: SQL) => sql`percentile_cont(${sql.raw(String(p))}) WITHIN GROUP (ORDER BY ${of})`;
  const rows = await db.execute<CountRow & { p50: unknown; p95: unknown; p99: unknown; w50: unknown; w95: unknown; w99: unknown }>(
    sql`
      SELECT job_type, status, count(*) AS jobs, avg(${duration}) AS avg,
             ${percentile(0.5, duration)} AS p50, ${percentile(0.95, duration)} AS p95, ${percentile(0.99, duration)} AS p99,
             avg(${wait}) AS avg_wait, ${percentile(0.5, wait)} AS w50, ${percentile(0.95, wait)} AS w95, ${percentile(0.99, wait)} AS w99
      FROM ${jobExecutions}
      WHERE ${jobFilterCondition(filter)}
      GROUP BY job_type, status
      ORDER BY job_type, status`,
    'objects',
  );
  return [...rows].map((row) => ({
    jobType: row.job_type,
    status: row.status,
    count: Number(row.jobs),
    avgDurationSeconds: nullableNumber(row.avg),
    p50DurationSeconds: nullableNumber(row.p50),
    p95DurationSeconds: nullableNumber(row.p95),
    p99DurationSeconds: nullableNumber(row.p99),
    avgQueueWaitSeconds: nullableNumber(row.avg_wait),
    p50QueueWaitSeconds: nullableNumber(row.w50),
    p95QueueWaitSeconds: nullableNumber(row.w95),
    p99QueueWaitSeconds: nullableNumber(row.w99),
  }));
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
  /** One job type: the same as `filter.jobType: [jobType]`. */
  jobType?: string | undefined;
  /** Which jobs are counted; the window (`since`, `until`) places them in buckets. */
  filter?: JobFilter | undefined;
}

/**
 * Enqueued, completed and failed jobs per UTC-aligned bucket, oldest first, with every bucket
 * from the one holding `since` to the one holding `until` present (zeros where nothing
 * happened). Counts are limited to [since, until). Without `since`: the last 60 minutes, 24
 * hours or 30 days, whole buckets. A filter of job types (and, for HOUR and DAY, statuses) is
 * answered from the rollups; any other filter counts the matching rows.
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
  const filter = withArguments(window.filter, { jobType: { argument: 'jobType', value: window.jobType === undefined ? undefined : [window.jobType] } });
  // job_rollup_minutes has no status.
  const counted = answerableFromRollups(filter, bucket === 'minute' ? ['jobType'] : ['jobType', 'status'])
    ? countedFromRollups(since, until, bucket, filter)
    : countedFromRows(from, to, filter);
  const rows = await db.execute<{ bucket_start: string; enqueued: number; completed: number; failed: number }>(
    sql`
      WITH buckets AS (
        SELECT generate_series(date_trunc(${unit}, ${from}, 'UTC'), ${to} - interval '1 microsecond', ${interval}) AS bucket_start
      ), counts AS (
        SELECT date_trunc(${unit}, counted_at, 'UTC') AS bucket_start, sum(enqueued) AS enqueued, sum(completed) AS completed, sum(failed) AS failed
        FROM (${counted}) s
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

/** The rows a throughput sums, `(counted_at, enqueued, completed, failed)`, from the matching jobs themselves. */
function countedFromRows(from: SQL, to: SQL, filter: JobFilter): SQL {
  const matching = jobFilterCondition(filter);
  return sql`
    SELECT created_at AS counted_at, 1 AS enqueued, 0 AS completed, 0 AS failed
    FROM ${jobExecutions} WHERE created_at >= ${from} AND created_at < ${to} AND ${matching}
    UNION ALL
    SELECT completed_at, 0, CASE WHEN status = 'completed' THEN 1 ELSE 0 END, CASE WHEN status = 'failed' THEN 1 ELSE 0 END
    FROM ${jobExecutions} WHERE completed_at >= ${from} AND completed_at < ${to} AND status IN ('completed', 'failed') AND ${matching}`;
}

/** The same rows from the rollups, signed, plus the exactly scanned ends of the window. */
function countedFromRollups(since: Date, until: Date, bucket: ThroughputBucketSize, filter: JobFilter): SQL {
  const { rollup: onRollup, rows: type } = rollupAndRows(filter);
  // MINUTE buckets: whole minutes from job_rollup_minutes, the partial minute at either end of
  // [since, until) scanned. HOUR and DAY: the rollups' hours (and for DAY its days), the ends
  // scanned, added or subtracted (planWindow). Each rollup row read covers one hour or day, inside
  // one bucket of the answer, so rows are placed by bucket_start (scanned ones by timestamp),
  // signs and all. Days for DAY: 30 days were ~11,000 hourly rows, a 6.9 ms statement at 1M rows;
  // ~600 day rows take 1.9 ms.
  let rollup: SQL;
  let created: Selection;
  let completed: Selection;
  if (bucket === 'minute') {
    const split = splitWindow(since, until, MINUTE_MS);
    rollup = !split.whole
      ? sql`SELECT NULL::timestamptz AS counted_at, 0::int8 AS enqueued, 0::int8 AS completed, 0::int8 AS failed WHERE false`
      : sql`SELECT minute AS counted_at, enqueued, completed, failed FROM ${rollupMinuteRows} minutes WHERE ${bucketsIn(sql`minute`, split.whole)}${onRollup}`;
    created = { where: sql`(${withinAny(sql`created_at`, split.edges)})`, sign: sql`1` };
    completed = { where: sql`(${withinAny(sql`completed_at`, split.edges)})`, sign: sql`1` };
  } else {
    const plan = planWindow(since, until, bucket === 'day' ? ['day', 'hour'] : ['hour']);
    const enqueuedRows = planBuckets(plan, 'created');
    const completedRows = planBuckets(plan, 'completed');
    rollup = sql`SELECT bucket_start AS counted_at, sign * enqueued AS enqueued, sign * completed AS completed, sign * failed AS failed
      FROM (
        SELECT bucket_start, ${enqueuedRows.sign} AS sign, jobs AS enqueued, 0 AS completed, 0 AS failed
        FROM ${rollupRows} rollup WHERE ${enqueuedRows.where}${onRollup}
        UNION ALL
        SELECT bucket_start, ${completedRows.sign},
               0, CASE WHEN status = 'completed' THEN jobs ELSE 0 END, CASE WHEN status = 'failed' THEN jobs ELSE 0 END
        FROM ${rollupRows} rollup WHERE ${completedRows.where} AND status IN ('completed', 'failed')${onRollup}
      ) r`;
    created = planScans(plan, sql`created_at`);
    completed = planScans(plan, sql`completed_at`);
  }
  return sql`
    ${rollup}
    UNION ALL
    SELECT created_at, ${created.sign}, 0, 0 FROM ${jobExecutions} WHERE ${created.where}${type}
    UNION ALL
    SELECT completed_at, 0, CASE WHEN status = 'completed' THEN ${completed.sign} ELSE 0 END, CASE WHEN status = 'failed' THEN ${completed.sign} ELSE 0 END
    FROM ${jobExecutions}
    WHERE ${completed.where} AND status IN ('completed', 'failed')${type}`;
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
  // Since an instant: the completed series' days and hours from it on, its end scanned on
  // completed_at, added or subtracted (planWindow).
  const plan = since ? planWindow(since, undefined, ['day', 'hour']) : { days: [], hours: [], scans: [] };
  const finished = planBuckets(plan, 'completed');
  const binned = planBuckets(plan, 'duration_completed');
  const counts = since
    ? sql`SELECT job_type, sign * jobs AS finished, sign * timed AS timed, sign * duration_sum AS duration_sum
          FROM (SELECT job_type, jobs, timed, duration_sum, ${finished.sign} AS sign FROM ${rollupRows} rollup WHERE ${finished.where}) r`
    : sql`SELECT job_type, finished, timed, duration_sum FROM ${rollupRows} rollup
          WHERE series = 'created' AND bucket_start = '-infinity'::timestamptz`;
  const bins = since
    ? sql`SELECT job_type, bin, sign * n AS n FROM (SELECT job_type, bin, n, ${binned.sign} AS sign FROM ${rollupBinRows} bins WHERE ${binned.where}) b`
    : sql`SELECT job_type, bin, n FROM ${rollupBinRows} bins WHERE series = 'duration' AND bucket_start = '-infinity'::timestamptz`;
  const edges = planScans(plan, sql`completed_at`);
  const rows = await db.execute<{ job_type: string; count: unknown; avg: unknown }>(
    sql`
      SELECT job_type, sum(finished) AS count, sum(duration_sum) / sum(timed) AS avg
      FROM (
        ${counts}
        UNION ALL
        SELECT job_type, ${edges.sign}, CASE WHEN started_at IS NOT NULL THEN ${edges.sign} ELSE 0 END,
               coalesce(${edges.sign} * EXTRACT(EPOCH FROM (completed_at - started_at)), 0)
        FROM ${jobExecutions} WHERE ${edges.where}
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
        SELECT job_type, jobscope_duration_bin(date_part('epoch', completed_at - started_at)), ${edges.sign}
        FROM ${jobExecutions} WHERE ${edges.where} AND started_at IS NOT NULL
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
