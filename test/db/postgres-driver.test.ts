import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openThroughProxy, type ProxiedDatabase } from '../helpers/tcp-proxy.js';
import { ROOT } from '../helpers/build.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

/**
 * postgres.js 3.4.9 (the latest release) throws an uncaught TypeError from `nextWrite` when a
 * statement is written to a connection that has closed (porsager/postgres#1154, #1208; the fixes
 * #1168, #1209 and #1215 are unreleased), and the statement never settles. patches/ holds
 * jobscope's fix, applied by patch-package on install and bundled into dist/. The scenario runs in
 * a child process, once on the installed (patched) driver and once on a copy with the patch taken
 * out, so the test shows the defect and its fix side by side.
 */
const PATCH = join(ROOT, 'patches', readdirSync(join(ROOT, 'patches')).find((name) => name.startsWith('postgres+'))!);
const fixture = (name: string) => join(ROOT, 'test', 'db', 'fixtures', name);

interface Report {
  uncaught: number;
  messages: string[];
  outcomes: Record<string, string>;
}

function runScenario<T = Report>(driverDir: string, url: string, scenario = fixture('postgres-close-race.mjs')): T {
  const out = execFileSync(process.execPath, [scenario, driverDir, url], { encoding: 'utf8', timeout: 40_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as T;
}

describe.skipIf(databaseKind !== 'postgres')('the patched postgres.js driver, when PostgreSQL closes a connection under a transaction', () => {
  let database: TestDatabase;
  let unpatched: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    unpatched = mkdtempSync(join(tmpdir(), 'jobscope-postgres-unpatched-'));
    cpSync(join(ROOT, 'node_modules', 'postgres'), unpatched, { recursive: true });
    // The patch's paths are a/node_modules/postgres/…: strip three parts to apply it in the copy.
    execFileSync('patch', ['--silent', '--reverse', '-p3', '-d', unpatched, '-i', PATCH]);
  });
  afterAll(async () => {
    if (unpatched) rmSync(unpatched, { recursive: true, force: true });
    await database?.destroy();
  });
  const url = () => (database.target as { url: string }).url;

  it('without the patch: uncaught TypeErrors from nextWrite, statements that never settle, a pool that no longer answers', () => {
    const report = runScenario(unpatched, url());
    expect(report.uncaught).toBeGreaterThan(0);
    expect(report.messages).toEqual([expect.stringContaining("reading 'write'")]);
    expect(report.outcomes.afterClose0).toBe('hung');
  }, 60_000);

  it('with it: no uncaught error, every statement after the close fails with CONNECTION_CLOSED, and the pool answers again', () => {
    const report = runScenario(join(ROOT, 'node_modules', 'postgres'), url());
    expect(report.uncaught).toBe(0);
    expect(report.outcomes).toEqual({
      transaction0: 'CONNECTION_CLOSED',
      afterClose0: 'CONNECTION_CLOSED',
      transaction1: 'CONNECTION_CLOSED',
      afterClose1: 'CONNECTION_CLOSED',
      poolAfter: 'ok',
    });
  }, 60_000);

  // The first statement after a restore hung for postgres.js' connect_timeout (30 s) in the outage
  // test, about 3 runs in 10: closed() and terminate() cleared the pending write's immediate but
  // kept its handle and bytes (as LanternOps/breeze#3225), so the reconnect's StartupMessage was
  // appended to them and never flushed. The fixture lands the close in that window on purpose.
  const writeClose = (driverDir: string) =>
    runScenario<{ outcomes: Record<string, string | number> }>(driverDir, url(), fixture('postgres-write-close.mjs')).outcomes;

  it('without the patch: a socket closed while a write waits in its immediate leaves the next connection mute (the statement hangs)', () => {
    expect(writeClose(unpatched)).toEqual({ first: 'ok', closedUnder: 'CONNECTION_CLOSED', next: 'hung', sockets: 2 });
  }, 60_000);

  it('with it: the statement caught in the close fails, and the next one reconnects and is answered', () => {
    expect(writeClose(join(ROOT, 'node_modules', 'postgres'))).toEqual({ first: 'ok', closedUnder: 'CONNECTION_CLOSED', next: 'ok', sockets: 2 });
  }, 60_000);
});

