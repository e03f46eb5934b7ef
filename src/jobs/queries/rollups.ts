import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import {
  jobExecutions,
  jobRollupBinDeltas,
  jobRollupBins,
  jobRollupDeltas,
  jobRollupMinuteDeltas,
  jobRollupMinutes,
  jobRollups,
  type JobStatus,
} from '../../db/schema.js';

/**
 * How the statistics read the rollups (tables job_rollups, job_rollup_bins, job_rollup_minutes;
 * kept by the triggers of drizzle/*_rollups and *_rollup_deltas). Every read sums a rollup
 * table's rows together with its pending deltas ({@link rollupRows} and its siblings): the
 * triggers append deltas, a compaction moves them into the rollups atomically, so the sum is
 * exact at any instant, compacted or not. A window [since, until) is answered as the whole
 * buckets inside it, read from the rollups, plus its partial edge buckets, counted exactly from
 * `job_executions` over the indexed timestamp (at most one bucket's rows at each end). Counts,
 * sums and averages are therefore exact for every window; percentiles come from the merged
 * histograms.
 *
 * Histogram: bin i holds the values in (2^((i-1)/8), 2^(i/8)] seconds; its representative value
 * (`jobscope_bin_value(i)`) is within {@link HISTOGRAM_RELATIVE_ERROR} of every value in it. A
 * percentile is interpolated, as percentile_cont does, between the representatives of the two
 * ranks percentile_cont interpolates between, so it is within that relative error of
 * percentile_cont over the same rows.
 */
export const HISTOGRAM_BINS_PER_OCTAVE = 8;
/** (2^(1/8) − 1) / (2^(1/8) + 1) ≈ 0.0433: the bound on a percentile's relative error. */
export const HISTOGRAM_RELATIVE_ERROR = (2 ** (1 / HISTOGRAM_BINS_PER_OCTAVE) - 1) / (2 ** (1 / HISTOGRAM_BINS_PER_OCTAVE) + 1);

export const HOUR_MS = 3_600_000;
export const MINUTE_MS = 60_000;

/** A half-open time range; an open end is unbounded. */
export interface TimeRange {
  from?: Date | undefined;
  to?: Date | undefined;
}

/** A window cut into whole buckets (read from the rollups) and partial edges (scanned). */
export interface SplitWindow {
  /** The whole buckets: `bucket_start` in [from, to); null when the window holds none. */
  whole: TimeRange | null;
  /** The partial buckets at either end, each within one bucket. */
  edges: TimeRange[];
}

/** Splits [since, until) at bucket boundaries `stepMs` apart (UTC-aligned for minutes and hours). */
export function splitWindow(since: Date | undefined, until: Date | undefined, stepMs: number): SplitWindow {
  const from = since && new Date(Math.ceil(since.getTime() / stepMs) * stepMs);
  const to = until && new Date(Math.floor(until.getTime() / stepMs) * stepMs);
  if (from && to && from.getTime() >= to.getTime()) return { whole: null, edges: [{ from: since, to: until }] };
  const edges: TimeRange[] = [];
  if (since && from!.getTime() !== since.getTime()) edges.push({ from: since, to: from });
  if (until && to!.getTime() !== until.getTime()) edges.push({ from: to, to: until });
  return { whole: { from, to }, edges };
}

/**
 * `job_rollups` and its pending deltas as one set of rows to sum: a key may appear several times
 * (its compacted row and any deltas not yet compacted), so readers always aggregate. Conditions on
 * the columns are pushed into both branches (and their key indexes) by the planner. One statement
 * reads both in one snapshot, and a compaction moves deltas in one transaction: exact.
 */
export const rollupRows = sql`(
  SELECT series, bucket_start, job_type, status, jobs, finished, timed, duration_sum, waited, wait_sum FROM ${jobRollups}
  UNION ALL
  SELECT series, bucket_start, job_type, status, jobs, finished, timed, duration_sum, waited, wait_sum FROM ${jobRollupDeltas}
)`;
/** `job_rollup_bins` and its pending deltas (see {@link rollupRows}). */
export const rollupBinRows = sql`(
  SELECT series, bucket_start, job_type, status, bin, n FROM ${jobRollupBins}
  UNION ALL
  SELECT series, bucket_start, job_type, status, bin, n FROM ${jobRollupBinDeltas}
)`;
/** `job_rollup_minutes` and its pending deltas (see {@link rollupRows}). */
export const rollupMinuteRows = sql`(
  SELECT minute, job_type, enqueued, completed, failed FROM ${jobRollupMinutes}
  UNION ALL
  SELECT minute, job_type, enqueued, completed, failed FROM ${jobRollupMinuteDeltas}
)`;

