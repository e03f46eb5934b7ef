/**
 * Filtered `totalCount` at 1M rows (issue 9): `jobExecutions(filter) { totalCount }` through the
 * real server, for selective filters (an index scan each, EXPLAIN printed), for filters the
 * rollups answer, and for an unindexed one for contrast. PostgreSQL only: it creates a scratch
 * database next to DATABASE_URL's, seeds it, measures and drops it.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/filter.ts [rows]
 */
import { sql } from 'drizzle-orm';
import { serveNode } from '../src/adapters/node-server.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { compactRollups } from '../src/db/rollups.js';
import { jobExecutions } from '../src/db/schema.js';
import { jobFilterCondition, parseJobFilter } from '../src/jobs/read/filter.js';
import { silentLogger } from '../src/logger.js';
import { measure, report } from './harness.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const ITERATIONS = Number(process.env.BENCH_FILTER_ITERATIONS ?? 20);

/**
 * `rows` jobs over 30 days in 50,000-row INSERT … SELECT statements, rollup triggers on, the
 * NOTIFY trigger off (as bench/stats.ts). Selective columns: 1 in 5,000 retried 5 times, 1 in
 * 3,000 ran for two hours, 1 in 10,000 came from schedule `scd_rare`, 1,000 users.
 */
async function seed(database: DatabaseHandle, rows: number): Promise<void> {
  await database.query('ALTER TABLE job_executions DISABLE TRIGGER job_executions_notify_event');
  for (let start = 1; start <= rows; start += 50_000) {
    await database.query(
      `INSERT INTO job_executions (job_id, job_type, status, payload, user_id, error, retry_count, schedule_id, created_at, started_at, completed_at)
       SELECT 'f-' || i, (ARRAY['send-email', 'generate-report', 'resize-image', 'sync-crm'])[1 + i % 4], s.status,
              jsonb_build_object('jobId', 'f-' || i, 'type', 'bench', 'payload', jsonb_build_object('n', i), 'metadata', '{}'::jsonb),
              'u' || (i % 1000), CASE WHEN s.status = 'failed' THEN 'SMTP timeout' END,
              CASE WHEN i % 5000 = 0 THEN 5 ELSE i % 2 END, CASE WHEN i % 10000 = 0 THEN 'scd_rare' END,
              c.created, c.created + interval '200 ms',
              c.created + CASE WHEN i % 3000 = 0 THEN interval '2 hours' ELSE (300 + i % 997) * interval '1 ms' END
       FROM generate_series($1::int, $2::int) i
       CROSS JOIN LATERAL (SELECT now() - ((i::int8 * 7919) % (30 * 86400000::int8)) * interval '1 ms' AS created) c
       CROSS JOIN LATERAL (SELECT (CASE WHEN i % 7 = 0 THEN 'failed' ELSE 'completed' END)::job_status AS status) s`,
      [start, Math.min(rows, start + 49_999)],
    );
  }
  await database.query('ALTER TABLE job_executions ENABLE TRIGGER job_executions_notify_event');
  while ((await compactRollups(database, 100_000)) > 0);
  await database.query('ANALYZE');
}

const since = new Date(Date.now() - 24 * 3_600_000 - 17_000).toISOString();
const CASES: [string, Record<string, unknown>][] = [
  ['retryCountAtLeast: 5', { retryCountAtLeast: 5 }],
  ['durationAtLeastSeconds: 3600', { durationAtLeastSeconds: 3600 }],
  ['scheduleId', { scheduleId: 'scd_rare' }],
  ['userId', { userId: 'u7' }],
  ['jobId: 3 ids', { jobId: ['f-1', 'f-500000', 'f-999999'] }],
  ['payloadContains', { payloadContains: { n: 4242 } }],
  ['status + jobType + createdAfter (rollups)', { status: ['FAILED'], jobType: ['send-email'], createdAfter: since }],
  ['userId + retryCountAtLeast: 1', { userId: 'u7', retryCountAtLeast: 1 }],
  ['errorContains (unindexed: a scan, for contrast)', { errorContains: 'smtp' }],
];

const url = process.env.DATABASE_URL;
if (!url) throw new Error('DATABASE_URL: a PostgreSQL server to create a scratch database on');
const name = `jobscope_filter_bench_${process.pid}`;
const admin = await openDatabase({ kind: 'postgres', url });
await admin.query(`CREATE DATABASE ${name}`);
const target = new URL(url);
target.pathname = `/${name}`;
const database = await openDatabase({ kind: 'postgres', url: target.toString() });
try {
  await migrateDatabase(database);
  const seeded = Date.now();
  await seed(database, ROWS);
  console.log(`seeded ${ROWS} jobs in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
  const app = await createApp({ config: loadConfig({ NODE_ENV: 'test', LOG_DIR: 'off', ALERT_INTERVAL_SECONDS: '0' }), logger: silentLogger(), database });
  const server = await serveNode(app, { port: 0, host: '127.0.0.1' });
  try {
    const count = async (filter: Record<string, unknown>) => {
      const res = await fetch(`${server.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'query ($f: JobExecutionFilter) { jobExecutions(filter: $f) { totalCount } }', variables: { f: filter } }),
      });
      const body = (await res.json()) as { data?: { jobExecutions: { totalCount: number } }; errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data!.jobExecutions.totalCount;
    };
    const baseline = await measure('GraphQL { __typename } (the request itself)', ITERATIONS, () =>
      fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }).then((r) => r.text()),
    );
    const measured = [];
    for (const [label, filter] of CASES) {
      const n = await count(filter);
      // The plan of the row count (what totalCount runs when the rollups cannot answer).
      const domain = parseJobFilter({ ...filter, status: (filter.status as string[] | undefined)?.map((s) => s.toLowerCase()), createdAfter: filter.createdAfter ? new Date(filter.createdAfter as string) : undefined });
      const query = database.db.select({ n: sql`count(*)` }).from(jobExecutions).where(jobFilterCondition(domain)).toSQL();
      const plan = (await database.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${query.sql}`, query.params)).map((r) => r['QUERY PLAN']);
      const scans = plan.filter((line) => /Scan/.test(line)).map((line) => line.trim().replace(/\s+\(cost.*$/, ''));
      console.log(`${label}: totalCount ${n}; plan of the row count: ${scans.join(' | ')}`);
      measured.push(await measure(`totalCount, ${label} (${n})`, ITERATIONS, () => count(filter)));
    }
    report(`Filtered totalCount at ${ROWS} rows on PostgreSQL (${target.host})`, baseline, measured);
  } finally {
    await server.close();
  }
} finally {
  await database.close();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.close();
}
