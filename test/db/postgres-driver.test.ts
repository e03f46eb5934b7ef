import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
const SCENARIO = join(ROOT, 'test', 'db', 'fixtures', 'postgres-close-race.mjs');

interface Report {
  uncaught: number;
  messages: string[];
  outcomes: Record<string, string>;
}

function runScenario(driverDir: string, url: string): Report {
  const out = execFileSync(process.execPath, [SCENARIO, driverDir, url], { encoding: 'utf8', timeout: 40_000 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Report;
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
});

describe('the driver that ships', () => {
  it('dist/ bundles the patched postgres.js (the package runs its own copy, not the install\'s)', () => {
    const chunks = readdirSync(join(ROOT, 'dist', 'chunks')).filter((name) => name.endsWith('.js'));
    const bundled = chunks.map((name) => readFileSync(join(ROOT, 'dist', 'chunks', name), 'utf8')).find((text) => text.includes('function nextWrite('));
    expect(bundled).toBeDefined();
    // esbuild drops the patch's comments: its statements are what is looked for.
    expect(bundled).toMatch(/function nextWrite\(fn\) \{\s+if \(socket === null\)/);
    expect(bundled).toMatch(/if \(closedError\)\s+return q\.reject\(closedError\)/);
  });
});
