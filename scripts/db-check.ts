/**
 * `npm run db:check`: fails when `drizzle-kit generate` would write a new migration, that is when
 * src/db/schema.ts declares something the committed migrations in drizzle/ do not create. It runs
 * generate on a temporary copy of drizzle/, so the work tree is never touched.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'jobscope-db-check-'));
try {
  const out = join(scratch, 'drizzle');
  cpSync(join(root, 'drizzle'), out, { recursive: true });
  const before = new Set(readdirSync(out));
  // The project's own config, with only the output folder moved.
  const config = join(scratch, 'drizzle.config.ts');
  writeFileSync(
    config,
    `import base from ${JSON.stringify(join(root, 'drizzle.config.ts'))};\nexport default { ...base, out: ${JSON.stringify(out)} };\n`,
  );
  const run = spawnSync(join(root, 'node_modules', '.bin', 'drizzle-kit'), ['generate', '--config', config], {
    cwd: root,
    encoding: 'utf8',
    // No terminal: a rename question must fail the check, not wait for an answer.
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  if (run.status !== 0) {
    process.stderr.write(run.stdout + run.stderr);
    throw new Error(`drizzle-kit generate failed (${run.error?.message ?? `exit status ${run.status}`})`);
  }
  const written = readdirSync(out).filter((name) => !before.has(name));
  if (written.length > 0) {
    for (const name of written) {
      const file = join(out, name, 'migration.sql');
      console.error(`== ${name}/migration.sql\n${existsSync(file) ? readFileSync(file, 'utf8') : '(none)'}`);
    }
    console.error(
      'db:check: src/db/schema.ts and drizzle/ disagree; `npm run db:generate` would write the migration above.',
    );
    process.exitCode = 1;
  } else {
    console.log('db:check: drizzle-kit generate writes no new migration');
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
