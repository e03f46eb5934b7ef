import { createApp } from '../src/app.js';
import { serveNode } from '../src/adapters/node-server.js';
import { loadConfig } from '../src/config/index.js';
import type { DatabaseHandle } from '../src/db/client.js';
import { jobAttempts, jobExecutions, JOB_STATUSES, type NewJobExecution } from '../src/db/schema.js';
import { silentLogger } from '../src/logger.js';
import { measure, report } from './harness.js';

const TYPES = ['send-email', 'generate-report', 'resize-image', 'sync-crm'];

/** `rows` executions over the last 30 days, one attempt each, inserted in 1,000-row batches. */
async function seed(database: DatabaseHandle, rows: number): Promise<void> {
  const now = Date.now();
  for (let start = 0; start < rows; start += 1000) {
    const batch: NewJobExecution[] = [];
    for (let i = start; i < Math.min(rows, start + 1000); i++) {
      const jobId = `bench-${i}`;
      const createdAt = new Date(now - ((i * 7919) % (30 * 86_400_000)));
      const status = JOB_STATUSES[i % 7 === 0 ? 4 : i % 11 === 0 ? 1 : 3]!;
      const startedAt = new Date(createdAt.getTime() + 200 + (i % 50) * 10);
      batch.push({
        jobId,
        jobType: TYPES[i % TYPES.length]!,
        status,
        payload: { jobId, type: TYPES[i % TYPES.length]!, payload: { n: i }, metadata: { userId: `u${i % 100}` } },
        userId: `u${i % 100}`,
        error: status === 'failed' ? 'SMTP timeout' : null,
        createdAt,
        startedAt,
        completedAt: status === 'processing' ? null : new Date(startedAt.getTime() + 100 + (i % 997) * 37),
      });
    }
    await database.db.insert(jobExecutions).values(batch);
    await database.db.insert(jobAttempts).values(
      batch.map((b) => ({ jobId: b.jobId, attempt: 0, messageId: `msg_${b.jobId}`, startedAt: b.startedAt!, finishedAt: b.completedAt, durationMs: 100, httpStatus: 200 })),
    );
  }
  await database.query('ANALYZE');
}

const LIST_QUERY = /* GraphQL */ `
  query Recent {
    jobExecutions(first: 50) {
      nodes { jobId jobType status retryCount createdAt completedAt error attempts { attempt httpStatus durationSeconds } }
    }
  }`;
const STATS_QUERY = /* GraphQL */ `
  query Stats { jobStats { jobType status count avgDurationSeconds p95DurationSeconds } }`;

/**
 * GraphQL over HTTP against the raw SQL that answers the same question, on the same rows: the
 * guide's "recent jobs" (with each job's attempts) and its statistics query.
 */
export async function benchGraphQL(database: DatabaseHandle, label: string, rows: number, iterations: number): Promise<void> {
  const seeded = Date.now();
  await seed(database, rows);
  console.log(`\nseeded ${rows} executions + ${rows} attempts on ${label} in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
  const app = await createApp({
    config: loadConfig({ NODE_ENV: 'test', LOG_DIR: 'off', ALERT_INTERVAL_SECONDS: '0' }),
    logger: silentLogger(),
    database,
  });
  const server = await serveNode(app, { port: 0, host: '127.0.0.1' });
  const baseUrl = server.url;
  const graphql = async (query: string) => {
    const res = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query }),
    });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body;
  };
  try {
    const rawList = await measure('raw SQL: 50 newest + their attempts', iterations, async () => {
      const recent = await database.query<{ job_id: string }>(
        'SELECT job_id, job_type, status, retry_count, created_at, completed_at, error FROM job_executions ORDER BY created_at DESC, job_id DESC LIMIT 50',
      );
      await database.query('SELECT * FROM job_attempts WHERE job_id = ANY($1) ORDER BY id', [recent.map((r) => r.job_id)]);
    });
    const gqlList = await measure('GraphQL jobExecutions(first: 50) { nodes { … attempts } }', iterations, () => graphql(LIST_QUERY));
    report(`Recent jobs at ${rows} rows on ${label}`, rawList, [gqlList]);

    const statsIterations = Math.max(5, Math.floor(iterations / 4));
    // The raw loop below keeps this thread busy for seconds on PGlite (in-process wasm), past the
    // server's 5 s keep-alive: the client may then reuse a socket whose close it has not yet read
    // ("other side closed"). A warm-up after it, retried once on such a socket, keeps that race
    // out of the measured requests.
    const warm = async () => {
      try {
        await graphql(STATS_QUERY);
      } catch (error) {
        if ((error as { cause?: { code?: string } }).cause?.code !== 'UND_ERR_SOCKET') throw error;
        await graphql(STATS_QUERY);
      }
    };
    const rawStats = await measure("raw SQL: the guide's statistics query", statsIterations, () =>
      database.query(
        'SELECT job_type, status, COUNT(*) as count, AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) as avg_duration_seconds FROM job_executions WHERE completed_at IS NOT NULL GROUP BY job_type, status;',
      ),
    );
    await warm();
    const gqlStats = await measure('GraphQL jobStats (all statuses, + p50/p95/p99)', statsIterations, () => graphql(STATS_QUERY));
    report(`Job statistics at ${rows} rows on ${label}`, rawStats, [gqlStats]);
  } finally {
    await server.close();
  }
}
