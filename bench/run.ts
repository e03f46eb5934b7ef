import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { benchGraphQL } from './graphql.js';
import { benchDeliveries } from './deliveries.js';
import { benchList } from './list.js';
import { benchMemory } from './memory.js';
import { benchPipeline } from './pipeline.js';
import { benchStartup } from './startup.js';

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
const only = process.env.BENCH_ONLY;
if (!only || only === 'startup') await benchStartup(Number(process.env.BENCH_STARTUP_ROUNDS ?? 5));
// Under load, on PostgreSQL only: PGlite answers one query at a time inside the server process.
if (!only || only === 'memory') await benchMemory(process.env.DATABASE_URL);
if ((!only || only === 'list') && process.env.DATABASE_URL) await benchList(process.env.DATABASE_URL);
if ((!only || only === 'deliveries') && process.env.DATABASE_URL) await benchDeliveries(process.env.DATABASE_URL);
if (only) process.exit(0);
for (const [label, open] of targets) {
  const database = await open();
  try {
    await migrateDatabase(database);
    await benchPipeline(database, label, iterations);
    await benchGraphQL(database, label, rows, iterations);
  } finally {
    await database.close();
  }
}
