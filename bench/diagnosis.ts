/**
 * What a diagnosis and a systemCheck cost at a given table size (issue 10), through the real
 * server: `jobDiagnosis` of a job that failed through the pipeline and of a seeded failed one,
 * and the whole `systemCheck` (its signed probes, a QStash call and the window's reads), beside
 * `{ __typename }`. PostgreSQL only: it creates a scratch database next to DATABASE_URL's.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/diagnosis.ts [rows]
 */
import { z } from 'zod';
import { serveNode } from '../src/adapters/node-server.js';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { defineJob } from '../src/jobs/registry.js';
import { silentLogger } from '../src/logger.js';
import { measure, report } from './harness.js';
import { withSeededDatabase } from './seed-jobs.js';

const ROWS = Number(process.argv[2] ?? 100_000);
const ITERATIONS = Number(process.env.BENCH_DIAGNOSIS_ITERATIONS ?? 20);
const failing = defineJob({
  type: 'send-email',
  endpoint: '/api/jobs/email',
  schema: z.object({}),
  timeoutSeconds: 5,
  retries: 0,
  handler: async () => {
    throw new Error('SMTP timeout');
  },
});

await withSeededDatabase('jobscope_diagnosis_bench', ROWS, async (database, target) => {
  const config = loadConfig({ NODE_ENV: 'test', LOG_DIR: 'off', ALERT_INTERVAL_SECONDS: '0', JOBSCOPE_REAPER_INTERVAL_SECONDS: '0', QSTASH_RETRY_DELAY_FACTOR: '0.0001' });
  const app = await createApp({ config, logger: silentLogger(), database, jobs: [failing] });
  const server = await serveNode(app, { port: 0, host: '127.0.0.1' });
  try {
    const ask = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as { data?: unknown; errors?: unknown };
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const job = await app.jobs.enqueue('send-email', {});
    for (let i = 0; i < 200 && (await app.jobs.read.get(job.jobId))?.status !== 'failed'; i++) await new Promise((r) => setTimeout(r, 50));
    const DIAGNOSE = 'query ($id: ID!) { jobDiagnosis(jobId: $id) { verdict summary evidence { message } handlerError { otherJobsWithSameError } } }';
    const seededFailed = 'f-7';
    console.log('pipeline job:', JSON.stringify(await ask(DIAGNOSE, { id: job.jobId })).slice(0, 200));
    const baseline = await measure('GraphQL { __typename }', ITERATIONS, () => ask('{ __typename }'));
    const cases = [
      await measure('jobDiagnosis of a job failed through the pipeline (asks QStash)', ITERATIONS, () => ask(DIAGNOSE, { id: job.jobId })),
      await measure('jobDiagnosis of a seeded failed job', ITERATIONS, () => ask(DIAGNOSE, { id: seededFailed })),
      await measure('systemCheck (probes, QStash, the window)', ITERATIONS, () => ask('{ systemCheck { status groups { items { name status } } } }')),
    ];
    report(`Diagnosis and systemCheck at ${ROWS} rows on PostgreSQL`, baseline, cases);
  } finally {
    await server.close();
  }
});
