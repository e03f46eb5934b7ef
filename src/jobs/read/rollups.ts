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
import { jobFilterCondition, rollupFilterCondition, type JobFilter } from './filter.js';

/**
 * How the statistics read the rollups (tables job_rollups, job_rollup_bins, job_rollup_minutes;
 * kept by the triggers of drizzle/*_rollups and *_rollup_deltas). Every read sums a rollup
 * table's rows together with its pending deltas ({@link rollupRows} and its siblings): the
 * triggers append deltas, a compaction moves them into the rollups atomically, so the sum is
 * exact at any instant, compacted or not. A window [since, until) is answered as a signed sum
 * ({@link planWindow}) of whole UTC days and hours read from the rollups and of the rows between
 * each end and the nearest hour boundary, counted exactly from `job_executions` over the indexed
 * timestamp (added when the boundary is inside the window, subtracted when it is outside: at most
 * half an hour's rows at each end). Counts, sums and histogram bins are integers or numerics, so
 * the sum is exact for every window; percentiles come from the merged histograms.
 *
 * Histogram: bin i holds the values in (2^((i-1)/8), 2^(i/8)] seconds; its representative value
 * (`jobscope_bin_value(i)`) is within {@link HISTOGRAM_RELATIVE_ERROR} of every value in it. A
 * percentile is interpolated, as percentile_cont does, between the representatives of the two
 * ranks percentile_cont interpolates between, so it is within that relative error of
 * percentile_cont over the same rows when those two values have the same sign; when they straddle
 * zero (negative durations) the bound is that error times (1−f)·|low| + f·|high|.
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

export const DAY_MS = 86_400_000;

/** A bucket size of the `job_rollups` / `job_rollup_bins` series: the `_day` series or the hourly ones. */
export type RollupGrain = 'day' | 'hour';
const GRAIN_MS: Record<RollupGrain, number> = { day: DAY_MS, hour: HOUR_MS };

/** A half-open range counted `sign` times: a window is a signed sum of such ranges. */
export interface SignedRange extends TimeRange {
  sign: number;
}

/**
 * A window [since, until) as a signed sum of whole days, whole hours and exactly scanned ranges of
 * `job_executions`: `days` and `hours` select rollup buckets by `bucket_start` (each range holds
 * whole buckets of its size), `scans` select rows by timestamp. Within each list the ranges are
 * disjoint. Summing every selected row times its range's sign counts each instant of the window
 * once and every other instant zero times, so counts, sums and histogram bins are exact.
 */
export interface WindowPlan {
  days: SignedRange[];
  hours: SignedRange[];
  scans: SignedRange[];
}

/**
 * Plans the cheapest reading of [since, until) (an open end unbounded; not both open: the
 * all-time rows answer that) from buckets of `grains` (coarsest first, e.g. `['day', 'hour']`;
 * a throughput of hourly buckets passes `['hour']` so that no row spans two of its buckets) and
 * scans. Each end of the window is moved to the bucket boundary below or above it, whichever
 * leaves less to scan: the scan adds the rows between the end and the boundary, or subtracts
 * them (an hour's rollup minus its first minutes, when the window starts late in the hour). At
 * 1M rows a scanned hour cost ~2 ms (the duration bins of ~1,800 rows), so a window starting at
 * minute 55 now scans 5 minutes, not 55 or 60. Then, from the hourly boundaries, the same choice
 * between hours and days, fewest buckets: the last 24 hours at 05:07 read 2 days less 5 hours
 * (and less 7 scanned minutes), not 24 hours; 30 days read 30 days. `now` only estimates what an
 * open end costs.
 */
