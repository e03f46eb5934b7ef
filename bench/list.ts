import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { alternate, load, PRODUCTION_ENV, scratchDatabase, startServer, type LoadResult, type ServerProcess } from './load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KEY = 'bench:list-benchmark-read-key-0123456789';

/**
 * The list under load, as issue 7 measured it: jobscope in production mode with a read key beside
 * a bare node:http + postgres.js server answering the same SQL (the limit), each pinned to one
 * core, autocannon at 50 connections on the other, rounds in alternation.
 */
const CASES = [
  {
    name: '50 newest failed jobs',
    bare: 'failed',
    query: '{ jobExecutions(filter: {status: [FAILED]}, first: 50) { nodes { jobId jobType status retryCount error createdAt } } }',
  },
  {
    name: 'same, with every attempt',
    bare: 'attempts',
    query:
      '{ jobExecutions(filter: {status: [FAILED]}, first: 50) { nodes { jobId jobType status retryCount error createdAt attempts { attempt httpStatus durationSeconds error } } } }',
  },
] as const;

/** `rows` jobs over 30 days, one attempt each and four for failed ones, written by SQL in one pass. */
async function seed(url: string, rows: number): Promise<void> {
  const db = await openDatabase({ kind: 'postgres', url }, { maxConnections: 1 });
  try {
    await migrateDatabase(db);
    const [{ n }] = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM job_executions')) as [{ n: number }];
    if (n === rows) return;
    await db.query('TRUNCATE job_executions CASCADE');
    await db.query(
      `INSERT INTO job_executions (job_id, job_type, status, retry_count, payload, user_id, error, created_at, started_at, completed_at)
       SELECT 'bench-' || i,
              (ARRAY['send-email','generate-report','resize-image','sync-crm'])[1 + i % 4],
              s.status::job_status,
              CASE WHEN s.status = 'failed' THEN 3 ELSE 0 END,
              jsonb_build_object('jobId', 'bench-' || i, 'type', 'send-email', 'payload', jsonb_build_object('n', i, 'to', 'user' || i || '@example.com'), 'metadata', jsonb_build_object('userId', 'u' || i % 100)),
              'u' || i % 100,
              CASE WHEN s.status = 'failed' THEN 'SMTP timeout after 30000 ms' END,
              c.created_at, c.created_at + interval '200 ms',
              CASE WHEN s.status = 'processing' THEN NULL ELSE c.created_at + interval '200 ms' + (100 + (i % 997) * 37) * interval '1 ms' END
       FROM generate_series(1, $1::int) AS i,
            LATERAL (SELECT CASE WHEN i % 7 = 0 THEN 'failed' WHEN i % 11 = 0 THEN 'processing' ELSE 'completed' END AS status) s,
            LATERAL (SELECT now() - ((i::bigint * 7919 * 1000) % 2592000000) * interval '1 ms' AS created_at) c`,
      [rows],
    );
    await db.query(
      `INSERT INTO job_attempts (job_id, attempt, message_id, started_at, finished_at, duration_ms, http_status, error)
       SELECT e.job_id, a, 'msg_' || e.job_id || '_' || a, e.started_at, e.completed_at, 100 + a,
              CASE WHEN e.status = 'failed' THEN 500 ELSE 200 END, e.error
       FROM job_executions e, generate_series(0, e.retry_count) AS a`,
    );
    await db.query('ANALYZE');
  } finally {
    await db.close();
  }
}

function row(result: LoadResult) {
  return {
    'req/s': Math.round(result.rps),
    'p50 ms': result.p50,
    'p99 ms': result.p99,
    'CPU ms/req': result.cpuPerRequest.toFixed(3),
    'PostgreSQL CPU ms/req': result.dbCpuPerRequest.toFixed(3),
    errors: result.errors,
  };
}

