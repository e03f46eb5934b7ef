import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import { inject } from 'vitest';
import { openDatabase, type DatabaseHandle, type DatabaseTarget } from '../../src/db/client.js';
import { TEMPLATE_DATABASE, withDatabaseName } from './postgres.js';

/** Which database this run tests against: PostgreSQL when DATABASE_URL is set, else PGlite. */
export const databaseKind: 'postgres' | 'pglite' = process.env.DATABASE_URL ? 'postgres' : 'pglite';

export interface TestDatabase {
  handle: DatabaseHandle;
  /** How to open the same database again (restart tests). */
  target: DatabaseTarget;
  /** Closes the handle and drops the database. */
  destroy(): Promise<void>;
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
        await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DATABASE}`);
        break;
      } catch (error) {
        // Two files copying the template at the same instant: one waits and tries again.
        if (attempt >= 20 || !String(error).includes('being accessed by other users')) throw error;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
    const target: DatabaseTarget = { kind: 'postgres', url: withDatabaseName(url, name) };
    const handle = await openDatabase(target, options.logger ? { logger: options.logger } : {});
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