describe('the driver that ships', () => {
  it('dist/ bundles the patched postgres.js (the package runs its own copy, not the install\'s)', () => {
    const chunks = readdirSync(join(ROOT, 'dist', 'chunks')).filter((name) => name.endsWith('.js'));
    const bundled = chunks.map((name) => readFileSync(join(ROOT, 'dist', 'chunks', name), 'utf8')).find((text) => text.includes('function nextWrite('));
    expect(bundled).toBeDefined();
    // esbuild drops the patch's comments: its statements are what is looked for.
    expect(bundled).toMatch(/function nextWrite\(fn\) \{\s+if \(socket === null\)/);
    expect(bundled).toMatch(/if \(closedError\)\s+return q\.reject\(closedError\)/);
    // closed() and terminate() forget the pending write along with its immediate.
    expect(bundled!.match(/^\s+clearImmediate\(nextWriteTimer\);\s+chunk = nextWriteTimer = null;/gm)).toHaveLength(2);
    // The type fetch's rejection is caught (esbuild may rename `execute`).
    expect(bundled).toMatch(/group by b\.oid, b\.typarray\s+order by b\.oid\s+`\], \[\], execute\w*\)\.catch\(\(\) => \[\]\)/);
  });
});

/**
 * Issue 8 asked why a statement could hang across a proxy's restore (cut-under-load saw a delivery's
 * statement neither fail nor settle for 20 s, a relay round for good; both are bounded since). The
 * same traffic in a loop (plain statements, pipelined ones, FOR UPDATE transactions on shared rows;
 * 30 callers on jobscope's pool of 10, with its capped backoff) across cuts and restores of a TCP
 * proxy: on the unpatched copy the first cut crashed the process (nextWrite on a null socket); with
 * the patch, 14 cuts and ~70k statements left none unsettled (issue 8's third pass). This pins it.
 */
describe.skipIf(databaseKind !== 'postgres')('jobscope\'s pool across cuts and restores of its connection', () => {
  let database: TestDatabase;
  let through: ProxiedDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    through = await openThroughProxy(database.target as { url: string });
    await through.handle.query('CREATE TABLE driver_cut (id int PRIMARY KEY, n int NOT NULL)');
    await through.handle.query('INSERT INTO driver_cut SELECT g, 0 FROM generate_series(1, 5) g');
  });
  afterAll(async () => {
    await through?.close();
    await database?.destroy();
  });

  it('hears of a connection lost during its type fetch through the statement that opened it, with no unhandled rejection', async () => {
    // A pool of its own, so that its next statement opens a connection, which fetches types first.
    const { openDatabase } = await import('../../src/db/client.js');
    const url = new URL((database.target as { url: string }).url);
    url.port = String(through.proxy.port);
    const fresh = await openDatabase({ kind: 'postgres', url: url.toString() });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const cut = through.proxy.cutAtFirstStatement();
      // Closed while the type fetch is out, then refused on reconnecting: the statement fails.
      await expect(fresh.query('SELECT 1 AS one')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      await cut;
      await delay(50);
      expect(unhandled.map(String)).toEqual([]);
      await through.proxy.restore();
      expect(await fresh.query('SELECT 1 AS one')).toEqual([{ one: 1 }]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await through.proxy.restore();
      await fresh.close();
    }
  });

  it('settles every statement (answered or failed) under load, and answers after each restore', async () => {
    const { handle, proxy } = through;
    const db = handle.db as unknown as { transaction<T>(run: (tx: { execute(q: unknown): Promise<unknown> }) => Promise<T>): Promise<T> };
    const outstanding = new Map<number, number>();
    let longestMs = 0;
    let answered = 0;
    let failed = 0;
    let running = true;
    let next = 0;
    const caller = async () => {
      while (running) {
        const id = next++;
        outstanding.set(id, Date.now());
        try {
          if (id % 3 === 0) {
            await db.transaction(async (tx) => {
              await tx.execute(sql`SELECT n FROM driver_cut WHERE id = ${1 + (id % 5)} FOR UPDATE`);
              await tx.execute(sql`UPDATE driver_cut SET n = n + 1 WHERE id = ${1 + (id % 5)}`);
            });
          } else if (id % 3 === 1) {
            await Promise.all([handle.query('SELECT 1'), handle.query('SELECT $1::int AS n', [id])]);
          } else {
            await handle.query('SELECT pg_sleep(0.002)');
          }
          answered++;
        } catch {
          failed++;
          await delay(20);
        } finally {
          longestMs = Math.max(longestMs, Date.now() - outstanding.get(id)!);
          outstanding.delete(id);
        }
      }
    };
    // postgres.js' type fetch on a fresh connection: lost with the connection (closed, then refused
    // on reconnecting), its promise was rejected with nobody listening (a crash under Node's default).
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const callers = Array.from({ length: 30 }, caller);
    try {
      for (let cut = 0; cut < 3; cut++) {
        await delay(400 + cut * 170);
        await proxy.cut('refuse');
        await delay(1_000);
        await proxy.restore();
        const before = answered;
        await expect.poll(() => answered, { timeout: 10_000 }).toBeGreaterThan(before);
      }
    } finally {
      running = false;
    }
    // A hung statement never settles; a slow one settles within the pool's 1 s reconnect backoff and
    // a connect. 15 s, under postgres.js' own 30 s connect timeout, so a stuck handshake counts too.
    const settled = await Promise.race([Promise.all(callers).then(() => true), delay(15_000).then(() => false)]);
    await delay(50); // unhandled rejections are reported after the microtasks that could have handled them
    process.off('unhandledRejection', onUnhandled);
    expect(unhandled.map((reason) => `${String(reason)} ${(reason as { query?: string }).query ?? ''}`.replace(/\s+/g, ' ').trim())).toEqual([]);
    expect({ settled, outstanding: outstanding.size }).toEqual({ settled: true, outstanding: 0 });
    expect(failed).toBeGreaterThan(0);
    expect(answered).toBeGreaterThan(failed);
    expect(longestMs).toBeLessThan(15_000);
    console.info('[postgres-driver] across 3 cuts:', { answered, failed, longestMs });
  }, 60_000);
});
