import { sql } from 'drizzle-orm';
import { createApp } from '../src/app.js';
import { compactRollups, vacuumRollupDeltas } from '../src/db/rollups.js';
import { serveNode } from '../src/adapters/node-server.js';
import { loadConfig } from '../src/config/index.js';
import type { DatabaseHandle } from '../src/db/client.js';
import { silentLogger } from '../src/logger.js';
import { GUIDE_SQL } from '../test/helpers/guide-sql.js';
import { measure, report, summarize, type Measured } from './harness.js';

/** The operations guide's "Job statistics by type", character for character: the baseline. */
const GUIDE_STATISTICS = GUIDE_SQL.statistics;

/**
 * `rows` executions over the last 30 days in INSERT … SELECT generate_series statements of 50,000
 * rows, with the rollup triggers on (so the rollups are the triggers' work) and the per-row NOTIFY
 * trigger off (a million notifications in one transaction would only measure the queue). 200 jobs
 * are left `processing` at every size: the stuck count reads the partial index of processing
 * jobs, which holds the jobs running now, not a share of the table.
 */
async function seed(database: DatabaseHandle, rows: number): Promise<void> {
  await database.query('TRUNCATE job_executions CASCADE');
  await database.query('ALTER TABLE job_executions DISABLE TRIGGER job_executions_notify_event');
  try {
    for (let start = 1; start <= rows; start += 50_000) {
      await database.query(
        `INSERT INTO job_executions (job_id, job_type, status, payload, user_id, error, created_at, started_at, completed_at)
         SELECT 'stats-' || i, (ARRAY['send-email', 'generate-report', 'resize-image', 'sync-crm'])[1 + i % 4], s.status,
                jsonb_build_object('jobId', 'stats-' || i, 'type', 'bench', 'payload', jsonb_build_object('n', i), 'metadata', '{}'::jsonb),
                'u' || (i % 100), CASE WHEN s.status = 'failed' THEN 'SMTP timeout' END,
                c.created, c.created + (200 + (i % 50) * 10) * interval '1 ms',
                CASE WHEN s.status <> 'processing' THEN c.created + (200 + (i % 50) * 10 + 100 + (i % 997) * 37) * interval '1 ms' END
         FROM generate_series($1::int, $2::int) i
         CROSS JOIN LATERAL (SELECT now() - ((i::int8 * 7919) % (30 * 86400000::int8)) * interval '1 ms' AS created) c
         CROSS JOIN LATERAL (SELECT (CASE WHEN i % 7 = 0 THEN 'failed' WHEN i % 11 = 0 AND i <= 2200 THEN 'processing' ELSE 'completed' END)::job_status AS status) s`,
        [start, Math.min(rows, start + 49_999)],
      );
    }
  } finally {
    await database.query('ALTER TABLE job_executions ENABLE TRIGGER job_executions_notify_event');
  }
  await database.query('ANALYZE');
}

const CASES: [string, string][] = [
  ['GraphQL jobStats all time (+ p50/p95/p99)', '{ jobStats { jobType status count avgDurationSeconds p50DurationSeconds p95DurationSeconds p99DurationSeconds } }'],
  ['GraphQL jobStats, a 24 h window cutting hours', 'query($since: DateTime) { jobStats(since: $since) { jobType status count avgDurationSeconds p95DurationSeconds } }'],
  ['GraphQL slowJobs(thresholdSeconds: 1)', '{ slowJobs(thresholdSeconds: 1) { jobType count avgDurationSeconds p95DurationSeconds } }'],
  ['GraphQL jobHealth', '{ jobHealth { status totalJobs failedJobs failureRate stuckJobs byStatus { status count } } }'],
  ['GraphQL jobThroughput(bucket: DAY), 30 days', '{ jobThroughput(bucket: DAY) { bucketStart enqueued completed failed } }'],
  ['GraphQL jobExecutions(filter: {status: [FAILED]}) { totalCount }', '{ jobExecutions(filter: { status: [FAILED] }, first: 1) { totalCount } }'],
];

/**
 * Statistics, health, throughput, totalCount and /metrics answered from the rollups, against the
 * guide's statistics SQL on the same rows in the same run, at each size in `sizes`: the goal is
 * ≥ 20× faster than the guide's SQL at 1M rows and about the same time at every size.
 */
/** Delta rows not yet folded into the rollups, all three tables. */
async function pendingDeltas(database: DatabaseHandle): Promise<number> {
  const [row] = await database.query<{ n: unknown }>(
    'SELECT (SELECT count(*) FROM job_rollup_deltas) + (SELECT count(*) FROM job_rollup_bin_deltas) + (SELECT count(*) FROM job_rollup_minute_deltas) AS n',
  );
  return Number(row?.n ?? 0);
}

