import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { randomId, signDelivery } from '../src/qstash/signing.js';
import { alternate, freePort, load, PRODUCTION_ENV, scratchDatabase, startServer, type LoadResult, type ServerProcess } from './load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KEYS = { current: 'sig_bench_deliveries_current_key', next: 'sig_bench_deliveries_next_key' };
const PATH = '/api/jobs/email';

/** A signed QStash delivery of a fresh send-email job, as QStash would POST it to `url`. */
function delivery(url: string) {
  const jobId = randomUUID();
  const body = JSON.stringify({
    jobId,
    type: 'send-email',
    payload: { to: 'bench@example.com', subject: 'bench', text: 'hello' },
    metadata: { createdAt: new Date().toISOString() },
  });
  return {
    body,
    headers: {
      'upstash-signature': signDelivery({ signingKey: KEYS.current, url, body: Buffer.from(body) }),
      'upstash-message-id': `msg_${randomId()}`,
      'upstash-retried': '0',
    },
  };
}

function row(result: LoadResult) {
  return { 'deliveries/s': Math.round(result.rps), 'p50 ms': result.p50, 'p99 ms': result.p99, 'CPU ms/delivery': result.cpuPerRequest.toFixed(3), 'PostgreSQL CPU ms/delivery': result.dbCpuPerRequest.toFixed(3), errors: result.errors };
}

/**
 * Signed deliveries of fresh jobs at 50 connections: jobscope's worker endpoint (production mode,
 * the real Receiver, the recorder) beside a bare node:http endpoint verifying the same signature
 * with the Receiver and committing the least a recorder may (bench/baseline/delivery-server.mjs).
 */
export async function benchDeliveries(databaseUrl: string): Promise<void> {
  const seconds = Number(process.env.BENCH_LOAD_SECONDS ?? 5);
  const rounds = Number(process.env.BENCH_LOAD_ROUNDS ?? 3);
  const connections = 50;
  // Fresh each run: every delivery adds a job.
  const url = await scratchDatabase(databaseUrl, 'jobscope_bench_deliveries', { fresh: true });
  const db = await openDatabase({ kind: 'postgres', url }, { maxConnections: 1 });
  await migrateDatabase(db);
  await db.close();

  const start = async (name: string, command: string[], extra: Record<string, string> = {}): Promise<ServerProcess> => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    return startServer(name, command, {
      port,
      env: {
        DATABASE_URL: url,
        BASE_URL: base,
        QSTASH_CURRENT_SIGNING_KEY: KEYS.current,
        QSTASH_NEXT_SIGNING_KEY: KEYS.next,
        ...extra,
      },
      ready: async (u) => {
        const fresh = delivery(u + PATH);
        return (await fetch(u + PATH, { method: 'POST', headers: { 'content-type': 'application/json', ...fresh.headers }, body: fresh.body })).ok;
      },
    });
  };
  const bare = await start('bare', ['node', `${ROOT}bench/baseline/delivery-server.mjs`]);
  const jobscope = await start('jobscope', ['node', `${ROOT}dist/cli/index.js`, 'start'], {
    ...PRODUCTION_ENV,
    JOBSCOPE_READ_KEYS: 'bench:deliveries-bench-read-key',
  });
  try {
    const run = (server: ServerProcess, s: number) => load(server, { path: PATH, fresh: () => delivery(server.url + PATH) }, { connections, seconds: s });
    const { limit: b, jobscope: j } = await alternate(run, bare, jobscope, { rounds, seconds });
    console.log(`\n## Signed deliveries of fresh jobs, ${connections} connections, PostgreSQL, ${rounds} × ${seconds} s rounds in alternation`);
    console.table([
      { case: 'limit: bare node:http + Receiver + the least a recorder commits', ...row(b) },
      {
        case: 'jobscope worker endpoint',
        ...row(j),
        '÷ limit': (j.rps / b.rps).toFixed(2),
        'p99 × limit': (j.p99 / b.p99).toFixed(1),
        'CPU × limit': (j.cpuPerRequest / b.cpuPerRequest).toFixed(1),
        'PostgreSQL CPU × limit': (j.dbCpuPerRequest / b.dbCpuPerRequest).toFixed(1),
      },
    ]);
  } finally {
    await jobscope.stop();
    await bare.stop();
  }
}
