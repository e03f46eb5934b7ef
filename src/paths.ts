import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder (the one with jobscope's package.json), found by walking up from this
 * module: it is at a different depth in src/ (tsx, tests) than in the bundled dist/, and the files
 * jobscope reads at run time (migrations, the PGlite template, GraphiQL's example operations) are
 * named from the root.
 */
function findRoot(from: string): string {
  for (let dir = from; ; ) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'jobscope') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`jobscope cannot find its package root above ${from}`);
    dir = parent;
  }
}

export const PACKAGE_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));

/** A file or folder of the package, by its path from the root (`drizzle`, `dist/db/pglite-template`). */
export const packagePath = (...segments: string[]): string => join(PACKAGE_ROOT, ...segments);
