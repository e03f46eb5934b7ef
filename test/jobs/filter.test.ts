import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { durationSeconds, jobExecutions, type JobExecution } from '../../src/db/schema.js';
import {
  answerableFromRollups,
  countJobExecutions,
  HISTOGRAM_RELATIVE_ERROR,
  jobFilterCondition,
  jobStatistics,
  jobThroughput,
  listJobExecutions,
  matchesJobFilter,
  parseJobFilter,
  type JobFilter,
} from '../../src/jobs/read/index.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { generateExecutions, insertExecutions } from '../helpers/factories.js';

const NOW = new Date('2026-03-02T12:00:00Z');

/** Generated jobs, some retried several times and some created by one of two schedules. */
const ROWS = generateExecutions({ count: 900, now: NOW, spanMinutes: 600, prefix: 'flt' }).map((row, i) => ({
  ...row,
  retryCount: i % 9 === 0 ? 2 + (i % 4) : row.retryCount,
  scheduleId: i % 13 === 0 ? `scd_${i % 2}` : null,
}));

describe(`JobFilter on ${databaseKind}: every field against hand-written SQL`, () => {
  let database: TestDatabase;
  let rows: JobExecution[];
  const db = () => database.handle.db;

  beforeAll(async () => {
    database = await createTestDatabase();
    await insertExecutions(db(), ROWS);
    rows = (await db().select().from(jobExecutions)) as JobExecution[];
  });
  afterAll(async () => {
    await database?.destroy();
  });

  /** The job ids the plain SQL names, sorted. */
  const oracle = async (where: string, params: unknown[] = []) =>
    (await database.handle.query<{ job_id: string }>(`SELECT job_id FROM job_executions WHERE ${where} ORDER BY job_id`, params)).map((r) => r.job_id);

  /** The filter's count, list and JS predicate all name exactly the rows the plain SQL names. */
  const expectSame = async (filter: JobFilter, where: string, params: unknown[] = [], options: { empty?: boolean } = {}) => {
    const expected = await oracle(where, params);
    if (!options.empty) expect(expected.length, where).toBeGreaterThan(0);
    expect(expected.length, where).toBeLessThan(rows.length);
    expect(await countJobExecutions(db(), filter), where).toBe(expected.length);
    const page = await listJobExecutions(db(), { filter, first: 500, cursors: false });
    expect(page.hasNextPage).toBe(false);
    expect(page.edges.map((e) => e.node.jobId).sort(), where).toEqual(expected);
    expect(rows.filter((row) => matchesJobFilter(filter, row)).map((r) => r.jobId).sort(), `${where} (JS predicate)`).toEqual(expected);
  };
  const at = (i: number) => [...rows].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime())[i]!.createdAt;
  const completedAt = (i: number) =>
    rows.flatMap((r) => (r.completedAt ? [r.completedAt] : [])).sort((a, b) => a.getTime() - b.getTime())[i]!;

  it('status', () => expectSame({ status: ['failed', 'cancelled'] }, `status IN ('failed', 'cancelled')`));
  // One value is written as an equality, more as = ANY: different statements, which the list
  // prepares once each (the tests alternate between them on one database).
  it('status: one value', () => expectSame({ status: ['failed'] }, `status = 'failed'`));
  it('jobType: one value', () => expectSame({ jobType: ['generate-report'] }, `job_type = 'generate-report'`));
  it('jobId: one value', () => expectSame({ jobId: ['flt-00007'] }, `job_id = 'flt-00007'`));
  it('status: an empty list matches nothing', () => expectSame({ status: [] }, 'false', [], { empty: true }));
  it('jobType', () => expectSame({ jobType: ['generate-report', 'nope'] }, `job_type IN ('generate-report', 'nope')`));
  it('jobId', () => expectSame({ jobId: ['flt-00001', 'flt-00007', 'flt-00400', 'missing'] }, `job_id IN ('flt-00001', 'flt-00007', 'flt-00400', 'missing')`));
  it('createdAfter (inclusive)', () => expectSame({ createdAfter: at(500) }, 'created_at >= $1', [at(500).toISOString()]));
  it('createdBefore (exclusive)', () => expectSame({ createdBefore: at(300) }, 'created_at < $1', [at(300).toISOString()]));
  it('completedAfter (inclusive)', () => expectSame({ completedAfter: completedAt(200) }, 'completed_at >= $1', [completedAt(200).toISOString()]));
  it('completedBefore (exclusive)', () => expectSame({ completedBefore: completedAt(200) }, 'completed_at < $1', [completedAt(200).toISOString()]));
  it('errorContains: case-insensitive, % and _ literal', async () => {
    await expectSame({ errorContains: 'smtp' }, `lower(error) LIKE '%smtp%'`);
    await expectSame({ errorContains: '100%' }, `strpos(error, '100%') > 0`);
    await expectSame({ errorContains: '_' }, `strpos(error, '_') > 0`);
  });
  it('userId', () => expectSame({ userId: 'user-3' }, `user_id = 'user-3'`));
  it('organizationId', () => expectSame({ organizationId: 'org-1' }, `organization_id = 'org-1'`));
  it('payloadContains', () =>
    expectSame(
      { payloadContains: { tag: 'even', nested: { bucket: 2 } } },
      `payload->'payload'->>'tag' = 'even' AND payload->'payload'->'nested'->>'bucket' = '2'`,
    ));
  it('retryCountAtLeast', () => expectSame({ retryCountAtLeast: 3 }, 'retry_count >= 3'));
  it('durationAtLeastSeconds', () =>
    expectSame({ durationAtLeastSeconds: 30.5 }, `completed_at - started_at >= interval '30.5 seconds'`));
  it('scheduleId', () => expectSame({ scheduleId: 'scd_1' }, `schedule_id = 'scd_1'`));
  it('many fields at once, and a combination', async () => {
    await expectSame(
      { status: ['completed'], jobType: ['send-email'], organizationId: 'org-0', retryCountAtLeast: 2 },
      `status = 'completed' AND job_type = 'send-email' AND organization_id = 'org-0' AND retry_count >= 2`,
    );
    const all: JobFilter = {
      status: ['failed'],
      jobType: ['send-email', 'resize-image'],
      jobId: rows.map((r) => r.jobId).slice(0, 900),
      createdAfter: at(10),
      createdBefore: at(890),
      completedAfter: completedAt(5),
      completedBefore: completedAt(600),
      errorContains: 'o',
      userId: 'user-2',
      payloadContains: { tag: 'odd' },
      retryCountAtLeast: 0,
      durationAtLeastSeconds: 0,
      scheduleId: undefined,
    };
    await expectSame(
      all,
      `status = 'failed' AND job_type IN ('send-email', 'resize-image') AND created_at >= $1 AND created_at < $2
       AND completed_at >= $3 AND completed_at < $4 AND lower(error) LIKE '%o%' AND user_id = 'user-2'
       AND payload->'payload'->>'tag' = 'odd' AND retry_count >= 0 AND completed_at - started_at >= interval '0'`,
      [at(10).toISOString(), at(890).toISOString(), completedAt(5).toISOString(), completedAt(600).toISOString()],
    );
  });

  it('statistics from the rollups (status, type, creation time) equal those from the rows', async () => {
    const filter: JobFilter = { status: ['completed', 'failed'], jobType: ['send-email', 'generate-report'], createdAfter: at(100), createdBefore: at(800) };
    expect(answerableFromRollups(filter)).toBe(true);
    const oracleStats = await database.handle.query<{ job_type: string; status: string; n: unknown; avg: unknown; p95: unknown }>(
      `SELECT job_type, status, count(*) AS n, avg(EXTRACT(EPOCH FROM (completed_at - started_at))) AS avg,
              percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (completed_at - started_at))) AS p95
       FROM job_executions WHERE status IN ('completed', 'failed') AND job_type IN ('send-email', 'generate-report')
         AND created_at >= $1 AND created_at < $2
       GROUP BY job_type, status ORDER BY job_type, status`,
      [at(100).toISOString(), at(800).toISOString()],
    );
    const fromRollups = await jobStatistics(db(), { filter });
    expect(fromRollups.map((s) => [s.jobType, s.status, s.count])).toEqual(oracleStats.map((r) => [r.job_type, r.status, Number(r.n)]));
    fromRollups.forEach((s, i) => {
      expect(s.avgDurationSeconds!).toBeCloseTo(Number(oracleStats[i]!.avg), 6);
      const exact = Number(oracleStats[i]!.p95);
      expect(Math.abs(s.p95DurationSeconds! - exact)).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR * exact + 1e-9);
    });
    // The deprecated window arguments are the same filter.
    expect(await jobStatistics(db(), { since: at(100), until: at(800), filter: { status: filter.status, jobType: ['send-email'] } })).toEqual(
      fromRollups.filter((s) => s.jobType === 'send-email'),
    );
  });

  it('statistics for any other field count the matching rows, exactly', async () => {
    const filter: JobFilter = { userId: 'user-3', retryCountAtLeast: 0 };
    expect(answerableFromRollups(filter)).toBe(false);
    const oracleStats = await database.handle.query<{ job_type: string; status: string; n: unknown; avg: unknown; p50: unknown; p99: unknown }>(
      `SELECT job_type, status, count(*) AS n, avg(EXTRACT(EPOCH FROM (completed_at - started_at))) AS avg,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (completed_at - started_at))) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM (completed_at - started_at))) AS p99
       FROM job_executions WHERE user_id = 'user-3' GROUP BY job_type, status ORDER BY job_type, status`,
    );
    const stats = await jobStatistics(db(), { filter });
    const num = (v: unknown) => (v === null ? null : Number(v));
    expect(stats.map((s) => [s.jobType, s.status, s.count, s.p50DurationSeconds, s.p99DurationSeconds])).toEqual(
      oracleStats.map((r) => [r.job_type, r.status, Number(r.n), num(r.p50), num(r.p99)]),
    );
    stats.forEach((s, i) => (s.avgDurationSeconds === null ? expect(oracleStats[i]!.avg).toBeNull() : expect(s.avgDurationSeconds).toBeCloseTo(Number(oracleStats[i]!.avg), 9)));
  });

  it('throughput with a filter, from the rollups (status, type) and from the rows (any other field)', async () => {
    const since = new Date('2026-03-02T02:20:00Z');
    const until = new Date('2026-03-02T11:40:00Z');
    const hour = (d: Date | null) => (d ? Math.floor(d.getTime() / 3_600_000) * 3_600_000 : null);
    const inWindow = (d: Date | null) => d !== null && d >= since && d < until;
    const expected = (filter: JobFilter) => {
      const matching = rows.filter((r) => matchesJobFilter(filter, r));
      const buckets: number[] = [];
      for (let b = hour(since)!; b < until.getTime(); b += 3_600_000) buckets.push(b);
      return buckets.map((b) => ({
        bucketStart: new Date(b),
        enqueued: matching.filter((r) => inWindow(r.createdAt) && hour(r.createdAt) === b).length,
        completed: matching.filter((r) => r.status === 'completed' && inWindow(r.completedAt) && hour(r.completedAt) === b).length,
        failed: matching.filter((r) => r.status === 'failed' && inWindow(r.completedAt) && hour(r.completedAt) === b).length,
      }));
    };
    for (const filter of [{ status: ['failed', 'retrying'], jobType: ['send-email'] }, { organizationId: 'org-1' }, { retryCountAtLeast: 2 }] as JobFilter[]) {
      const ours = await jobThroughput(db(), { since, until, bucket: 'hour', filter });
      expect(ours, JSON.stringify(filter)).toEqual(expected(filter));
      expect(ours.some((b) => b.enqueued > 0)).toBe(true);
    }
  });

  it('rejects bad input with one BAD_USER_INPUT naming every bad field', () => {
    const bad = (input: unknown) => {
      try {
        parseJobFilter(input);
      } catch (error) {
        return { code: (error as { code?: string }).code, message: (error as Error).message };
      }
      return undefined;
    };
    expect(bad({ retryCountAtLeast: -1, durationAtLeastSeconds: -0.5 })).toEqual({
      code: 'BAD_USER_INPUT',
      message: expect.stringMatching(/filter\.retryCountAtLeast: .*; filter\.durationAtLeastSeconds: /),
    });
    expect(bad({ createdAfter: new Date('nope') })?.message).toMatch(/filter\.createdAfter: must be a valid date and time/);
    expect(bad({ jobId: Array.from({ length: 1001 }, (_, i) => `j${i}`) })?.code).toBe('BAD_USER_INPUT');
    expect(bad({ status: ['lost'] })?.code).toBe('BAD_USER_INPUT');
    expect(bad({ colour: 'red' })?.message).toMatch(/colour/);
    expect(bad({ retryCountAtLeast: null, userId: null })).toBeUndefined();
  });
});

