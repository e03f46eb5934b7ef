import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle, type DatabaseTarget } from '../../src/db/client.js';
import { withDatabaseName } from './postgres.js';

/** Which database this run tests against: PostgreSQL when DATABASE_URL is set, else PGlite. */
export const databaseKind: 'postgres' | 'pglite' = process.env.DATABASE_URL ? 'postgres' : 'pglite';

export interface TestDatabase {
  handle: DatabaseHandle;
  /** How to open the same database again (restart tests). */
  target: DatabaseTarget;
  /** Closes the handle and drops the database. */
  destroy(): Promise<void>;
}

/** A PostgreSQL database this test created: `destroy` closes it and drops it. */
async function ownedDatabase(admin: DatabaseHandle, name: string, target: DatabaseTarget, logger?: DrizzleLogger): Promise<TestDatabase> {
  const handle = await openDatabase(target, logger ? { logger } : {});
  return {
    handle,
    target,
    async destroy() {
      await handle.close();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.close();
    },
  };
}

let templateBlob: Blob | undefined;
function pgliteTemplate(): Blob {
  templateBlob ??= new Blob([readFileSync(inject('pgliteTemplate'))]);
  return templateBlob;
}

/**
 * A fresh, migrated database for one test file: a copy of the run's template database on
 * PostgreSQL, or a PGlite loaded from the migrated dump (in memory, or in `dataDir`).
 */
export async function createTestDatabase(options: { logger?: DrizzleLogger; dataDir?: string } = {}): Promise<TestDatabase> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = `jobscope_t_${randomBytes(6).toString('hex')}`;
    const admin = await openDatabase({ kind: 'postgres', url }, { maxConnections: 1 });
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${inject('postgresTemplate')}`);
        break;
      } catch (error) {
        // Two files copying the template at the same instant: one waits and tries again.
        if (attempt >= 20 || !String(error).includes('being accessed by other users')) throw error;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
    return ownedDatabase(admin, name, { kind: 'postgres', url: withDatabaseName(url, name) }, options.logger);
  }
  const handle = await openDatabase(
    { kind: 'pglite', dataDir: options.dataDir, loadDataDir: pgliteTemplate() },
    options.logger ? { logger: options.logger } : {},
  );
  return {
    handle,
    target: { kind: 'pglite', dataDir: options.dataDir },
    async destroy() {
      await handle.close();
    },
  };
}

/**
 * An empty, unmigrated database, for what migrations do to databases jobscope did not create: a
 * new PostgreSQL database (`CREATE DATABASE` without a template, so from template1), or a fresh
 * in-memory PGlite (about 3 s to start, so use it sparingly). `timeZone` becomes the session
 * TimeZone of every connection to it; `schema` is passed to openDatabase.
 */
export async function createEmptyDatabase(options: { schema?: string; timeZone?: string } = {}): Promise<TestDatabase> {
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = `jobscope_t_${randomBytes(6).toString('hex')}`;
    const admin = await openDatabase({ kind: 'postgres', url }, { maxConnections: 1 });
    await admin.query(`CREATE DATABASE ${name}`);
    if (options.timeZone) await admin.query(`ALTER DATABASE ${name} SET "TimeZone" TO '${options.timeZone}'`);
    return ownedDatabase(admin, name, { kind: 'postgres', url: withDatabaseName(url, name), schema: options.schema });
  }
  const target: DatabaseTarget = { kind: 'pglite', schema: options.schema };
  const handle = await openDatabase(target);
  // One session: the app that later runs on this handle keeps it.
  if (options.timeZone) await handle.query(`SET "TimeZone" TO '${options.timeZone}'`);
  return {
    handle,
    target,
    async destroy() {
      await handle.close();
    },
  };
}

/** A table as the catalog describes it: columns, indexes, constraints and triggers, by name. */
export interface TableDescription {
  columns: { name: string; type: string; notNull: boolean; default: string | null }[];
  indexes: { name: string; definition: string }[];
  constraints: { name: string; definition: string }[];
  triggers: { name: string; definition: string }[];
}

/** Describes `schema.table` (the current schema by default), or returns null when it does not exist. */
export async function describeTable(handle: DatabaseHandle, table: string, schema?: string): Promise<TableDescription | null> {
  const [where] = await handle.query<{ schema: string; oid: number | null }>(
    `SELECT s AS schema, to_regclass(format('%I.%I', s, $2::text))::oid::int8 AS oid
     FROM (SELECT coalesce($1::text, current_schema()) AS s) here`,
    [schema ?? null, table],
  );
  if (!where?.oid) return null;
  const oid = String(where.oid);
  const columns = await handle.query<{ name: string; type: string; not_null: boolean; default: string | null }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default
     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = $1::text::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname`,
    [oid],
  );
  const indexes = await handle.query<{ name: string; definition: string }>(
    `SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 ORDER BY indexname`,
    [where.schema, table],
  );
  const constraints = await handle.query<{ name: string; definition: string }>(
    `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conrelid = $1::text::oid ORDER BY conname`,
    [oid],
  );
  const triggers = await handle.query<{ name: string; definition: string }>(
    `SELECT tgname AS name, pg_get_triggerdef(oid) AS definition FROM pg_trigger
     WHERE tgrelid = $1::text::oid AND NOT tgisinternal ORDER BY tgname`,
    [oid],
  );
  return {
    columns: columns.map((c) => ({ name: c.name, type: c.type, notNull: c.not_null, default: c.default })),
    indexes: [...indexes],
    constraints: [...constraints],
    triggers: [...triggers],
  };
}