/**
 * Folds every pending delta. The app's own compactor runs meanwhile, and a compaction that finds
 * it holding the lock skips and returns 0: stopping at the first 0 left up to all 1M seeded
 * deltas pending while the "compacted" figures were measured (jobStats all time read 14.5 ms
 * instead of ~7). So this compacts until none is left.
 */
async function compactAll(database: DatabaseHandle): Promise<void> {
  while ((await pendingDeltas(database)) > 0) {
    if ((await compactRollups(database, 100_000)) === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function benchStats(database: DatabaseHandle, label: string, sizes: number[], iterations: number): Promise<void> {
  const app = await createApp({
    config: loadConfig({ NODE_ENV: 'test', LOG_DIR: 'off', ALERT_INTERVAL_SECONDS: '0' }),
    logger: silentLogger(),
    database,
  });
  const server = await serveNode(app, { port: 0, host: '127.0.0.1' });
  // A keep-alive socket the server closed while the baseline ran (seconds at 1M rows) fails the
  // next request with ECONNRESET: that request is sent again once.
  const request = async (path: string, init?: RequestInit) => {
    try {
      return await fetch(`${server.url}${path}`, init);
    } catch {
      return fetch(`${server.url}${path}`, init);
    }
  };
  const graphql = async (query: string, variables: Record<string, unknown> = {}) => {
    const res = await request('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body;
  };
  const medians = new Map<string, Map<number, number>>();
  const keep = (size: number, m: Measured) => {
    if (!medians.has(m.name)) medians.set(m.name, new Map());
    medians.get(m.name)!.set(size, summarize(m).median);
  };
  try {
    for (const size of sizes) {
      const seeded = Date.now();
      await seed(database, size);
      console.log(`\nseeded ${size} executions on ${label} (rollups kept by the triggers) in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
      // The triggers appended deltas; fold them all (the app's timer would, a batch at a time).
      const compacting = Date.now();
      const pending = await pendingDeltas(database);
      await compactAll(database);
      // As the server's compactor does after moving that many rows.
      await vacuumRollupDeltas(database);
      console.log(`compacted ${pending} pending deltas in ${((Date.now() - compacting) / 1000).toFixed(1)} s`);
      const baseline = await measure("raw SQL: the guide's statistics query", iterations, () => database.query(GUIDE_STATISTICS), 2);
      const since = new Date(Date.now() - 24 * 3_600_000 - 17_000).toISOString();
      const measureCases = async () => {
        const cases = [];
        for (const [name, query] of CASES) cases.push(await measure(name, iterations, () => graphql(query, { since })));
        cases.push(
          await measure('GET /metrics (rollup collectors + process metrics)', iterations, async () => {
            const res = await request('/metrics');
            if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
            await res.text();
          }),
        );
        return cases;
      };
      const cases = await measureCases();
      report(`Statistics from rollups at ${size} rows on ${label} (deltas compacted)`, baseline, cases);
      for (const m of [baseline, ...cases]) keep(size, m);
      if (database.kind === 'postgres') {
        // Readers add pending deltas: the same figures with ~10k of them, the app's compaction kept
        // off by holding its lock in another transaction (compactions skip while it is held).
        await database.db.transaction(async (tx) => {
          await tx.execute(sql`SELECT pg_advisory_xact_lock(1784636019, 0)`);
          await database.query(`DO $$ DECLARE r record; BEGIN
            FOR r IN SELECT job_id FROM job_executions WHERE completed_at IS NOT NULL ORDER BY job_id LIMIT 2000 LOOP
              UPDATE job_executions SET completed_at = completed_at + interval '1 ms' WHERE job_id = r.job_id;
            END LOOP; END $$`);
          const waiting = await pendingDeltas(database);
          report(`Statistics from rollups at ${size} rows on ${label} with ${waiting} pending deltas`, baseline, await measureCases());
        });
        await compactAll(database);
      }
    }
    const largest = sizes[sizes.length - 1]!;
    const rebuildStart = Date.now();
    await database.query('SELECT jobscope_rebuild_rollups()');
    console.log(`jobscope_rebuild_rollups() over ${largest} rows on ${label}: ${((Date.now() - rebuildStart) / 1000).toFixed(1)} s`);
    if (sizes.length > 1) {
      const smallest = sizes[0]!;
      console.log(`\n## Median ms by table size on ${label} (growth = largest ÷ smallest)`);
      console.table(
        [...medians].map(([name, bySize]) => ({
          case: name,
          ...Object.fromEntries(sizes.map((s) => [`${s} rows`, bySize.get(s)!.toFixed(2)])),
          growth: `${(bySize.get(largest)! / bySize.get(smallest)!).toFixed(2)}x`,
        })),
      );
    }
  } finally {
    // Closes the app too (drain, event bus); the database stays open for the caller.
    await server.close();
  }
}