export const timestamptz = (d: Date) => sql`${d.toISOString()}::timestamptz`;

/**
 * Rows of a rollup whose bucket column lies in `range`, hourly or minutely rows only: the
 * all-time rows (`-infinity`) are excluded.
 */
export function bucketsIn(column: SQL, range: TimeRange): SQL {
  const parts = [sql`${column} > '-infinity'::timestamptz`];
  if (range.from) parts.push(sql`${column} >= ${timestamptz(range.from)}`);
  if (range.to) parts.push(sql`${column} < ${timestamptz(range.to)}`);
  return sql.join(parts, sql` AND `);
}

/** `column` within any of the ranges (false for none): the exact scan of the partial edges. */
export function withinAny(column: SQL, ranges: TimeRange[]): SQL {
  if (ranges.length === 0) return sql`false`;
  return sql.join(
    ranges.map((r) => {
      const parts: SQL[] = [];
      if (r.from) parts.push(sql`${column} >= ${timestamptz(r.from)}`);
      if (r.to) parts.push(sql`${column} < ${timestamptz(r.to)}`);
      return parts.length === 0 ? sql`true` : sql`(${sql.join(parts, sql` AND `)})`;
    }),
    sql` OR `,
  );
}

/** One histogram bin as read: its representative value and how many values it holds. */
export interface Bin {
  value: number;
  n: number;
}

/**
 * percentile_cont over a histogram: the values at ranks floor(p·(N−1)) and ceil(p·(N−1)) are
 * replaced by their bins' representatives and interpolated with percentile_cont's fraction.
 * `bins` must be in value order. Null for an empty histogram.
 */
export function histogramPercentile(bins: readonly Bin[], p: number): number | null {
  const total = bins.reduce((sum, b) => sum + b.n, 0);
  if (total === 0) return null;
  const position = p * (total - 1);
  const low = Math.floor(position);
  const high = Math.ceil(position);
  const at = (rank: number) => {
    let seen = 0;
    for (const bin of bins) {
      seen += bin.n;
      if (rank < seen) return bin.value;
    }
    return bins[bins.length - 1]!.value;
  };
  const lowValue = at(low);
  return lowValue + (at(high) - lowValue) * (position - low);
}

/** Groups bins read as rows (in value order within each key) by `key`. */
export function binsByKey<R extends { value: unknown; n: unknown }>(rows: readonly R[], key: (row: R) => string): Map<string, Bin[]> {
  const grouped = new Map<string, Bin[]>();
  for (const row of rows) {
    const k = key(row);
    let bins = grouped.get(k);
    if (!bins) grouped.set(k, (bins = []));
    bins.push({ value: Number(row.value), n: Number(row.n) });
  }
  return grouped;
}

/**
 * Jobs with one of `status`, one of `jobType`, created in [createdAfter, createdBefore): the
 * created series' all-time rows without a time condition, else its whole hours plus an exact
 * count of the partial first and last hour. An empty list matches nothing, as `IN ()` would.
 */
export async function countFromRollups(
  db: Database,
  filter: { status?: readonly JobStatus[] | undefined; jobType?: readonly string[] | undefined; createdAfter?: Date | undefined; createdBefore?: Date | undefined },
): Promise<number> {
  if (filter.status?.length === 0 || filter.jobType?.length === 0) return 0;
  const list = (values: readonly string[]) => sql.join(values.map((v) => sql`${v}`), sql`, `);
  const conditions = [
    filter.status ? sql` AND status::text IN (${list(filter.status)})` : sql``,
    filter.jobType ? sql` AND job_type IN (${list(filter.jobType)})` : sql``,
  ];
  const where = sql.join(conditions, sql``);
  const allTime = filter.createdAfter === undefined && filter.createdBefore === undefined;
  const split = splitWindow(filter.createdAfter, filter.createdBefore, HOUR_MS);
  const buckets = allTime ? sql`bucket_start = '-infinity'::timestamptz` : split.whole ? bucketsIn(sql`bucket_start`, split.whole) : sql`false`;
  const edges = withinAny(sql`created_at`, allTime ? [] : split.edges);
  const [row] = await db.execute<{ n: unknown }>(
    sql`
      SELECT coalesce(sum(n), 0) AS n FROM (
        SELECT sum(jobs) AS n FROM ${rollupRows} rollup WHERE series = 'created' AND ${buckets}${where}
        UNION ALL
        SELECT count(*) FROM ${jobExecutions} WHERE (${edges})${where}
      ) s`,
    'objects',
  );
  return Number(row?.n ?? 0);
}

