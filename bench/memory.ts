import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssMiB, startServer } from './load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SETTLE_MS = Number(process.env.BENCH_MEMORY_SETTLE_MS ?? 15_000);

/** The bare floor: node:http and the same database client, answering one query. */
const BARE = {
  pglite: `import { createServer } from 'node:http';
import { PGlite } from '@electric-sql/pglite';
const db = await PGlite.create(process.env.PGLITE_DIR);
createServer(async (req, res) => { for await (const _ of req); const { rows } = await db.query('SELECT 1 AS n'); res.end(JSON.stringify(rows)); })
  .listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => db.close().then(() => process.exit(0)));`,
  postgres: `import { createServer } from 'node:http';
import postgres from 'postgres';
const sql = postgres(process.env.DATABASE_URL, { max: 10 });
createServer(async (req, res) => { for await (const _ of req); res.end(JSON.stringify(await sql\`SELECT 1 AS n\`)); })
  .listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => sql.end().then(() => process.exit(0)));`,
};

const answers = async (url: string, path: string) => (await fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' })).ok;

/**
 * Resident memory of the server process, 15 s after it first answered, on an empty database:
 * jobscope as `npm start` runs it (node dist/cli/index.js start) beside the bare floor.
 */
export async function benchMemory(databaseUrl: string | undefined): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  const targets: { name: string; env: Record<string, string>; bare: string; goal: number }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'jobscope-memory-'));
  targets.push({ name: 'PGlite (empty folder)', env: { PGLITE_DIR: 'yes', DATABASE_URL: '' }, bare: BARE.pglite, goal: 300 });
  if (databaseUrl) targets.push({ name: 'PostgreSQL', env: { DATABASE_URL: databaseUrl }, bare: BARE.postgres, goal: 150 });
  try {
    for (const target of targets) {
      const measured: number[] = [];
      for (const [name, command] of [
        ['bare node:http', [process.execPath, '--input-type=module', '-e', target.bare]],
        ['jobscope', [process.execPath, `${ROOT}dist/cli/index.js`, 'start']],
      ] as const) {
        // Each server its own empty folder.
        const folder = target.env.PGLITE_DIR ? join(dir, name.replace(/\W+/g, '-')) : '';
        const env = { ...target.env, LOG_DIR: 'off', ALERT_INTERVAL_SECONDS: '0', PGLITE_DIR: folder };
        const server = await startServer(name, [...command], { env, ready: (url) => answers(url, name === 'jobscope' ? '/graphql' : '/') });
        try {
          await new Promise((r) => setTimeout(r, SETTLE_MS));
          measured.push(rssMiB(server.pid));
        } finally {
          await server.stop();
        }
      }
      const [bare, jobscope] = measured as [number, number];
      rows.push({
        database: target.name,
        'bare node:http MiB': bare.toFixed(0),
        'jobscope MiB': jobscope.toFixed(0),
        '× bare': (jobscope / bare).toFixed(2),
        goal: `≤ ${target.goal} MiB`,
        met: jobscope <= target.goal ? 'yes' : 'no',
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\n## Resident memory at rest, ${SETTLE_MS / 1000} s after the first answer (server process alone)`);
  console.table(rows);
}
