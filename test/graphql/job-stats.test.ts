import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobExecutions, type JobExecution } from '../../src/db/schema.js';
import { HISTOGRAM_RELATIVE_ERROR } from '../../src/jobs/read/index.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { generateExecutions, insertExecutions } from '../helpers/factories.js';
import { errorCodes, graphql, graphqlData } from '../helpers/graphql.js';
import { GUIDE_SQL } from '../helpers/guide-sql.js';

/** percentile_cont: linear interpolation between the closest ranks. */
function percentileCont(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const position = p * (sorted.length - 1);
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

/** A percentile read from the rollup histograms: within the bins' stated relative error of the exact one. */
export function expectWithinHistogramError(actual: number | null, exact: number): void {
  expect(actual).not.toBeNull();
  expect(Math.abs(actual! - exact), `${actual} vs ${exact}`).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR * Math.abs(exact) + 1e-9);
}

const durationOf = (r: JobExecution) =>
  r.startedAt && r.completedAt ? (r.completedAt.getTime() - r.startedAt.getTime()) / 1000 : null;
const durationsOf = (rows: JobExecution[]) => rows.map(durationOf).filter((d): d is number => d !== null);
const upper = (s: string) => s.toUpperCase();

type Stat = {
  jobType: string;
  status: string;
  count: number;
  avgDurationSeconds: number | null;
  p50DurationSeconds: number | null;
  p95DurationSeconds: number | null;
  p99DurationSeconds: number | null;
};

