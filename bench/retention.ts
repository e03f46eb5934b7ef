import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { purgeJobExecutions } from '../src/jobs/ops/retention.js';
import { scratchDatabase } from './load.js';

/**
 * `rows` jobs over 30 days, one attempt each (four for failed ones), an eleventh of them not final,
 * written in INSERT … SELECT statements of 100k rows with the rollup triggers on and the NOTIFY
 * trigger off (a notification per row would only measure the queue).
 */
async function seed(database: DatabaseHandle, rows: number): Promise<void> {
  await database.query('TRUNCATE job_executions CASCADE');
  await database.query('ALTER TABLE job_executions DISABLE TRIGGER job_executions_notify_event');
  try {
    for (let start = 1; start <= rows; start += 100_000) {
      await database.query(
        `INSERT INTO job_executions (job_id, job_type, status, retry_count, payload, error, created_at, started_at, completed_at)
         SELECT 'ret-' || i, (ARRAY['send-email','generate-report','resize-image','sync-crm'])[1 + i % 4], s.status,
                CASE WHEN s.status = 'failed' THEN 3 ELSE 0 END,
                jsonb_build_object('jobId', 'ret-' || i, 'type', 'bench', 'payload', jsonb_build_object('n', i), 'metadata', '{}'::jsonb),
                CASE WHEN s.status = 'failed' THEN 'SMTP timeout' END,
                c.created, c.created + interval '200 ms',
                CASE WHEN s.status IN ('completed', 'failed') THEN c.created + interval '1 s' END
         FROM generate_series($1::int, $2::int) i
         CROSS JOIN LATERAL (SELECT now() - ((i::int8 * 7919) % (30 * 86400000::int8)) * interval '1 ms' AS created) c
         CROSS JOIN LATERAL (SELECT (CASE WHEN i % 11 = 0 THEN 'processing' WHEN i % 7 = 0 THEN 'failed' ELSE 'completed' END)::job_status AS status) s`,
        [start, Math.min(rows, start + 99_999)],
      );
    }
    await database.query(
      `INSERT INTO job_attempts (job_id, attempt, message_id, started_at, finished_at, duration_ms, http_status)
       SELECT e.job_id, a, 'msg_' || e.job_id, e.started_at, e.completed_at, 1000, 200
       FROM job_executions e, generate_series(0, e.retry_count) AS a`,
    );
  } finally {
    await database.query('ALTER TABLE job_executions ENABLE TRIGGER job_executions_notify_event');
  }
  await database.query('VACUUM ANALYZE');
}

/**
 * Retention at `rows` jobs: jobscope's batched purge of the jobs finished more than 15 days ago
 * (about half), against one plain `DELETE … WHERE status IN (final) AND completed_at < …` of the
 * same rows on an identical seed, in the same run: rows per second, and the longest time any row
 * lock was held (a batch for jobscope, the whole statement for the plain DELETE).
 */
export async function benchRetention(databaseUrl: string): Promise<void> {
  const rows = Number(process.env.BENCH_RETENTION_ROWS ?? 1_000_000);
  const url = await scratchDatabase(databaseUrl, 'jobscope_bench_retention');
  const database = await openDatabase({ kind: 'postgres', url }, { maxConnections: 2 });
  try {
    await migrateDatabase(database);
    console.log(`\n## Retention at ${rows} jobs on PostgreSQL: finished more than 15 days ago (about half)`);
    const olderThan = () => new Date(Date.now() - 15 * 86_400_000);
    const table: Record<string, unknown>[] = [];

    await seed(database, rows);
    let started = performance.now();
    const purge = await purgeJobExecutions(database.db, { olderThan: olderThan() });
    let seconds = (performance.now() - started) / 1000;
    table.push({
      case: 'jobscope purgeJobExecutions (batches of 1,000)',
      deleted: purge.deleted,
      seconds: seconds.toFixed(1),
      'rows/s': Math.round(purge.deleted / seconds),
      'longest lock ms': Math.round(purge.longestBatchMs),
    });

    await seed(database, rows);
    started = performance.now();
    const [deleted] = await database.query<{ n: unknown }>(
      `WITH gone AS (DELETE FROM job_executions WHERE status IN ('completed', 'failed', 'cancelled') AND completed_at < $1::timestamptz RETURNING 1)
       SELECT count(*) AS n FROM gone`,
      [olderThan().toISOString()],
    );
    seconds = (performance.now() - started) / 1000;
    const n = Number(deleted?.n ?? 0);
    table.push({ case: 'one plain DELETE (baseline)', deleted: n, seconds: seconds.toFixed(1), 'rows/s': Math.round(n / seconds), 'longest lock ms': Math.round(seconds * 1000) });
    console.table(table);
  } finally {
    await database.close();
  }
}
