import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { benchBulk } from './bulk.js';
import { benchFanout } from './fanout.js';
import { benchFloor } from './floor.js';
import { benchGraphQL } from './graphql.js';
import { benchDeliveries } from './deliveries.js';
import { benchList } from './list.js';
import { benchMemory } from './memory.js';
import { benchPipeline } from './pipeline.js';
import { benchRetention } from './retention.js';
import { benchStartup } from './startup.js';
import { benchShedding } from './shedding.js';
import { benchStats } from './stats.js';

/**
 * `npm run bench`: figures as ratios against a baseline run side by side, on embedded PGlite and,
 * when DATABASE_URL is set, on that PostgreSQL server too (use a scratch database: it writes rows).
 */
const iterations = Number(process.env.BENCH_ITERATIONS ?? 200);
const rows = Number(process.env.BENCH_ROWS ?? 100_000);
const targets: [string, () => Promise<DatabaseHandle>][] = [['PGlite (in memory)', () => openDatabase({ kind: 'pglite' })]];
if (process.env.DATABASE_URL) {
  targets.push([`PostgreSQL (${new URL(process.env.DATABASE_URL).host})`, () => openDatabase({ kind: 'postgres', url: process.env.DATABASE_URL! })]);
}

console.log(`jobscope benchmarks: ${iterations} iterations per case (statistics: a quarter), ${rows} rows, node ${process.version}`);
// The compiled server (npm run bench builds it first), as `npm start` runs it.
// Statistics from rollups at 10k and 1M rows (BENCH_STATS_ROWS; PGlite: BENCH_STATS_PGLITE_ROWS,
// 10k and 100k by default, as seeding a million rows in wasm takes minutes). Runs last: it
// truncates job_executions before seeding each size.
const statsSizes = (value: string) => value.split(',').map(Number).filter((n) => n > 0);
const statsIterations = Number(process.env.BENCH_STATS_ITERATIONS ?? 20);
// BENCH_ONLY runs some parts (comma-separated): startup, memory, floor, list, deliveries, fanout,
// shedding, retention, pipeline, bulk, graphql, stats.
const only = process.env.BENCH_ONLY?.split(',').map((part) => part.trim());
const runs = (part: string) => !only || only.includes(part);
if (runs('startup')) await benchStartup(Number(process.env.BENCH_STARTUP_ROUNDS ?? 5));
if (runs('memory')) await benchMemory(process.env.DATABASE_URL);
if (runs('floor')) await benchFloor();
// Under load, on PostgreSQL only: PGlite answers one query at a time inside the server process.
if (runs('list') && process.env.DATABASE_URL) await benchList(process.env.DATABASE_URL);
if (runs('deliveries') && process.env.DATABASE_URL) await benchDeliveries(process.env.DATABASE_URL);
if (runs('fanout')) await benchFanout(process.env.DATABASE_URL);
if (runs('shedding')) await benchShedding(process.env.DATABASE_URL);
if (runs('retention') && process.env.DATABASE_URL) await benchRetention(process.env.DATABASE_URL);
if (only && !['pipeline', 'bulk', 'graphql', 'stats'].some(runs)) process.exit(0);
for (const [label, open] of targets) {
  const database = await open();
  try {
    await migrateDatabase(database);
    if (runs('pipeline')) await benchPipeline(database, label, iterations);
    // PostgreSQL only, as the other loads: on PGlite every publish, delivery and poll shares one thread.
    if (runs('bulk') && database.kind === 'postgres') await benchBulk(database, label);
    if (runs('graphql')) await benchGraphQL(database, label, rows, iterations);
    if (!runs('stats')) continue;
    const sizes = database.kind === 'pglite' ? process.env.BENCH_STATS_PGLITE_ROWS ?? '10000,100000' : process.env.BENCH_STATS_ROWS ?? '10000,1000000';
    await benchStats(database, label, statsSizes(sizes), statsIterations);
  } finally {
    await database.close();
  }
}