describe(`JobFilter on ${databaseKind}: a selective filtered count is an index scan`, () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
    // 30k jobs: a few retried 5+ times, a few long ones, a few from one schedule.
    await database.handle.query(`
      INSERT INTO job_executions (job_id, job_type, status, payload, retry_count, user_id, created_at, started_at, completed_at, schedule_id)
      SELECT 'ix-' || i, 'send-email', 'completed', jsonb_build_object('payload', jsonb_build_object('i', i)),
             CASE WHEN i % 2000 = 0 THEN 5 ELSE i % 2 END, 'user-' || (i % 500),
             timestamptz '2026-03-01' + i * interval '1 second', timestamptz '2026-03-01' + i * interval '1 second',
             timestamptz '2026-03-01' + i * interval '1 second' + CASE WHEN i % 3000 = 0 THEN interval '2 hours' ELSE interval '2 seconds' END,
             CASE WHEN i % 2500 = 0 THEN 'scd_rare' END
      FROM generate_series(1, 30000) AS i`);
    await database.handle.query('ANALYZE job_executions');
  });
  afterAll(async () => {
    await database?.destroy();
  });

  /** The plan of the count countJobExecutions runs for `filter`, as the index names it uses (none: a sequential scan). */
  const indexesOf = async (filter: JobFilter) => {
    const query = database.handle.db
      .select({ count: sql<number>`count(*)::int` })
      .from(jobExecutions)
      .where(jobFilterCondition(filter))
      .toSQL();
    const [row] = await database.handle.query<Record<string, unknown>>(`EXPLAIN (FORMAT JSON) ${query.sql}`, query.params);
    const plan = JSON.stringify(Object.values(row!)[0]);
    return { plan, indexes: [...plan.matchAll(/"Index Name":\s*"([a-z_]+)"/g)].map((m) => m[1]!), sequential: plan.includes('Seq Scan') };
  };

  it.each([
    ['retryCountAtLeast', { retryCountAtLeast: 5 }, 'job_executions_retry_count_idx'],
    ['durationAtLeastSeconds', { durationAtLeastSeconds: 3600 }, 'job_executions_duration_idx'],
    ['scheduleId', { scheduleId: 'scd_rare' }, 'job_executions_schedule_id_idx'],
    ['userId', { userId: 'user-7' }, 'job_executions_user_id_idx'],
    ['jobId', { jobId: ['ix-1', 'ix-2'] }, 'job_executions_pkey'],
    ['completedAfter', { completedAfter: new Date('2026-03-01T08:19:00Z') }, 'job_executions_completed_at_idx'],
    ['payloadContains', { payloadContains: { i: 77 } }, 'job_executions_payload_gin_idx'],
  ] as [string, JobFilter, string][])('%s', async (_name, filter, index) => {
    const { plan, indexes, sequential } = await indexesOf(filter);
    expect(indexes, plan).toContain(index);
    expect(sequential, plan).toBe(false);
  });

  it('the duration index is over the expression the filter and the ordering use', async () => {
    // One definition (schema.ts' durationSeconds): the same text in the index and the condition.
    const [index] = await database.handle.query<{ def: string }>(
      `SELECT pg_get_indexdef('job_executions_duration_idx'::regclass) AS def`,
    );
    expect(index!.def).toMatch(/EXTRACT\(epoch FROM \(completed_at - started_at\)\)/i);
    // The list ordered by duration ascending (NULLS LAST, the btree's own order) reads the same index.
    const list = database.handle.db
      .select({ jobId: jobExecutions.jobId })
      .from(jobExecutions)
      .orderBy(sql`${durationSeconds(jobExecutions)} ASC NULLS LAST`)
      .limit(10)
      .toSQL();
    const [row] = await database.handle.query<Record<string, unknown>>(`EXPLAIN (FORMAT JSON) ${list.sql}`, list.params);
    expect(JSON.stringify(Object.values(row!)[0])).toContain('job_executions_duration_idx');
  });
});
