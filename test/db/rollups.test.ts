import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database, type DatabaseHandle } from '../../src/db/client.js';
import { countJobExecutions, HISTOGRAM_RELATIVE_ERROR, jobStatistics, type JobStatistic } from '../../src/jobs/queries/index.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { generateExecutions, insertExecutions, random } from '../helpers/factories.js';
import { GUIDE_SQL } from '../helpers/guide-sql.js';

/** The rollups' non-zero rows, in key order, as text: what the triggers keep, to compare with a rebuild. */
async function rollupContents(db: Pick<Database, 'execute'>): Promise<string[]> {
  const rows = await db.execute<{ line: string }>(sql.raw(`
    SELECT concat_ws('|', 'r', series, bucket_start::text, job_type, status::text, jobs, finished, timed, duration_sum::text, waited, wait_sum::text) AS line
    FROM job_rollups WHERE (jobs, finished, timed, duration_sum, waited, wait_sum) <> (0, 0, 0, 0, 0, 0)
    UNION ALL
    SELECT concat_ws('|', 'b', series, bucket_start::text, job_type, status::text, bin, n) FROM job_rollup_bins WHERE n <> 0
    UNION ALL
    SELECT concat_ws('|', 'm', minute::text, job_type, enqueued, completed, failed) FROM job_rollup_minutes
    WHERE (enqueued, completed, failed) <> (0, 0, 0)
    ORDER BY 1`), 'objects');
  return [...rows].map((r) => r.line);
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

/** percentile_cont, count and the guide's AVG over jobs created in [since, until), in SQL: the oracle. */
async function oracleStats(handle: DatabaseHandle, since?: Date, until?: Date) {
  const rows = await handle.query<{ job_type: string; status: string; count: unknown; avg: unknown; p: unknown }>(
    `SELECT job_type, status::text AS status, count(*) AS count,
            AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) AS avg,
            percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY date_part('epoch', completed_at - started_at)) AS p
     FROM job_executions
     WHERE ($1::timestamptz IS NULL OR created_at >= $1::timestamptz) AND ($2::timestamptz IS NULL OR created_at < $2::timestamptz)
     GROUP BY job_type, job_executions.status ORDER BY job_type, job_executions.status`,
    [since?.toISOString() ?? null, until?.toISOString() ?? null],
  );
  return rows.map((r) => {
    const p = r.p === null ? [null, null, null] : (Array.isArray(r.p) ? r.p : String(r.p).replace(/[{}]/g, '').split(',')).map((v) => (v === null || v === 'NULL' ? null : Number(v)));
    return { jobType: r.job_type, status: r.status, count: Number(r.count), avg: r.avg === null ? null : Number(r.avg), p };
  });
}

function expectStatsMatch(ours: JobStatistic[], oracle: Awaited<ReturnType<typeof oracleStats>>) {
  expect(ours.map((s) => `${s.jobType}/${s.status}`)).toEqual(oracle.map((o) => `${o.jobType}/${o.status}`));
  ours.forEach((s, i) => {
    const o = oracle[i]!;
    expect(s.count, `${o.jobType}/${o.status}`).toBe(o.count);
    if (o.avg === null) expect(s.avgDurationSeconds).toBeNull();
    else expect(s.avgDurationSeconds!).toBeCloseTo(o.avg, 9);
    const ps = [s.p50DurationSeconds, s.p95DurationSeconds, s.p99DurationSeconds];
    ps.forEach((p, j) => {
      const exact = o.p[j];
      if (exact === null || exact === undefined) expect(p).toBeNull();
      else expect(Math.abs(p! - exact), `${o.jobType}/${o.status} p${[50, 95, 99][j]}: ${p} vs ${exact}`).toBeLessThanOrEqual(HISTOGRAM_RELATIVE_ERROR * Math.abs(exact) + 1e-9);
    });
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
      `SELECT job_type, status::text AS status, finished, duration_sum / nullif(timed, 0) AS avg FROM job_rollups
       WHERE series = 'created' AND bucket_start = '-infinity' AND finished > 0`,
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
    expectStatsMatch(await jobStatistics(handle.db), await oracleStats(handle));

    await handle.query('TRUNCATE job_executions CASCADE');
    expect(await rollupContents(handle.db)).toEqual([]);
    expect(await jobStatistics(handle.db)).toEqual([]);
  });
});
