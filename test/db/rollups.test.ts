import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type DatabaseHandle } from '../../src/db/client.js';
import { compactRollups, vacuumRollupDeltas } from '../../src/db/rollups.js';
import { MIGRATIONS_FOLDER } from '../../src/db/migrate.js';
import {
  countJobExecutions,
  findSlowJobTypes,
  HISTOGRAM_RELATIVE_ERROR,
  jobStatistics,
  jobThroughput,
  type JobStatistic,
} from '../../src/jobs/read/index.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { generateExecutions, insertExecutions, random } from '../helpers/factories.js';
import { GUIDE_SQL } from '../helpers/guide-sql.js';

/**
 * The rollups' non-zero rows, in key order, as text: what the triggers keep, to compare with a
 * rebuild. By default each key's compacted row plus its pending deltas (what readers see);
 * `compacted` reads the rollup tables alone.
 */
async function rollupContents(db: Pick<Database, 'execute'>, { compacted = false } = {}): Promise<string[]> {
  const r = 'series, bucket_start, job_type, status, jobs, finished, timed, duration_sum, waited, wait_sum';
  const b = 'series, bucket_start, job_type, status, bin, n';
  const m = 'minute, job_type, enqueued, completed, failed';
  const union = (table: string, deltas: string, columns: string) =>
    compacted ? `SELECT ${columns} FROM ${table}` : `SELECT ${columns} FROM ${table} UNION ALL SELECT ${columns} FROM ${deltas}`;
  const result = await db.execute<{ line: string }>(sql.raw(`
    SELECT concat_ws('|', 'r', series, bucket_start::text, job_type, status::text, sum(jobs), sum(finished), sum(timed), trim_scale(sum(duration_sum))::text, sum(waited), trim_scale(sum(wait_sum))::text) AS line
    FROM (${union('job_rollups', 'job_rollup_deltas', r)}) s GROUP BY series, bucket_start, job_type, status
    HAVING (sum(jobs), sum(finished), sum(timed), sum(duration_sum), sum(waited), sum(wait_sum)) <> (0, 0, 0, 0, 0, 0)
    UNION ALL
    SELECT concat_ws('|', 'b', series, bucket_start::text, job_type, status::text, bin, sum(n))
    FROM (${union('job_rollup_bins', 'job_rollup_bin_deltas', b)}) s GROUP BY series, bucket_start, job_type, status, bin HAVING sum(n) <> 0
    UNION ALL
    SELECT concat_ws('|', 'm', minute::text, job_type, sum(enqueued), sum(completed), sum(failed))
    FROM (${union('job_rollup_minutes', 'job_rollup_minute_deltas', m)}) s GROUP BY minute, job_type
    HAVING (sum(enqueued), sum(completed), sum(failed)) <> (0, 0, 0)
    ORDER BY 1`), 'objects');
  return [...result].map((row) => row.line);
}

/** Pending delta rows, all three tables. */
async function pendingDeltas(handle: DatabaseHandle): Promise<number> {
  const [row] = await handle.query<{ n: unknown }>(
    `SELECT (SELECT count(*) FROM job_rollup_deltas) + (SELECT count(*) FROM job_rollup_bin_deltas) + (SELECT count(*) FROM job_rollup_minute_deltas) AS n`,
  );
  return Number(row!.n);
}

/** Compacts until no delta is left. */
async function compactAll(handle: DatabaseHandle): Promise<void> {
  while ((await compactRollups(handle)) > 0);
}

/** What a rebuild from the table gives, computed in a transaction that is rolled back. */
async function rebuiltContents(handle: DatabaseHandle): Promise<string[]> {
  let contents: string[] = [];
  const rollback = new Error('rollback');
  await handle.db
    .transaction(async (tx) => {
      await tx.execute(sql`SELECT jobscope_rebuild_rollups()`);
      contents = await rollupContents(tx);
      throw rollback;
    })
    .catch((error: unknown) => {
      if (error !== rollback) throw error;
    });
  return contents;
}

/**
 * How far a histogram percentile may be from percentile_cont(p) over `sorted`: each of the two
 * values percentile_cont interpolates between is read as its bin's representative, within ε of
 * it, so the interpolation is within ε·((1−f)·|low| + f·|high|). That is ε·|percentile| when both
 * have the same sign, but not when they straddle zero (negative durations, from clock skew or
 * edited rows): −52.2 s and +45.7 s interpolate to −3.26 s, and 4.3 % of each end is ~2 s there.
 */
