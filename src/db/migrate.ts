import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { packagePath } from '../paths.js';
import type { DatabaseHandle } from './client.js';

/** The committed drizzle-kit migrations. */
export const MIGRATIONS_FOLDER = packagePath('drizzle');

/**
 * A migration failed, so none of the pending ones was applied (drizzle runs them in one
 * transaction). The message is the database's own (e.g. why a guide table cannot be adopted),
 * with its hint; drizzle's wrapper, which quotes the whole migration, is the `cause`.
 */
export class MigrationError extends Error {
  override name = 'MigrationError';
  constructor(options: { cause: unknown }) {
    super(`Database migration failed: ${describe(options.cause)}`, options);
  }
}

/** The innermost error's message and hint: drizzle wraps the driver's error in `cause`. */
function describe(error: unknown): string {
  let inner = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  if (!(inner instanceof Error)) return String(inner);
  const hint = (inner as { hint?: unknown }).hint;
  return typeof hint === 'string' && hint !== '' ? `${inner.message} (${hint})` : inner.message;
}

/** The migrations in the folder, by name: drizzle runs each whose name it has not recorded. */
function localMigrations(): string[] {
  return readdirSync(MIGRATIONS_FOLDER).filter((name) => existsSync(join(MIGRATIONS_FOLDER, name, 'migration.sql')));
}

/**
 * Whether every local migration is recorded already: the common start, answered with two small
 * queries instead of drizzle's migrator, which reads and hashes every file and checks its own
 * table's shape first (~150 ms of each PGlite start here).
 */
async function allApplied(handle: DatabaseHandle, migrationsSchema: string): Promise<boolean> {
  const table = `"${migrationsSchema}".__drizzle_migrations`;
  const [exists] = await handle.query<{ present: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS present`, [table]);
  if (!exists?.present) return false;
  const recorded = new Set((await handle.query<{ name: string | null }>(`SELECT name FROM ${table}`)).map((r) => r.name));
  return localMigrations().every((name) => recorded.has(name));
}

/**
 * Applies pending migrations; already-applied ones are skipped, so this is safe at every start.
 * A job_executions table left by the operations guide's app is adopted in place (see
 * drizzle/20261130084736_adopt_guide_table).
 *
 * With `handle.schema` set, the schema is created if missing and holds drizzle's migrations table
 * too, so the schema carries its own migration history. Unset, drizzle's default `drizzle`
 * schema keeps it, as for every database migrated so far.
 */
export async function migrateDatabase(handle: DatabaseHandle): Promise<void> {
  const migrationsSchema = handle.schema ?? 'drizzle';
  const config = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema };
  try {
    if (await allApplied(handle, migrationsSchema)) return;
    if (handle.schema !== undefined) await handle.query(`CREATE SCHEMA IF NOT EXISTS "${handle.schema}"`);
    if (handle.kind === 'pglite') await migratePglite(handle.db as never, config);
    else await migratePostgres(handle.db as never, config);
  } catch (error) {
    throw new MigrationError({ cause: error });
  }
}
