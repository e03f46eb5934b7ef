import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds dist/ when it is missing or older than src/, the migrations or the dependency patches: the CLI tests run the
 * compiled command, as `npm start` and `npx jobscope` do. Called once per run, from the global
 * setup, so test files never build at the same time.
 */
export function ensureBuilt(): void {
  const stamp = join(ROOT, 'dist', 'db', 'pglite-template', 'PG_VERSION');
  const fresh =
    existsSync(stamp) &&
    statSync(stamp).mtimeMs >= Math.max(...['src', 'drizzle', 'patches'].map((dir) => newestMtime(join(ROOT, dir))));
  if (!fresh) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}
