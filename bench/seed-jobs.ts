/** Bulk seeding of job_executions for the benches that need a large table (filter, diagnosis). */
import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { compactRollups } from '../src/db/rollups.js';

/**
 * `rows` jobs over 30 days in 50,000-row INSERT … SELECT statements, rollup triggers on, the
 * NOTIFY trigger off (as bench/stats.ts). Selective columns: 1 in 5,000 retried 5 times, 1 in
 * 3,000 ran for two hours, 1 in 10,000 came from schedule `scd_rare`, 1,000 users.
 */
export async function seedJobs(database: DatabaseHandle, rows: number): Promise<void> {
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


/**
 * A scratch PostgreSQL database next to DATABASE_URL's, migrated and seeded with `rows` jobs
 * (seedJobs), for `run`; dropped afterwards whatever happens.
 */
export async function withSeededDatabase(prefix: string, rows: number, run: (database: DatabaseHandle, target: URL) => Promise<void>): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL: a PostgreSQL server to create a scratch database on');
  const name = `${prefix}_${process.pid}`;
  const admin = await openDatabase({ kind: 'postgres', url });
  await admin.query(`CREATE DATABASE ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const database = await openDatabase({ kind: 'postgres', url: target.toString() });
  try {
    await migrateDatabase(database);
    const seeded = Date.now();
    await seedJobs(database, rows);
    console.log(`seeded ${rows} jobs in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
    await run(database, target);
  } finally {
    await database.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.close();
  }
}