function percentileBound(sorted: number[], p: number): number {
  const position = p * (sorted.length - 1);
  const f = position - Math.floor(position);
  return HISTOGRAM_RELATIVE_ERROR * ((1 - f) * Math.abs(sorted[Math.floor(position)]!) + f * Math.abs(sorted[Math.ceil(position)]!));
}

/** percentile_cont, count and the guide's AVG over jobs created in [since, until), durations and queue waits, in SQL: the oracle. */
async function oracleStats(handle: DatabaseHandle, since?: Date, until?: Date) {
  const rows = await handle.query<{ job_type: string; status: string; count: unknown; avg: unknown; p: unknown; avg_wait: unknown; w: unknown; ds: unknown; ws: unknown }>(
    `SELECT job_type, status::text AS status, count(*) AS count,
            AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) AS avg,
            percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY date_part('epoch', completed_at - started_at)) AS p,
            AVG(EXTRACT(EPOCH FROM (started_at - created_at))) AS avg_wait,
            percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY date_part('epoch', started_at - created_at)) AS w,
            array_agg(date_part('epoch', completed_at - started_at) ORDER BY 1) FILTER (WHERE completed_at - started_at IS NOT NULL)::text AS ds,
            array_agg(date_part('epoch', started_at - created_at) ORDER BY 1) FILTER (WHERE started_at IS NOT NULL)::text AS ws
     FROM job_executions
     WHERE ($1::timestamptz IS NULL OR created_at >= $1::timestamptz) AND ($2::timestamptz IS NULL OR created_at < $2::timestamptz)
     GROUP BY job_type, job_executions.status ORDER BY job_type, job_executions.status`,
    [since?.toISOString() ?? null, until?.toISOString() ?? null],
  );
  const percentiles = (value: unknown) =>
    value === null ? [null, null, null] : (Array.isArray(value) ? value : String(value).replace(/[{}]/g, '').split(',')).map((v) => (v === null || v === 'NULL' ? null : Number(v)));
  const bounds = (value: unknown) => {
    if (value === null) return [0, 0, 0];
    const sorted = String(value).replace(/[{}]/g, '').split(',').map(Number).sort((a, b) => a - b);
    return [0.5, 0.95, 0.99].map((p) => percentileBound(sorted, p));
  };
  return rows.map((r) => ({
    jobType: r.job_type,
    status: r.status,
    count: Number(r.count),
    avg: r.avg === null ? null : Number(r.avg),
    p: percentiles(r.p),
    pBound: bounds(r.ds),
    avgWait: r.avg_wait === null ? null : Number(r.avg_wait),
    w: percentiles(r.w),
    wBound: bounds(r.ws),
  }));
}

function expectStatsMatch(ours: JobStatistic[], oracle: Awaited<ReturnType<typeof oracleStats>>) {
  expect(ours.map((s) => `${s.jobType}/${s.status}`)).toEqual(oracle.map((o) => `${o.jobType}/${o.status}`));
  ours.forEach((s, i) => {
    const o = oracle[i]!;
    expect(s.count, `${o.jobType}/${o.status}`).toBe(o.count);
    if (o.avg === null) expect(s.avgDurationSeconds).toBeNull();
    else expect(s.avgDurationSeconds!).toBeCloseTo(o.avg, 9);
    if (o.avgWait === null) expect(s.avgQueueWaitSeconds).toBeNull();
    else expect(s.avgQueueWaitSeconds!).toBeCloseTo(o.avgWait, 9);
    const measured = [
      ['p', [s.p50DurationSeconds, s.p95DurationSeconds, s.p99DurationSeconds], o.p, o.pBound],
      ['wait p', [s.p50QueueWaitSeconds, s.p95QueueWaitSeconds, s.p99QueueWaitSeconds], o.w, o.wBound],
    ] as const;
    for (const [label, ps, exacts, bounds] of measured) {
      ps.forEach((p, j) => {
        const exact = exacts[j];
        if (exact === null || exact === undefined) expect(p).toBeNull();
        else expect(Math.abs(p! - exact), `${o.jobType}/${o.status} ${label}${[50, 95, 99][j]}: ${p} vs ${exact}`).toBeLessThanOrEqual(bounds[j]! + 1e-9);
      });
    }
  });
}

