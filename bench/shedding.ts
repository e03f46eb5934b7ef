import autocannon from 'autocannon';
import { fileURLToPath } from 'node:url';
import { PRODUCTION_ENV, scratchDatabase, startServer } from './load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const KEY = 'bench:shedding-benchmark-read-key-0123456789';
const auth = { authorization: `Bearer ${KEY.split(':')[1]}`, 'content-type': 'application/json' };
const SMALL = JSON.stringify({ query: '{ __typename }' });
// A 1 MB body that is a valid GraphQL request (the query's comment is the bulk): parsed in full.
const LARGE = JSON.stringify({ query: `{ __typename } # ${'x'.repeat(1024 * 1024 - 64)}` });

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/**
 * Issue 8's flood: 50 clients posting 1 MB bodies while one client probes `{ __typename }` one
 * request after another. With load shedding (the defaults) and without it (large bodies let in
 * without bound), the probe's latencies and how many probes answered at all, and what became of
 * the large bodies (2xx, 503 shed). jobscope in production mode, pinned to one core.
 */
export async function benchShedding(databaseUrl: string | undefined): Promise<void> {
  const seconds = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
  const env: Record<string, string> = databaseUrl
    ? { DATABASE_URL: await scratchDatabase(databaseUrl, 'jobscope_bench_shedding') }
    : { PGLITE_DIR: `/tmp/jobscope-bench-shedding-${process.pid}` };
  console.log(`\n## Load shedding: 50 clients posting 1 MB bodies for ${seconds} s, one client probing { __typename } (${databaseUrl ? 'PostgreSQL' : 'PGlite'})`);
  console.log('| limits | probes answered | probe p50 ms | p99 ms | max ms | 1 MB bodies 2xx | shed (503) |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [label, extra] of [
    ['defaults (1 large body at once)', {}],
    ['2 large bodies at once', { HTTP_MAX_CONCURRENT_LARGE_BODIES: '2' }],
    ['8 large bodies at once', { HTTP_MAX_CONCURRENT_LARGE_BODIES: '8' }],
    ['no shedding (large bodies unbounded)', { HTTP_MAX_CONCURRENT_LARGE_BODIES: '100000', HTTP_MAX_CONCURRENT_REQUESTS: '100000' }],
  ] as const) {
    const server = await startServer('jobscope', ['node', `${ROOT}dist/cli/index.js`, 'start'], {
      env: { ...env, ...PRODUCTION_ENV, QSTASH_CURRENT_SIGNING_KEY: 'sig_bench_current', QSTASH_NEXT_SIGNING_KEY: 'sig_bench_next', BASE_URL: 'http://127.0.0.1:9', JOBSCOPE_READ_KEYS: KEY, ...extra },
      ready: async (u) => (await fetch(`${u}/graphql`, { method: 'POST', headers: auth, body: SMALL }).catch(() => undefined))?.ok ?? false,
    });
    try {
      const flood = autocannon({ url: `${server.url}/graphql`, method: 'POST', headers: auth, body: LARGE, connections: 50, duration: seconds, timeout: 30 });
      const latencies: number[] = [];
      let unanswered = 0;
      const end = Date.now() + seconds * 1000;
      await new Promise((r) => setTimeout(r, 500));
      while (Date.now() < end) {
        const started = performance.now();
        const res = await fetch(`${server.url}/graphql`, { method: 'POST', headers: auth, body: SMALL, signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
        if (res?.ok) {
          await res.text();
          latencies.push(performance.now() - started);
        } else unanswered++;
        await new Promise((r) => setTimeout(r, 20));
      }
      const result = await flood;
      latencies.sort((a, b) => a - b);
      const shed = result.statusCodeStats?.['503']?.count ?? 0;
      console.log(
        `| ${label} | ${latencies.length} of ${latencies.length + unanswered} | ${percentile(latencies, 0.5)?.toFixed(1)} | ${percentile(latencies, 0.99)?.toFixed(1)} | ${latencies.at(-1)?.toFixed(1)} | ${result['2xx']} | ${shed} |`,
      );
    } finally {
      await server.stop();
    }
  }
}