async function graphqlReady(url: string): Promise<boolean> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY.split(':')[1]}` },
    body: JSON.stringify({ query: '{ __typename }' }),
  });
  return res.ok;
}

/** The same answer from both servers, or the comparison means nothing. */
async function sameAnswer(bare: ServerProcess, jobscope: ServerProcess, c: (typeof CASES)[number]): Promise<void> {
  const body = JSON.stringify({ query: c.query });
  const [a, b] = await Promise.all([
    fetch(`${bare.url}/graphql?case=${c.bare}`, { method: 'POST', body }).then((r) => r.text()),
    fetch(`${jobscope.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY.split(':')[1]}` },
      body,
    }).then((r) => r.text()),
  ]);
  if (JSON.stringify(JSON.parse(a)) !== JSON.stringify(JSON.parse(b))) {
    throw new Error(`${c.name}: the servers answer differently\nbare: ${a.slice(0, 300)}\njobscope: ${b.slice(0, 300)}`);
  }
}

export async function benchList(databaseUrl: string): Promise<void> {
  const rows = Number(process.env.BENCH_LIST_ROWS ?? 100_000);
  const seconds = Number(process.env.BENCH_LOAD_SECONDS ?? 5);
  const rounds = Number(process.env.BENCH_LOAD_ROUNDS ?? 3);
  const connections = 50;
  const url = await scratchDatabase(databaseUrl, 'jobscope_bench_list');
  const seeded = Date.now();
  await seed(url, rows);
  console.log(`\n## List under load: ${rows} jobs on PostgreSQL (seeded in ${((Date.now() - seeded) / 1000).toFixed(1)} s), ${connections} connections, ${rounds} × ${seconds} s rounds in alternation`);

  const env = { DATABASE_URL: url };
  const bare = await startServer('bare', ['node', 'bench/baseline/list-server.mjs'], {
    env,
    ready: async (u) => (await fetch(`${u}/graphql?case=failed`, { method: 'POST', body: '{}' })).ok,
  });
  const jobscope = await startServer('jobscope', ['node', `${ROOT}dist/cli/index.js`, 'start'], {
    env: {
      ...env,
      ...PRODUCTION_ENV,
      QSTASH_CURRENT_SIGNING_KEY: 'sig_bench_current',
      QSTASH_NEXT_SIGNING_KEY: 'sig_bench_next',
      BASE_URL: 'http://127.0.0.1:9',
      JOBSCOPE_READ_KEYS: KEY,
    },
    ready: graphqlReady,
  });
  const auth = { authorization: `Bearer ${KEY.split(':')[1]}` };
  try {
    const table: Record<string, unknown>[] = [];
    const floor: LoadResult[] = [];
    for (const c of CASES) {
      await sameAnswer(bare, jobscope, c);
      const body = JSON.stringify({ query: c.query });
      const run = (server: ServerProcess, s: number) =>
        server === bare
          ? load(bare, { path: `/graphql?case=${c.bare}`, body }, { connections, seconds: s })
          : load(jobscope, { path: '/graphql', body, headers: auth }, { connections, seconds: s });
      const { limit: b, jobscope: j } = await alternate(run, bare, jobscope, { rounds, seconds });
      table.push({ case: `${c.name}: limit (bare node:http + postgres.js)`, ...row(b) });
      table.push({
        case: `${c.name}: jobscope`,
        ...row(j),
        'req/s ÷ limit': (j.rps / b.rps).toFixed(2),
        'p99 × limit': (j.p99 / b.p99).toFixed(1),
        'CPU × limit': (j.cpuPerRequest / b.cpuPerRequest).toFixed(1),
        'PostgreSQL CPU × limit': (j.dbCpuPerRequest / b.dbCpuPerRequest).toFixed(1),
      });
      if (floor.length === 0) floor.push(b);
    }
    // The framework floor: Yoga, limits, auth and logging answering without the database.
    const typename = JSON.stringify({ query: '{ __typename }' });
    await load(jobscope, { path: '/graphql', body: typename, headers: auth }, { connections, seconds: 1 });
    const t = await load(jobscope, { path: '/graphql', body: typename, headers: auth }, { connections, seconds });
    table.push({ case: '{ __typename } (no database): jobscope', ...row(t), 'req/s ÷ limit': (t.rps / floor[0]!.rps).toFixed(2) });
    console.table(table);
    console.log('ratios: median round of each; "limit" is the first case\'s bare server for { __typename }');
  } finally {
    await jobscope.stop();
    await bare.stop();
  }
}