describe(`rollups on ${databaseKind}`, () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  const now = new Date();

  beforeAll(async () => {
    database = await createTestDatabase();
    handle = database.handle;
    await insertExecutions(handle.db, generateExecutions({ count: 1200, seed: 7, spanMinutes: 600, now }));
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('are kept by inserts exactly as a rebuild from the table computes them', async () => {
    const kept = await rollupContents(handle.db);
    expect(kept.length).toBeGreaterThan(100);
    expect(kept).toEqual(await rebuiltContents(handle));
  });

  it('are exact from pending deltas before compaction, and the same after it', async () => {
    // Nothing has compacted yet: every figure comes from deltas (rollup tables may be empty).
    expect(await pendingDeltas(handle)).toBeGreaterThan(0);
    const before = await rollupContents(handle.db);
    expectStatsMatch(await jobStatistics(handle.db), await oracleStats(handle));
    const total = Number((await handle.query<{ n: unknown }>('SELECT count(*) AS n FROM job_executions'))[0]!.n);
    expect(await countJobExecutions(handle.db, {})).toBe(total);

    // A bounded batch moves at most that many rows of each table.
    const moved = await compactRollups(handle, 7);
    expect(moved).toBeGreaterThan(0);
    expect(moved).toBeLessThanOrEqual(21);
    expect(await rollupContents(handle.db)).toEqual(before);
    expectStatsMatch(await jobStatistics(handle.db), await oracleStats(handle));

    await compactAll(handle);
    expect(await pendingDeltas(handle)).toBe(0);
    expect(await rollupContents(handle.db, { compacted: true })).toEqual(before);
    expect(before).toEqual(await rebuiltContents(handle));
    expectStatsMatch(await jobStatistics(handle.db), await oracleStats(handle));
    expect(await countJobExecutions(handle.db, {})).toBe(total);

    // The compactor's VACUUM of the delta tables (their dead rows slow the readers) changes nothing.
    await vacuumRollupDeltas(handle);
    expect(await rollupContents(handle.db)).toEqual(before);
    expectStatsMatch(await jobStatistics(handle.db), await oracleStats(handle));
  });

  it('follow updates of status and timestamps, deletes and no-op updates, single- and multi-row', async () => {
    const rnd = random(99);
    const ids = (await handle.query<{ job_id: string }>('SELECT job_id FROM job_executions ORDER BY job_id')).map((r) => r.job_id);
    const pick = () => ids[Math.floor(rnd() * ids.length)]!;
    // A job starts, finishes, is retried by hand (the guide's reset), moves to another hour.
    await handle.query(`UPDATE job_executions SET status = 'processing', started_at = now(), completed_at = NULL WHERE job_id = $1`, [pick()]);
    await handle.query(`UPDATE job_executions SET status = 'completed', completed_at = started_at + interval '12.345678 s' WHERE status = 'processing' AND job_id < 'gen-00300'`);
    await handle.query(`UPDATE job_executions SET status = 'pending', error = NULL, retry_count = 0, started_at = NULL, completed_at = NULL WHERE status = 'failed' AND job_id LIKE '%7'`);
    await handle.query(`UPDATE job_executions SET created_at = created_at - interval '3 hours' WHERE job_id IN ($1, $2, $3)`, [pick(), pick(), pick()]);
    await handle.query(`UPDATE job_executions SET job_type = 'renamed-type' WHERE job_id = $1`, [pick()]);
    await handle.query(`UPDATE job_executions SET error = 'only the message' WHERE job_id = $1`, [pick()]);
    await handle.query(`UPDATE job_executions SET completed_at = started_at WHERE status = 'completed' AND job_id LIKE '%3'`);
    await handle.query(`DELETE FROM job_executions WHERE job_id IN ($1, $2)`, [pick(), pick()]);
    await handle.query(`DELETE FROM job_executions WHERE status = 'cancelled' AND job_id LIKE '%5'`);
    expect(await rollupContents(handle.db)).toEqual(await rebuiltContents(handle));

    expectStatsMatch(await jobStatistics(handle.db), await oracleStats(handle));
    // The guide's statistics SQL, verbatim, against jobStats's final-status rows.
    const guide = await handle.query<{ job_type: string; status: string; count: unknown; avg_duration_seconds: unknown }>(GUIDE_SQL.statistics);
    const counts = await handle.query<{ job_type: string; status: string; finished: unknown; avg: unknown }>(
      `SELECT job_type, status::text AS status, sum(finished) AS finished, sum(duration_sum) / nullif(sum(timed), 0) AS avg
       FROM (SELECT job_type, status, finished, timed, duration_sum, series, bucket_start FROM job_rollups
             UNION ALL SELECT job_type, status, finished, timed, duration_sum, series, bucket_start FROM job_rollup_deltas) s
       WHERE series = 'created' AND bucket_start = '-infinity' GROUP BY job_type, status HAVING sum(finished) > 0`,
    );
    expect(counts.length).toBe(guide.length);
    for (const g of guide) {
      const ours = counts.find((c) => c.job_type === g.job_type && c.status === g.status)!;
      expect(Number(ours.finished)).toBe(Number(g.count));
      if (g.avg_duration_seconds === null) expect(ours.avg).toBeNull();
      else expect(Number(ours.avg)).toBeCloseTo(Number(g.avg_duration_seconds), 9);
    }
  });

  it('answer windows that cut buckets exactly: whole hours from the rollups, the edges scanned', async () => {
    const cases: [Date | undefined, Date | undefined][] = [
      [new Date(now.getTime() - 437 * 60_000 - 1234), new Date(now.getTime() - 61 * 60_000 + 17)],
      [new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 5 * 3_600_000), new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000)],
      [new Date(now.getTime() - 100 * 60_000), undefined],
      [undefined, new Date(now.getTime() - 200 * 60_000 + 1)],
      [new Date(now.getTime() - 30 * 60_000 - 1), new Date(now.getTime() - 20 * 60_000)],
    ];
    for (const [since, until] of cases) {
      expectStatsMatch(await jobStatistics(handle.db, { since, until }), await oracleStats(handle, since, until));
      const filter = { status: ['completed', 'failed'] as const, jobType: ['send-email', 'generate-report'], createdAfter: since, createdBefore: until };
      const [{ n }] = await handle.query<{ n: unknown }>(
        `SELECT count(*) AS n FROM job_executions WHERE status IN ('completed', 'failed') AND job_type IN ('send-email', 'generate-report')
         AND ($1::timestamptz IS NULL OR created_at >= $1::timestamptz) AND ($2::timestamptz IS NULL OR created_at < $2::timestamptz)`,
        [since?.toISOString() ?? null, until?.toISOString() ?? null],
      ) as [{ n: unknown }];
      expect(await countJobExecutions(handle.db, filter)).toBe(Number(n));
    }
    expect(await countJobExecutions(handle.db, {})).toBe(Number((await handle.query<{ n: unknown }>('SELECT count(*) AS n FROM job_executions'))[0]!.n));
    expect(await countJobExecutions(handle.db, { status: [] })).toBe(0);
  });

  it('stay exact with several connections writing at once (PostgreSQL: 8 connections)', async () => {
    // Writers of the same job types in the same minutes: two-statement transactions (insert a job,
    // then start it, as the recorder does) next to single updates finishing other jobs.
    const writers = databaseKind === 'postgres' ? 8 : 2;
    const connections = await Promise.all(
      Array.from({ length: writers }, () =>
        databaseKind === 'postgres' ? openDatabase(database.target, { maxConnections: 1 }) : Promise.resolve(handle),
      ),
    );
    try {
      await Promise.all(
        connections.map(async (c, w) => {
          for (let i = 0; i < 25; i++) {
            const id = `conc-${w}-${i}`;
            await c.db.transaction(async (tx) => {
              await tx.execute(sql`INSERT INTO job_executions (job_id, job_type, payload) VALUES (${id}, 'send-email', '{}')`);
              await tx.execute(sql`UPDATE job_executions SET status = 'processing', started_at = now() WHERE job_id = ${id}`);
            });
            await c.query(`UPDATE job_executions SET status = 'completed', completed_at = now() + interval '1.5 s' WHERE job_id = $1`, [id]);
            await c.query(
              `UPDATE job_executions SET status = 'failed', completed_at = now() WHERE job_id IN
                 (SELECT job_id FROM job_executions WHERE job_id LIKE 'gen-%' AND status = 'processing' AND right(job_id, 1) = $1 LIMIT 1)`,
              [String(w % 10)],
            );
          }
        }),
      );
    } finally {
      if (databaseKind === 'postgres') await Promise.all(connections.map((c) => c.close()));
    }
    expect(Number((await handle.query<{ n: unknown }>(`SELECT count(*) AS n FROM job_executions WHERE job_id LIKE 'conc-%' AND status = 'completed'`))[0]!.n)).toBe(writers * 25);
    expect(await rollupContents(handle.db)).toEqual(await rebuiltContents(handle));
    expectStatsMatch(await jobStatistics(handle.db), await oracleStats(handle));
  });

  it('lose nothing when compactions run while writers write (PostgreSQL: 6 writers, 2 compactors)', async () => {
    const writers = databaseKind === 'postgres' ? 6 : 2;
    const open = () => (databaseKind === 'postgres' ? openDatabase(database.target, { maxConnections: 1 }) : Promise.resolve(handle));
    const connections = await Promise.all(Array.from({ length: writers }, open));
    const compactors = await Promise.all([open(), open()]);
    let writing = true;
    let compactions = 0;
    let moved = 0;
    try {
      const compacting = compactors.map(async (c) => {
        while (writing) {
          // Small batches, so that many compactions interleave with the writers' transactions.
          const n = await compactRollups(c, 25);
          moved += n;
          if (n > 0) compactions++;
        }
      });
      await Promise.all(
        connections.map(async (c, w) => {
          for (let i = 0; i < 30; i++) {
            const id = `compact-${w}-${i}`;
            await c.db.transaction(async (tx) => {
              await tx.execute(sql`INSERT INTO job_executions (job_id, job_type, payload) VALUES (${id}, ${w % 2 ? 'send-email' : 'generate-report'}, '{}')`);
              await tx.execute(sql`UPDATE job_executions SET status = 'processing', started_at = now() WHERE job_id = ${id}`);
            });
            await c.query(`UPDATE job_executions SET status = $2, completed_at = now() + interval '0.25 s' WHERE job_id = $1`, [id, i % 3 ? 'completed' : 'failed']);
            if (i % 10 === 9) await c.query(`DELETE FROM job_executions WHERE job_id = $1`, [`compact-${w}-${i - 5}`]);
            // A transaction that rolls back leaves no delta behind.
            await c.db
              .transaction(async (tx) => {
                await tx.execute(sql`INSERT INTO job_executions (job_id, job_type, payload) VALUES (${`${id}-rolled-back`}, 'send-email', '{}')`);
                tx.rollback();
              })
              .catch(() => undefined);
          }
        }),
      );
      writing = false;
      await Promise.all(compacting);
    } finally {
      writing = false;
      if (databaseKind === 'postgres') await Promise.all([...connections, ...compactors].map((c) => c.close()));
    }
    expect(compactions).toBeGreaterThan(0);
    expect(moved).toBeGreaterThan(0);
    expect(await rollupContents(handle.db)).toEqual(await rebuiltContents(handle));
    expectStatsMatch(await jobStatistics(handle.db), await oracleStats(handle));
    await compactAll(handle);
    expect(await pendingDeltas(handle)).toBe(0);
    expect(await rollupContents(handle.db, { compacted: true })).toEqual(await rebuiltContents(handle));
  });

  it('let one compaction run at a time: a second one skips instead of waiting', async () => {
    await handle.query(`UPDATE job_executions SET error = 'touched', completed_at = completed_at + interval '1 s' WHERE job_id LIKE 'compact-0-%'`);
    expect(await pendingDeltas(handle)).toBeGreaterThan(0);
    if (databaseKind === 'postgres') {
      const other = await openDatabase(database.target, { maxConnections: 1 });
      try {
        await handle.db.transaction(async (tx) => {
          await tx.execute(sql`SELECT pg_advisory_xact_lock(1784636019, 0)`);
          expect(await compactRollups(other)).toBe(0);
        });
      } finally {
        await other.close();
      }
    }
    expect(await compactRollups(handle)).toBeGreaterThan(0);
    expect(await pendingDeltas(handle)).toBe(0);
    expect(await rollupContents(handle.db)).toEqual(await rebuiltContents(handle));
  });

  it('are rebuilt by jobscope_rebuild_rollups() after rows were loaded around the triggers, and cleared by TRUNCATE', async () => {
    await handle.query('ALTER TABLE job_executions DISABLE TRIGGER USER');
    try {
      await handle.query(`INSERT INTO job_executions (job_id, job_type, status, payload, created_at, started_at, completed_at)
        SELECT 'bulk-' || i, 'bulk-type', 'completed', '{}', now() - i * interval '1 minute', now() - i * interval '1 minute' + interval '1 s',
               now() - i * interval '1 minute' + (i % 17) * interval '1 s'
        FROM generate_series(1, 300) i`);
    } finally {
      await handle.query('ALTER TABLE job_executions ENABLE TRIGGER USER');
    }
    expect(await rollupContents(handle.db)).not.toEqual(await rebuiltContents(handle));
    const [read] = await handle.query<{ n: unknown }>('SELECT jobscope_rebuild_rollups() AS n');
    expect(Number(read!.n)).toBe(Number((await handle.query<{ n: unknown }>('SELECT count(*) AS n FROM job_executions'))[0]!.n));
    expect(await rollupContents(handle.db)).toEqual(await rebuiltContents(handle));
    // The rebuild drops pending deltas and leaves its figures compacted.
    expect(await pendingDeltas(handle)).toBe(0);
    expectStatsMatch(await jobStatistics(handle.db), await oracleStats(handle));

    // TRUNCATE clears the rollups and pending deltas alike.
    await handle.query(`UPDATE job_executions SET error = 'pending delta' WHERE job_id = 'bulk-1'`);
    await handle.query(`UPDATE job_executions SET started_at = started_at - interval '1 s' WHERE job_id = 'bulk-2'`);
    expect(await pendingDeltas(handle)).toBeGreaterThan(0);
    await handle.query('TRUNCATE job_executions CASCADE');
    expect(await pendingDeltas(handle)).toBe(0);
    expect(await rollupContents(handle.db)).toEqual([]);
    expect(await jobStatistics(handle.db)).toEqual([]);
  });
});