describe(`jobStats, slowJobs, jobThroughput, stuckJobs, jobHealth on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;
  let rows: JobExecution[];
  const query = <T>(document: string, variables: Record<string, unknown> = {}) =>
    graphqlData<T, Record<string, unknown>>(t.baseUrl, document, { variables });

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp(database.handle);
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  it('answers an empty database: HEALTHY with a failure rate of 0, no stats, zero buckets', async () => {
    const data = await query<{ jobHealth: unknown; jobStats: unknown[]; slowJobs: unknown[]; stuckJobs: unknown[]; jobThroughput: unknown[] }>(`{
      jobHealth { status totalJobs failedJobs failureRate stuckJobs byStatus { status count } windowMinutes failureRateThreshold }
      jobStats { jobType }
      slowJobs { jobType }
      stuckJobs { jobId }
      jobThroughput(since: "2026-01-01T00:00:00Z", until: "2026-01-01T03:00:00Z") { bucketStart enqueued completed failed }
    }`);
    expect(data.jobHealth).toEqual({
      status: 'HEALTHY',
      totalJobs: 0,
      failedJobs: 0,
      failureRate: 0,
      stuckJobs: 0,
      byStatus: [],
      windowMinutes: 60,
      failureRateThreshold: 0.05,
    });
    expect(data.jobStats).toEqual([]);
    expect(data.slowJobs).toEqual([]);
    expect(data.stuckJobs).toEqual([]);
    expect(data.jobThroughput).toEqual(
      ['00', '01', '02'].map((h) => ({ bucketStart: `2026-01-01T${h}:00:00.000Z`, enqueued: 0, completed: 0, failed: 0 })),
    );
  });

  describe('over generated rows', () => {
    beforeAll(async () => {
      await insertExecutions(database.handle.db, generateExecutions({ count: 400, seed: 42, spanMinutes: 240 }));
      rows = await database.handle.db.select().from(jobExecutions);
    });

    it("jobStats: final statuses equal the guide's statistics SQL run verbatim; every status counted; percentiles", async () => {
      const { jobStats } = await query<{ jobStats: Stat[] }>(
        '{ jobStats { jobType status count avgDurationSeconds p50DurationSeconds p95DurationSeconds p99DurationSeconds } }',
      );
      const guide = await database.handle.query<{ job_type: string; status: string; count: unknown; avg_duration_seconds: unknown }>(
        GUIDE_SQL.statistics,
      );
      expect(guide.length).toBeGreaterThan(5);
      for (const g of guide) {
        const ours = jobStats.find((s) => s.jobType === g.job_type && s.status === upper(g.status));
        expect(ours, `${g.job_type}/${g.status}`).toBeDefined();
        expect(ours!.count).toBe(Number(g.count));
        if (g.avg_duration_seconds === null) expect(ours!.avgDurationSeconds).toBeNull();
        else expect(ours!.avgDurationSeconds).toBeCloseTo(Number(g.avg_duration_seconds), 6);
      }
      // The guide sees only rows with completed_at; jobStats counts every status.
      const groups = new Map<string, JobExecution[]>();
      for (const r of rows) groups.set(`${r.jobType}/${upper(r.status)}`, [...(groups.get(`${r.jobType}/${upper(r.status)}`) ?? []), r]);
      expect(jobStats.map((s) => `${s.jobType}/${s.status}`).sort()).toEqual([...groups.keys()].sort());
      expect(jobStats.some((s) => s.status === 'PENDING')).toBe(true);
      expect(jobStats.some((s) => s.status === 'PROCESSING')).toBe(true);
      for (const stat of jobStats) {
        const group = groups.get(`${stat.jobType}/${stat.status}`)!;
        expect(stat.count).toBe(group.length);
        const durations = durationsOf(group);
        if (durations.length === 0) {
          expect([stat.avgDurationSeconds, stat.p50DurationSeconds, stat.p95DurationSeconds, stat.p99DurationSeconds]).toEqual([null, null, null, null]);
          continue;
        }
        expectWithinHistogramError(stat.p50DurationSeconds, percentileCont(durations, 0.5)!);
        expectWithinHistogramError(stat.p95DurationSeconds, percentileCont(durations, 0.95)!);
        expectWithinHistogramError(stat.p99DurationSeconds, percentileCont(durations, 0.99)!);
      }
    });

    it('jobStats: since, until and jobType narrow the rows by creation time and type', async () => {
      const sorted = [...rows].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
      const since = sorted[100]!.createdAt;
      const until = sorted[300]!.createdAt;
      const { jobStats } = await query<{ jobStats: Stat[] }>(
        'query($since: DateTime, $until: DateTime) { jobStats(since: $since, until: $until, jobType: "send-email") { jobType status count } }',
        { since: since.toISOString(), until: until.toISOString() },
      );
      const expected = rows.filter((r) => r.jobType === 'send-email' && r.createdAt >= since && r.createdAt < until);
      expect(jobStats.every((s) => s.jobType === 'send-email')).toBe(true);
      expect(jobStats.reduce((sum, s) => sum + s.count, 0)).toBe(expected.length);
    });

    it("slowJobs: equals the guide's slower-than-30 s query, as the guide writes it; thresholds and since", async () => {
      // The guide's Performance Monitoring query, verbatim.
      const db = database.handle.db;
      const slowJobs = await db
        .select({
          jobType: jobExecutions.jobType,
          avgDuration: sql<number>`AVG(EXTRACT(EPOCH FROM (completed_at - started_at)))`,
          count: sql<number>`count(*)::int`,
        })
        .from(jobExecutions)
        .where(sql`completed_at IS NOT NULL`)
        .groupBy(jobExecutions.jobType)
        .having(sql`AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) > 30`); // Slower than 30s
      expect(slowJobs.length).toBeGreaterThan(0);

      type Slow = { jobType: string; count: number; avgDurationSeconds: number; p95DurationSeconds: number | null };
      const ours = (await query<{ slowJobs: Slow[] }>('{ slowJobs { jobType count avgDurationSeconds p95DurationSeconds } }')).slowJobs;
      expect(ours.map((s) => s.jobType).sort()).toEqual(slowJobs.map((s) => s.jobType).sort());
      for (const s of ours) {
        const guide = slowJobs.find((g) => g.jobType === s.jobType)!;
        expect(s.count).toBe(Number(guide.count));
        expect(s.avgDurationSeconds).toBeCloseTo(Number(guide.avgDuration), 6);
        const finished = rows.filter((r) => r.jobType === s.jobType && r.completedAt !== null);
        expectWithinHistogramError(s.p95DurationSeconds, percentileCont(durationsOf(finished), 0.95)!);
      }

      // A lower threshold: every type whose finished jobs average above it, slowest first.
      const averages = [...new Set(rows.map((r) => r.jobType))]
        .map((jobType) => {
          const d = durationsOf(rows.filter((r) => r.jobType === jobType && r.completedAt !== null));
          return { jobType, avg: d.reduce((a, b) => a + b, 0) / d.length };
        })
        .filter((a) => a.avg > 5)
        .sort((a, b) => b.avg - a.avg);
      const low = (await query<{ slowJobs: Slow[] }>('{ slowJobs(thresholdSeconds: 5) { jobType } }')).slowJobs;
      expect(low.map((s) => s.jobType)).toEqual(averages.map((a) => a.jobType));

      const future = (await query<{ slowJobs: Slow[] }>('{ slowJobs(thresholdSeconds: 0, since: "2999-01-01T00:00:00Z") { jobType } }')).slowJobs;
      expect(future).toEqual([]);
    });

    it('jobThroughput: every minute bucket, zeros included, counts by createdAt and completedAt', async () => {
      const until = new Date(Math.ceil(Date.now() / 60_000) * 60_000);
      const since = new Date(until.getTime() - 180 * 60_000);
      type Bucket = { bucketStart: string; enqueued: number; completed: number; failed: number };
      const { jobThroughput } = await query<{ jobThroughput: Bucket[] }>(
        'query($since: DateTime, $until: DateTime) { jobThroughput(since: $since, until: $until, bucket: MINUTE) { bucketStart enqueued completed failed } }',
        { since: since.toISOString(), until: until.toISOString() },
      );
      expect(jobThroughput).toHaveLength(180);
      const inBucket = (d: Date | null, start: number) => d !== null && d.getTime() >= start && d.getTime() < start + 60_000;
      jobThroughput.forEach((bucket, i) => {
        const start = since.getTime() + i * 60_000;
        expect(bucket.bucketStart).toBe(new Date(start).toISOString());
        expect(bucket).toEqual({
          bucketStart: bucket.bucketStart,
          enqueued: rows.filter((r) => inBucket(r.createdAt, start)).length,
          completed: rows.filter((r) => r.status === 'completed' && inBucket(r.completedAt, start)).length,
          failed: rows.filter((r) => r.status === 'failed' && inBucket(r.completedAt, start)).length,
        });
      });
      expect(jobThroughput.some((b) => b.enqueued === 0 && b.completed === 0 && b.failed === 0)).toBe(true);
      expect(jobThroughput.reduce((sum, b) => sum + b.enqueued, 0)).toBeGreaterThan(100);

      const hours = (await query<{ jobThroughput: Bucket[] }>('{ jobThroughput(jobType: "generate-report") { bucketStart enqueued } }')).jobThroughput;
      expect(hours).toHaveLength(24);
      expect(hours.at(-1)!.bucketStart).toBe(new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000).toISOString());
      const since24 = Date.parse(hours[0]!.bucketStart);
      expect(hours.reduce((sum, b) => sum + b.enqueued, 0)).toBe(
        rows.filter((r) => r.jobType === 'generate-report' && r.createdAt.getTime() >= since24).length,
      );

      const days = (await query<{ jobThroughput: Bucket[] }>('{ jobThroughput(bucket: DAY, since: "2026-01-01T12:00:00Z", until: "2026-01-04T00:00:00Z") { bucketStart } }')).jobThroughput;
      expect(days.map((b) => b.bucketStart)).toEqual(['2026-01-01', '2026-01-02', '2026-01-03'].map((d) => `${d}T00:00:00.000Z`));
    });

    it('jobThroughput: a reversed window or too many buckets is BAD_USER_INPUT', async () => {
      const reversed = await graphql(t.baseUrl, '{ jobThroughput(since: "2026-01-02T00:00:00Z", until: "2026-01-01T00:00:00Z") { bucketStart } }');
      expect(errorCodes(reversed)).toEqual(['BAD_USER_INPUT']);
      const huge = await graphql(t.baseUrl, '{ jobThroughput(bucket: MINUTE, since: "2025-01-01T00:00:00Z", until: "2026-01-01T00:00:00Z") { bucketStart } }');
      expect(errorCodes(huge)).toEqual(['BAD_USER_INPUT']);
    });

    it('stuckJobs: processing and started longer ago than the threshold, oldest first', async () => {
      for (const minutes of [10, 60]) {
        const { stuckJobs } = await query<{ stuckJobs: { jobId: string; status: string; startedAt: string }[] }>(
          'query($m: Int) { stuckJobs(olderThanMinutes: $m) { jobId status startedAt } }',
          { m: minutes },
        );
        const cutoff = Date.now() - minutes * 60_000;
        const expected = rows
          .filter((r) => r.status === 'processing' && r.startedAt!.getTime() < cutoff)
          .sort((a, b) => a.startedAt!.getTime() - b.startedAt!.getTime());
        expect(expected.length).toBeGreaterThan(0);
        expect(stuckJobs.map((s) => s.jobId).sort()).toEqual(expected.map((r) => r.jobId).sort());
        expect(stuckJobs.map((s) => s.startedAt)).toEqual(expected.map((r) => r.startedAt!.toISOString()));
        expect(stuckJobs.every((s) => s.status === 'PROCESSING')).toBe(true);
      }
    });

    it("jobHealth: the guide's health route numbers over the window; UNHEALTHY at the threshold", async () => {
      type Health = { status: string; totalJobs: number; failedJobs: number; failureRate: number; stuckJobs: number; byStatus: { status: string; count: number }[] };
      const { jobHealth } = await query<{ jobHealth: Health }>('{ jobHealth { status totalJobs failedJobs failureRate stuckJobs byStatus { status count } } }');
      // The guide's route query (its drizzle where clause as SQL).
      const guide = await database.handle.query<{ status: string; count: number }>(
        "SELECT status, count(*)::int AS count FROM job_executions WHERE created_at > NOW() - INTERVAL '1 hour' GROUP BY status",
      );
      const total = guide.reduce((sum, s) => sum + Number(s.count), 0);
      const failed = Number(guide.find((s) => s.status === 'failed')?.count ?? 0);
      expect(total).toBeGreaterThan(0);
      expect(jobHealth.totalJobs).toBe(total);
      expect(jobHealth.failedJobs).toBe(failed);
      expect(jobHealth.failureRate).toBeCloseTo(failed / total, 10);
      expect(jobHealth.status).toBe(failed / total < 0.05 ? 'HEALTHY' : 'UNHEALTHY');
      expect(jobHealth.byStatus.map((s) => [s.status, s.count]).sort()).toEqual(guide.map((s) => [upper(s.status), Number(s.count)]).sort());
      const stuck = rows.filter((r) => r.status === 'processing' && r.startedAt!.getTime() < Date.now() - 10 * 60_000).length;
      expect(jobHealth.stuckJobs).toBe(stuck);

      const at = (threshold: number) =>
        query<{ jobHealth: Health }>('query($t: Float) { jobHealth(windowMinutes: 240, failureRateThreshold: $t) { status failureRate } }', { t: threshold });
      const { failureRate } = (await at(0.05)).jobHealth;
      expect(failureRate).toBeGreaterThan(0);
      expect((await at(failureRate)).jobHealth.status).toBe('UNHEALTHY');
      expect((await at(failureRate + 0.0001)).jobHealth.status).toBe('HEALTHY');
    });
  });
});
