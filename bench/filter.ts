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
import { jobExecutions } from '../src/db/schema.js';
import { jobFilterCondition, parseJobFilter } from '../src/jobs/read/filter.js';
import { silentLogger } from '../src/logger.js';
import { measure, report } from './harness.js';
import { withSeededDatabase } from './seed-jobs.js';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const ITERATIONS = Number(process.env.BENCH_FILTER_ITERATIONS ?? 20);

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

await withSeededDatabase('jobscope_filter_bench', ROWS, async (database, target) => {
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
});
