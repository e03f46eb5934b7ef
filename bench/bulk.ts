import { createApp } from '../src/app.js';
import { serveNode } from '../src/adapters/node-server.js';
import { loadConfig } from '../src/config/index.js';
import type { DatabaseHandle } from '../src/db/client.js';
import { jobExecutions } from '../src/db/schema.js';
import { createLogger } from '../src/logger.js';

const OPERATION = 'id status matched processed succeeded failed ratePerSecond createdAt finishedAt';

/**
 * A bulk retry of `BENCH_BULK_JOBS` failed jobs (10,000) through the real server, relay, stand-in
 * and worker: the dry run's time, then the real run paced at `BENCH_BULK_RATE` per second (500),
 * its achieved rate beside the configured one (the baseline: pacing should hold it, not exceed it
 * nor fall short), and how long until every retried job has run again and completed.
 */
export async function benchBulk(database: DatabaseHandle, label: string): Promise<void> {
  const jobs = Number(process.env.BENCH_BULK_JOBS ?? 10_000);
  const rate = Number(process.env.BENCH_BULK_RATE ?? 500);
  await database.query('TRUNCATE job_executions, bulk_operations CASCADE');
  const now = Date.now();
  for (let start = 0; start < jobs; start += 1000) {
    await database.db.insert(jobExecutions).values(
      Array.from({ length: Math.min(1000, jobs - start) }, (_, k) => {
        const i = start + k;
        const jobId = `bulk-bench-${i}`;
        const payload = { to: `user${i}@example.com`, subject: 'bench', text: 'hello' };
        return {
          jobId,
          jobType: 'send-email',
          status: 'failed' as const,
          maxRetries: 0,
          error: 'ECONNRESET while sending',
          payload: { jobId, type: 'send-email', payload, metadata: {} },
          createdAt: new Date(now - 3_600_000 + i),
          startedAt: new Date(now - 3_600_000 + i + 100),
          completedAt: new Date(now - 3_600_000 + i + 200),
        };
      }),
    );
  }
  await database.query('ANALYZE job_executions');
  const app = await createApp({
    config: loadConfig({
      NODE_ENV: 'test',
      LOG_DIR: 'off',
      ALERT_INTERVAL_SECONDS: '0',
      QSTASH_RETRY_DELAY_FACTOR: '0.0001',
      JOBSCOPE_BULK_RATE_PER_SECOND: String(rate),
      JOBSCOPE_BULK_MAX_JOBS: String(Math.max(jobs, 100_000)),
    }),
    logger: createLogger({ level: 'error' }),
    database,
  });
  const server = await serveNode(app, { port: 0, host: '127.0.0.1' });
  const graphql = async <T>(query: string, variables: Record<string, unknown> = {}): Promise<T> => {
    const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data?: T; errors?: unknown };
    if (body.errors) throw new Error(JSON.stringify(body.errors));
    return body.data!;
  };
  type Operation = { id: string; status: string; matched: number; processed: number; succeeded: number; failed: number; createdAt: string; finishedAt: string | null };
  const retry = (dryRun: boolean) =>
    graphql<{ retryJobs: Operation }>(
      `mutation ($dryRun: Boolean) { retryJobs(filter: { status: [FAILED], jobType: ["send-email"], errorContains: "ECONNRESET" }, dryRun: $dryRun) { ${OPERATION} } }`,
      { dryRun },
    ).then((d) => d.retryJobs);
  const completed = async () =>
    (await database.query<{ n: number }>("SELECT count(*)::int AS n FROM job_executions WHERE status = 'completed'"))[0]!.n;
  try {
    const dryStart = performance.now();
    const dry = await retry(true);
    const dryMs = performance.now() - dryStart;
    const started = performance.now();
    let operation = await retry(false);
    while (operation.status === 'RUNNING') {
      await new Promise((r) => setTimeout(r, 100));
      operation = (await graphql<{ bulkOperation: Operation }>(`query ($id: ID!) { bulkOperation(id: $id) { ${OPERATION} } }`, { id: operation.id })).bulkOperation;
    }
    const bulkSeconds = (performance.now() - started) / 1000;
    // The first job is processed at once and each next one 1/rate later: (n − 1) / rate is the pace's own time.
    const paced = (operation.processed - 1) / rate;
    const deadline = performance.now() + 600_000;
    while ((await completed()) < jobs && performance.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    const pipelineSeconds = (performance.now() - started) / 1000;
    const done = await completed();
    console.log(`\n## Bulk retry of ${jobs} failed jobs on ${label}, paced at ${rate}/s`);
    console.table([
      { case: 'dry run (matched + sample)', matched: dry.matched, 'ms': dryMs.toFixed(0) },
      {
        case: 'bulk operation, start → COMPLETED',
        status: operation.status,
        processed: operation.processed,
        succeeded: operation.succeeded,
        failed: operation.failed,
        's': bulkSeconds.toFixed(1),
        'achieved /s': (operation.processed / bulkSeconds).toFixed(0),
        'pace alone s': paced.toFixed(1),
        '÷ configured rate': (operation.processed / bulkSeconds / rate).toFixed(2),
      },
      { case: 'every retried job run again and completed', completed: done, 's': pipelineSeconds.toFixed(1), 'jobs/s': (done / pipelineSeconds).toFixed(0) },
    ]);
  } finally {
    await server.close();
  }
}