/** A job type's (and status's) all-time figures, as /metrics reports them. */
export interface RollupTotals {
  jobType: string;
  status: JobStatus;
  jobs: number;
  /** Jobs with a duration (both timestamps) and the sum of their durations in seconds. */
  timed: number;
  durationSum: number;
  /** Jobs with `started_at` and the sum of their queue waits (started_at − created_at) in seconds. */
  waited: number;
  waitSum: number;
}

/** All-time histogram counts at the power-of-two bounds 2^k s: `counts[i]` values ≤ `bounds[i]`. */
export interface CumulativeHistogram {
  jobType: string;
  status: JobStatus;
  /** Values ≤ each of `RollupSnapshot.bounds`, cumulative; the total is in RollupTotals. */
  counts: number[];
}

export interface RollupSnapshot {
  totals: RollupTotals[];
  /** The upper bounds (seconds) the histograms are cut at: exact bin bounds, so counts are exact. */
  bounds: number[];
  durations: CumulativeHistogram[];
  waits: CumulativeHistogram[];
}

/** 2^-10 s (~1 ms) to 2^15 s (~9 h): every 8th bin bound of the rollup histograms. */
export const METRIC_BOUND_EXPONENTS = Array.from({ length: 26 }, (_, i) => i - 10);

/**
 * The all-time rollup rows (counts, exact sums) and the duration and queue-wait histograms cut at
 * power-of-two bounds, in two reads of the rollups that do not grow with the table: the input of
 * the Prometheus collectors.
 */
export async function rollupSnapshot(db: Database): Promise<RollupSnapshot> {
  const exponents = METRIC_BOUND_EXPONENTS;
  const bounds = exponents.map((k) => 2 ** k);
  const [totals, bins] = await Promise.all([
    db.execute<{ job_type: string; status: JobStatus; jobs: unknown; timed: unknown; duration_sum: unknown; waited: unknown; wait_sum: unknown }>(
      sql`SELECT job_type, status, sum(jobs) AS jobs, sum(timed) AS timed, sum(duration_sum) AS duration_sum,
                 sum(waited) AS waited, sum(wait_sum) AS wait_sum
          FROM ${rollupRows} rollup
          WHERE series = 'created' AND bucket_start = '-infinity'::timestamptz
          GROUP BY job_type, status
          HAVING sum(jobs) <> 0 OR sum(waited) <> 0
          ORDER BY job_type, status`,
      'objects',
    ),
    // Bin i closes at 2^(i/8), so the values ≤ 2^k are the bins i ≤ 8k (0 and negatives included).
    db.execute<{ series: string; job_type: string; status: JobStatus; counts: unknown }>(
      sql`SELECT series, job_type, status,
                 ARRAY[${sql.join(exponents.map((k) => sql.raw(`sum(n) FILTER (WHERE bin <= ${8 * k})`)), sql`, `)}]::int8[] AS counts
          FROM ${rollupBinRows} bins
          WHERE series IN ('duration', 'wait') AND bucket_start = '-infinity'::timestamptz
          GROUP BY series, job_type, status
          ORDER BY series, job_type, status`,
      'objects',
    ),
  ]);
  const histogram = (series: string) =>
    [...bins]
      .filter((r) => r.series === series)
      .map((r) => ({ jobType: r.job_type, status: r.status, counts: numbers(r.counts).map((n) => n ?? 0) }));
  return {
    totals: [...totals].map((r) => ({
      jobType: r.job_type,
      status: r.status,
      jobs: Number(r.jobs),
      timed: Number(r.timed),
      durationSum: Number(r.duration_sum),
      waited: Number(r.waited),
      waitSum: Number(r.wait_sum),
    })),
    bounds,
    durations: histogram('duration'),
    waits: histogram('wait'),
  };
}

/** An int8[] as the drivers return it (an array, or its text form `{1,2,NULL}`). */
function numbers(value: unknown): (number | null)[] {
  if (value === null || value === undefined) return [];
  const items = Array.isArray(value) ? value : String(value).replace(/^\{|\}$/g, '').split(',');
  return items.map((v) => (v === null || v === 'NULL' ? null : Number(v)));
}
