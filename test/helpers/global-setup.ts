import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/client.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { ensureBuilt } from './build.js';
import { templateDatabaseName, withDatabaseName } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of a migrated PGlite data directory dump (PGlite runs). */
    pgliteTemplate: string;
    /** Name of the migrated template database (PostgreSQL runs). */
    postgresTemplate: string;
  }
}

/**
 * Builds dist/ if src/ changed since (the CLI tests run the compiled command), then migrates once per run: a PGlite dump that each test file loads (0.6 s instead of 3 s), or,
 * with DATABASE_URL, a template database that each test file copies with CREATE DATABASE.
 */
export default async function setup(project: TestProject): Promise<() => void | Promise<void>> {
  ensureBuilt();
  const url = process.env.DATABASE_URL;
  if (url) {
    const name = templateDatabaseName();
    const admin = await openDatabase({ kind: 'postgres', url }, { maxConnections: 1 });
    await admin.query(`CREATE DATABASE ${name}`);
    const template = await openDatabase({ kind: 'postgres', url: withDatabaseName(url, name) }, { maxConnections: 1 });
    await migrateDatabase(template);
    await template.close();
    project.provide('pgliteTemplate', '');
    project.provide('postgresTemplate', name);
    return async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.close();
    };
  }
  const dir = mkdtempSync(join(tmpdir(), 'jobscope-test-'));
  const pglite = await openDatabase({ kind: 'pglite' });
  await migrateDatabase(pglite);
  const dump = await pglite.dumpDataDir!();
  await pglite.close();
  const file = join(dir, 'template.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('pgliteTemplate', file);
  project.provide('postgresTemplate', '');
  return () => rmSync(dir, { recursive: true, force: true });
}
