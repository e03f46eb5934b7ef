import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from './index.js';

/** Looked for in the working directory, in this order, when no `--config` is given. */
export const CONFIG_FILE_NAMES = [
  'jobscope.config.ts',
  'jobscope.config.mts',
  'jobscope.config.js',
  'jobscope.config.mjs',
  'jobscope.config.cjs',
] as const;

/** The config file in `cwd`, or undefined when there is none. */
export function findConfigFile(cwd: string = process.cwd()): string | undefined {
  return CONFIG_FILE_NAMES.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
}

/**
 * The default export of a config file. JavaScript is imported natively; TypeScript goes through
 * jiti (the loader ESLint and Tailwind use for their `.ts` configs), so a team needs no build step
 * and jobscope needs no TypeScript at run time. A file that is missing or fails to load is a
 * ConfigError naming it.
 */
export async function importConfigFile(path: string, cwd: string = process.cwd()): Promise<unknown> {
  const absolute = isAbsolute(path) ? path : resolve(cwd, path);
  if (!existsSync(absolute)) throw new ConfigError([`config file not found: ${absolute}`]);
  let module: { default?: unknown };
  try {
    if (/\.[cm]?ts$/.test(absolute)) {
      const { createJiti } = await import('jiti');
      module = await createJiti(import.meta.url, { interopDefault: false, moduleCache: false }).import(absolute);
    } else {
      module = (await import(pathToFileURL(absolute).href)) as { default?: unknown };
    }
  } catch (error) {
    throw new ConfigError([`could not load it: ${error instanceof Error ? error.message : String(error)}`], absolute);
  }
  if (module.default === undefined) {
    throw new ConfigError(['it has no default export: write `export default defineConfig({ … })`'], absolute);
  }
  return module.default;
}