export function planWindow(since: Date | undefined, until: Date | undefined, grains: readonly RollupGrain[], now = new Date()): WindowPlan {
  const a = since?.getTime() ?? -Infinity;
  const b = until?.getTime() ?? Infinity;
  if (!(a < b)) return { days: [], hours: [], scans: [] };
  const pieces: { level: 'scan' | RollupGrain; from: number; to: number; sign: number }[] = [];
  // seg(x, y) for y < x is the range [y, x) counted negatively: the ranges telescope.
  const segment = (level: 'scan' | RollupGrain, x: number, y: number, sign: number) => {
    if (x < y) pieces.push({ level, from: x, to: y, sign });
    else if (y < x) pieces.push({ level, from: y, to: x, sign: -sign });
  };
  const floor = (t: number, step: number) => (Number.isFinite(t) ? Math.floor(t / step) * step : t);
  const ceil = (t: number, step: number) => (Number.isFinite(t) ? Math.ceil(t / step) * step : t);
  const gap = (x: number, y: number) => (x === y ? 0 : Math.abs(x - y));
  const nowMs = now.getTime();
  // Buckets of `step` a range reads; an open right end is estimated at `now` (later buckets hold
  // nothing yet), an open left end cannot be read in finer buckets when coarser ones exist.
  const buckets = (x: number, y: number, step: number) => {
    if (x === y) return 0;
    const [lo, hi] = x < y ? [x, y] : [y, x];
    if (lo === -Infinity) return 1e9 / step;
    return Math.max(0, Math.min(hi, Math.max(lo, ceil(nowMs, step))) - lo) / step;
  };

  const finest = grains[grains.length - 1]!;
  const fine = GRAIN_MS[finest];
  // Level 1: scan the ends, or subtract them, or (a window within an hour or two) scan it all.
  let best: { a: number; b: number; scanned: number } | undefined;
  for (const x of new Set([floor(a, fine), ceil(a, fine)])) {
    for (const y of new Set([floor(b, fine), ceil(b, fine)])) {
      const scanned = gap(a, x) + gap(b, y);
      if (!best || scanned < best.scanned || (scanned === best.scanned && gap(x, y) < gap(best.a, best.b))) best = { a: x, b: y, scanned };
    }
  }
  if (Number.isFinite(a) && Number.isFinite(b) && b - a <= best!.scanned) {
    segment('scan', a, b, 1);
    return normalize(pieces);
  }
  const { a: ha, b: hb } = best!;
  segment('scan', a, ha, 1);
  segment('scan', hb, b, 1);
  if (grains.length === 1) {
    segment(finest, ha, hb, 1);
    return normalize(pieces);
  }
  // Level 2: whole hours, or days with hours added or subtracted at each end, fewest buckets.
  const coarse = GRAIN_MS[grains[0]!];
  let plan = { da: ha, db: ha, cost: buckets(ha, hb, fine) };
  for (const x of new Set([floor(ha, coarse), ceil(ha, coarse)])) {
    for (const y of new Set([floor(hb, coarse), ceil(hb, coarse)])) {
      const cost = buckets(ha, x, fine) + buckets(y, hb, fine) + buckets(x, y, coarse);
      if (cost < plan.cost) plan = { da: x, db: y, cost };
    }
  }
  if (plan.da === plan.db) {
    segment(finest, ha, hb, 1);
  } else {
    segment(finest, ha, plan.da, 1);
    segment(grains[0]!, plan.da, plan.db, 1);
    segment(finest, plan.db, hb, 1);
  }
  return normalize(pieces);
}

/** Per level, the pieces' signs summed into disjoint ranges (zero-sign ranges dropped). */
function normalize(pieces: { level: 'scan' | RollupGrain; from: number; to: number; sign: number }[]): WindowPlan {
  const level = (name: 'scan' | RollupGrain): SignedRange[] => {
    const mine = pieces.filter((p) => p.level === name);
    const points = [...new Set(mine.flatMap((p) => [p.from, p.to]))].sort((x, y) => x - y);
    const ranges: { from: number; to: number; sign: number }[] = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const [from, to] = [points[i]!, points[i + 1]!];
      const sign = mine.reduce((sum, p) => (p.from <= from && to <= p.to ? sum + p.sign : sum), 0);
      if (sign === 0) continue;
      const last = ranges[ranges.length - 1];
      if (last && last.to === from && last.sign === sign) last.to = to;
      else ranges.push({ from, to, sign });
    }
    const date = (t: number) => (Number.isFinite(t) ? new Date(t) : undefined);
    return ranges.map((r) => ({ from: date(r.from), to: date(r.to), sign: r.sign }));
  };
  return { days: level('day'), hours: level('hour'), scans: level('scan') };
}