describe(`day buckets of the rollups on ${databaseKind}`, () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  const now = new Date();
  const HOUR = 3_600_000;
  const DAY = 86_400_000;
  const today = Math.floor(now.getTime() / DAY) * DAY;

  beforeAll(async () => {
    database = await createTestDatabase();
    handle = database.handle;
    // Six days of rows, some of them compacted and some still pending deltas.
    await insertExecutions(handle.db, generateExecutions({ count: 1500, seed: 11, spanMinutes: 6 * 24 * 60, now }));
    await compactRollups(handle, 500);
    await insertExecutions(handle.db, generateExecutions({ count: 300, seed: 12, spanMinutes: 6 * 24 * 60, now, prefix: 'late' }));
    await handle.query(`UPDATE job_executions SET status = 'completed', completed_at = started_at + interval '2.5 s' WHERE status = 'processing' AND job_id LIKE '%1'`);
  });
  afterAll(async () => {
    await database?.destroy();
  });

  // Windows whose ends fall early and late in an hour and a day, across several days, open at
  // either end, within one day and within one hour: each is read from days, hours and scans with
  // hours or minutes subtracted somewhere.
  const windows: [string, Date | undefined, Date | undefined][] = [
    ['the last 24 hours', new Date(now.getTime() - 24 * HOUR - 17_000), undefined],
    ['3 days cutting hours early and late', new Date(today - 3 * DAY + 2 * HOUR + 3 * 60_000 + 5), new Date(today - 20 * HOUR - 4 * 60_000 + 11)],
    ['4 days cutting hours late and early', new Date(today - 4 * DAY + 21 * HOUR + 57 * 60_000), new Date(today - DAY + 1 * HOUR + 2 * 60_000)],
    ['whole days', new Date(today - 5 * DAY), new Date(today - DAY)],
    ['since 5 days ago, open', new Date(today - 5 * DAY + 13 * HOUR + 31 * 60_000), undefined],
    ['until 2 days ago', undefined, new Date(today - 2 * DAY + 23 * HOUR + 58 * 60_000)],
    ['within one day', new Date(today - 2 * DAY + 3 * HOUR + 50 * 60_000), new Date(today - 2 * DAY + 22 * HOUR + 10 * 60_000)],
    ['within one hour', new Date(today - DAY + 7 * HOUR + 5 * 60_000), new Date(today - DAY + 7 * HOUR + 55 * 60_000)],
  ];

  it('are kept by the triggers as a rebuild computes them, and equal the sums of the hourly rows', async () => {
    expect(await rollupContents(handle.db)).toEqual(await rebuiltContents(handle));
    const [check] = await handle.query<{ rollups: unknown; bins: unknown }>(`
      SELECT
        (SELECT count(*) FROM (
           SELECT series, date_trunc('day', bucket_start, 'UTC') AS day, job_type, status, sum(jobs) AS jobs, sum(duration_sum) AS d FROM (
             SELECT * FROM job_rollups UNION ALL SELECT series, bucket_start, job_type, status, jobs, finished, timed, duration_sum, waited, wait_sum FROM job_rollup_deltas) r
           WHERE series IN ('created', 'completed') AND bucket_start > '-infinity' GROUP BY 1, 2, 3, 4
           EXCEPT
           SELECT replace(series, '_day', ''), bucket_start, job_type, status, sum(jobs), sum(duration_sum) FROM (
             SELECT * FROM job_rollups UNION ALL SELECT series, bucket_start, job_type, status, jobs, finished, timed, duration_sum, waited, wait_sum FROM job_rollup_deltas) r
           WHERE series IN ('created_day', 'completed_day') GROUP BY 1, 2, 3, 4) x) AS rollups,
        (SELECT count(*) FROM (
           SELECT series, date_trunc('day', bucket_start, 'UTC'), job_type, status, bin, sum(n) FROM (
             SELECT * FROM job_rollup_bins UNION ALL SELECT series, bucket_start, job_type, status, bin, n FROM job_rollup_bin_deltas) b
           WHERE series IN ('duration', 'duration_completed', 'wait') AND bucket_start > '-infinity' GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0
           EXCEPT
           SELECT replace(series, '_day', ''), bucket_start, job_type, status, bin, sum(n) FROM (
             SELECT * FROM job_rollup_bins UNION ALL SELECT series, bucket_start, job_type, status, bin, n FROM job_rollup_bin_deltas) b
           WHERE series IN ('duration_day', 'duration_completed_day', 'wait_day') GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0) x) AS bins`);
    expect([Number(check!.rollups), Number(check!.bins)]).toEqual([0, 0]);
  });

  it('answer jobStats and totalCount exactly over windows of days, hours and scanned ends', async () => {
    for (const [name, since, until] of windows) {
      const oracle = await oracleStats(handle, since, until);
      expect(oracle.length, name).toBeGreaterThan(0);
      expectStatsMatch(await jobStatistics(handle.db, { since, until }), oracle);
      const [{ n }] = (await handle.query<{ n: unknown }>(
        `SELECT count(*) AS n FROM job_executions WHERE status IN ('completed', 'failed')
         AND ($1::timestamptz IS NULL OR created_at >= $1::timestamptz) AND ($2::timestamptz IS NULL OR created_at < $2::timestamptz)`,
        [since?.toISOString() ?? null, until?.toISOString() ?? null],
      )) as [{ n: unknown }];
      expect(await countJobExecutions(handle.db, { status: ['completed', 'failed'], createdAfter: since, createdBefore: until }), name).toBe(Number(n));
    }
  });

  it('answer jobThroughput by day and by hour exactly, each bucket against a GROUP BY of the table', async () => {
    for (const [name, since, until] of windows) {
      if (!since) continue;
      for (const bucket of ['day', 'hour'] as const) {
        const ours = await jobThroughput(handle.db, { since, until: until ?? now, bucket });
        const oracle = await handle.query<{ bucket_start: string; enqueued: unknown; completed: unknown; failed: unknown }>(
          `SELECT to_char(b AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS bucket_start,
                  (SELECT count(*) FROM job_executions WHERE created_at >= greatest(b, $1::timestamptz) AND created_at < least(b + $3::interval, $2::timestamptz)) AS enqueued,
                  (SELECT count(*) FROM job_executions WHERE status = 'completed' AND completed_at >= greatest(b, $1::timestamptz) AND completed_at < least(b + $3::interval, $2::timestamptz)) AS completed,
                  (SELECT count(*) FROM job_executions WHERE status = 'failed' AND completed_at >= greatest(b, $1::timestamptz) AND completed_at < least(b + $3::interval, $2::timestamptz)) AS failed
           FROM generate_series(date_trunc($4, $1::timestamptz, 'UTC'), $2::timestamptz - interval '1 microsecond', $3::interval) b ORDER BY b`,
          [since.toISOString(), (until ?? now).toISOString(), `1 ${bucket}`, bucket],
        );
        expect(
          ours.map((b) => [b.bucketStart.toISOString().replace('.000Z', 'Z'), b.enqueued, b.completed, b.failed]),
          `${name} by ${bucket}`,
        ).toEqual(oracle.map((o) => [o.bucket_start, Number(o.enqueued), Number(o.completed), Number(o.failed)]));
        expect(ours.reduce((s, b) => s + b.enqueued, 0), `${name} by ${bucket}`).toBeGreaterThan(0);
      }
    }
  });

  it('answer slowJobs since an instant exactly, from the completed series', async () => {
    for (const since of [new Date(today - 3 * DAY + 5 * HOUR + 1_234), new Date(now.getTime() - 24 * HOUR + 55 * 60_000)]) {
      const ours = await findSlowJobTypes(handle.db, { thresholdSeconds: 0, since });
      const oracle = await handle.query<{ job_type: string; count: unknown; avg: unknown; p95: unknown }>(
        `SELECT job_type, count(*) AS count, AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) AS avg,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY date_part('epoch', completed_at - started_at)) AS p95
         FROM job_executions WHERE completed_at >= $1::timestamptz GROUP BY job_type
         HAVING AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) > 0 ORDER BY avg DESC, job_type`,
        [since.toISOString()],
      );
      expect(ours.map((s) => s.jobType)).toEqual(oracle.map((o) => o.job_type));
      ours.forEach((s, i) => {
        const o = oracle[i]!;
        expect(s.count).toBe(Number(o.count));
        expect(s.avgDurationSeconds).toBeCloseTo(Number(o.avg), 9);
        expect(Math.abs(s.p95DurationSeconds! - Number(o.p95))).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR * Number(o.p95) + 1e-9);
      });
    }
  });

  it('are backfilled by their migration from the hourly rows of a database that had none', async () => {
    const before = await rollupContents(handle.db);
    // A database from before the day buckets: hourly rows only, compacted and pending.
    await handle.query(`DELETE FROM job_rollups WHERE series LIKE '%\\_day'`);
    await handle.query(`DELETE FROM job_rollup_deltas WHERE series LIKE '%\\_day'`);
    await handle.query(`DELETE FROM job_rollup_bins WHERE series LIKE '%\\_day'`);
    await handle.query(`DELETE FROM job_rollup_bin_deltas WHERE series LIKE '%\\_day'`);
    expect(await rollupContents(handle.db)).not.toEqual(before);
    // The migration again, then the later ones that redefine the rollup functions (the hourly and
    // day wait bins), each in one transaction and in order, as the migrator runs them.
    for (const suffix of ['_rollup_days', '_rollup_wait_hours']) {
      const folder = readdirSync(MIGRATIONS_FOLDER).find((name) => name.endsWith(suffix))!;
      const statements = readFileSync(join(MIGRATIONS_FOLDER, folder, 'migration.sql'), 'utf8').split('--> statement-breakpoint');
      await handle.db.transaction(async (tx) => {
        for (const statement of statements) await tx.execute(sql.raw(statement));
      });
    }
    expect(await rollupContents(handle.db)).toEqual(before);
    expect(before).toEqual(await rebuiltContents(handle));
    // And the triggers append day deltas again after it.
    await handle.query(`UPDATE job_executions SET completed_at = completed_at - interval '3 hours' WHERE job_id LIKE 'late-%' AND completed_at IS NOT NULL`);
    expect(await rollupContents(handle.db)).toEqual(await rebuiltContents(handle));
    expectStatsMatch(await jobStatistics(handle.db, { since: windows[1]![1], until: windows[1]![2] }), await oracleStats(handle, windows[1]![1], windows[1]![2]));
  });

  it('gain hourly and day queue-wait bins from their migration on a database that had only the all-time ones', async () => {
    const before = await rollupContents(handle.db);
    // A database from before the hourly wait bins: the all-time `wait` rows only.
    for (const table of ['job_rollup_bins', 'job_rollup_bin_deltas']) {
      await handle.query(`DELETE FROM ${table} WHERE series = 'wait_day' OR (series = 'wait' AND bucket_start > '-infinity'::timestamptz)`);
    }
    expect(await rollupContents(handle.db)).not.toEqual(before);
    const folder = readdirSync(MIGRATIONS_FOLDER).find((name) => name.endsWith('_rollup_wait_hours'))!;
    const statements = readFileSync(join(MIGRATIONS_FOLDER, folder, 'migration.sql'), 'utf8').split('--> statement-breakpoint');
    await handle.db.transaction(async (tx) => {
      for (const statement of statements) await tx.execute(sql.raw(statement));
    });
    expect(await rollupContents(handle.db)).toEqual(before);
    // Replayed, it changes nothing; and the triggers keep appending wait deltas by hour after it.
    await handle.db.transaction(async (tx) => {
      for (const statement of statements) await tx.execute(sql.raw(statement));
    });
    expect(await rollupContents(handle.db)).toEqual(before);
    await handle.query(`UPDATE job_executions SET started_at = started_at + interval '90 seconds' WHERE started_at IS NOT NULL AND job_id IN (SELECT job_id FROM job_executions WHERE started_at IS NOT NULL ORDER BY job_id LIMIT 50)`);
    expect(await rollupContents(handle.db)).toEqual(await rebuiltContents(handle));
    for (const [, since, until] of windows) expectStatsMatch(await jobStatistics(handle.db, { since, until }), await oracleStats(handle, since, until));
  });
});
