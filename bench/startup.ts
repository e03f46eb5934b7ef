import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { report, type Measured } from './harness.js';
import { freePort } from './load.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const QUERY = JSON.stringify({ query: '{ jobHealth { status } }' });

/**
 * The floor for the same start: node, PGlite opening (or creating) the same folder, and a
 * node:http server answering one query from it. Run with `node --input-type=module -e`.
 */
const BARE_SERVER = `
import { createServer } from 'node:http';
import { PGlite } from '@electric-sql/pglite';
const db = await PGlite.create(process.env.PGLITE_DIR);
const server = createServer(async (req, res) => {
  for await (const _ of req);
  const { rows } = await db.query("SELECT count(*)::int AS n FROM pg_class");
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: rows }));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.close(); db.close().then(() => process.exit(0)); });
`;


/**
 * Milliseconds from spawning `command` to its first answered GraphQL query; then SIGTERM and wait
 * for a clean exit, so the next start finds the folder as a stopped server leaves it.
 */
async function timeStart(command: string[], dataDir: string): Promise<number> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PGLITE_DIR: dataDir, LOG_DIR: 'off', ALERT_INTERVAL_SECONDS: '0', DATABASE_URL: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group: `npm start` runs the server as a child that a signal to npm alone
    // does not stop (seen here: npm exited, the server kept the PGlite folder open).
    detached: true,
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited with ${child.exitCode}: ${stderr}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: QUERY });
        if (res.ok) {
          await res.text();
          return Number(process.hrtime.bigint() - started) / 1e6;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    await groupGone(child.pid!);
  }
}

/** Resolves once no process of the group is left (the server has closed the folder). */
async function groupGone(pgid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(-pgid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Start-up of the compiled server, to the first answered query: on an empty PGlite folder and on
 * the folder that start left, against a bare node:http + PGlite server doing the same.
 */
export async function benchStartup(rounds: number): Promise<void> {
  const cases: [string, string[]][] = [
    ['bare node:http + PGlite', [process.execPath, '--input-type=module', '-e', BARE_SERVER]],
    ['node dist/cli/index.js start', [process.execPath, 'dist/cli/index.js', 'start']],
    ['npm start', ['npm', 'start', '--silent']],
  ];
  const empty = new Map<string, Measured>(cases.map(([name]) => [name, { name, samples: [] }]));
  const existing = new Map<string, Measured>(cases.map(([name]) => [name, { name, samples: [] }]));
  // Rounds alternate the cases, so a slow moment of the machine hits all of them alike.
  for (let round = 0; round < rounds; round++) {
    for (const [name, command] of cases) {
      const dir = mkdtempSync(join(tmpdir(), 'jobscope-startup-'));
      try {
        empty.get(name)!.samples.push(await timeStart(command, dir));
        existing.get(name)!.samples.push(await timeStart(command, dir));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const [base, ...rest] = cases.map(([name]) => name);
  report(`start-up to the first answered query, empty PGlite folder (${rounds} rounds)`, empty.get(base!)!, rest.map((n) => empty.get(n)!));
  report(`start-up to the first answered query, existing PGlite folder (${rounds} rounds)`, existing.get(base!)!, rest.map((n) => existing.get(n)!));
}
