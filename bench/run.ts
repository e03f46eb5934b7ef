import { openDatabase, type DatabaseHandle } from '../src/db/client.js';
import { migrateDatabase } from '../src/db/migrate.js';
import { benchFanout } from './fanout.js';
import { benchGraphQL } from './graphql.js';
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

if (process.env.BENCH_ONLY === 'fanout') {
  await benchFanout(process.env.DATABASE_URL);
  process.exit(0);
}
console.log(`jobscope benchmarks: ${iterations} iterations per case (statistics: a quarter), ${rows} rows, node ${process.version}`);
// The compiled server (npm run bench builds it first), as `npm start` runs it.
await benchStartup(Number(process.env.BENCH_STARTUP_ROUNDS ?? 5));
if (process.env.BENCH_ONLY === 'startup') process.exit(0);
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
// Its own servers, in their own processes (the compiled one, as `npm start` runs it).
await benchFanout(process.env.DATABASE_URL);