/** A window's selection of rollup rows or scanned rows: the condition, and each row's sign. */
export interface Selection {
  where: SQL;
  sign: SQL;
}

function rangeCondition(column: SQL, r: TimeRange, excludeAllTime: boolean): SQL {
  const parts: SQL[] = [];
  if (r.from) parts.push(sql`${column} >= ${timestamptz(r.from)}`);
  else if (excludeAllTime) parts.push(sql`${column} > '-infinity'::timestamptz`);
  if (r.to) parts.push(sql`${column} < ${timestamptz(r.to)}`);
  return parts.length === 0 ? sql`true` : sql.join(parts, sql` AND `);
}

function select(branches: { condition: SQL; sign: number }[]): Selection {
  if (branches.length === 0) return { where: sql`false`, sign: sql`0` };
  return {
    where: sql`(${sql.join(branches.map((b) => sql`(${b.condition})`), sql` OR `)})`,
    sign: sql`(CASE ${sql.join(branches.map((b) => sql`WHEN ${b.condition} THEN ${sql.raw(String(b.sign))}`), sql` `)} END)`,
  };
}

/**
 * The rollup rows of a plan: series `series` (hourly) for its hours and `series`_day for its
 * days, by `bucket_start`. The all-time rows are never selected.
 */
export function planBuckets(plan: WindowPlan, series: string): Selection {
  const branch = (grainSeries: string, r: SignedRange) => ({
    // The series as a literal (a constant of this module): the planner matches it to the key index.
    condition: sql`series = ${sql.raw(`'${grainSeries}'`)} AND ${rangeCondition(sql`bucket_start`, r, true)}`,
    sign: r.sign,
  });
  return select([...plan.days.map((r) => branch(`${series}_day`, r)), ...plan.hours.map((r) => branch(series, r))]);
}

/** The `job_executions` rows a plan scans, by `column` (`created_at`, `completed_at`). */
export function planScans(plan: WindowPlan, column: SQL): Selection {
  return select(plan.scans.map((r) => ({ condition: rangeCondition(column, r, false), sign: r.sign })));
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
 * created series' all-time rows without a time condition, else its days and hours plus an exact
 * count of what the window's ends add or take away ({@link planWindow}). An empty list matches nothing.
 */
export async function countFromRollups(db: Database, filter: Pick<JobFilter, 'status' | 'jobType' | 'createdAfter' | 'createdBefore'>): Promise<number> {
  const rollup = rollupFilterCondition(filter);
  const scanned = jobFilterCondition({ status: filter.status, jobType: filter.jobType });
  const allTime = filter.createdAfter === undefined && filter.createdBefore === undefined;
  const plan = allTime ? { days: [], hours: [], scans: [] } : planWindow(filter.createdAfter, filter.createdBefore, ['day', 'hour']);
  const buckets = allTime ? { where: sql`series = 'created' AND bucket_start = '-infinity'::timestamptz`, sign: sql`1` } : planBuckets(plan, 'created');
  const edges = planScans(plan, sql`created_at`);
  const [row] = await db.execute<{ n: unknown }>(
    sql`
      SELECT coalesce(sum(n), 0) AS n FROM (
        SELECT sum(${buckets.sign} * jobs) AS n FROM ${rollupRows} rollup WHERE ${buckets.where} AND ${rollup}
        UNION ALL
        SELECT sum(${edges.sign}) FROM ${jobExecutions} WHERE ${edges.where} AND ${scanned}
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
