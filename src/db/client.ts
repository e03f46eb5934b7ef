import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { PgAsyncDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { relations } from './relations.js';

/** One database type for both drivers: the domain never knows which backend it talks to. */
export type Database = PgAsyncDatabase<PgQueryResultHKT, typeof relations>;

export type DatabaseTarget =
  | { kind: 'postgres'; url: string }
  /** `dataDir` undefined keeps the database in memory; `loadDataDir` starts from a dump. */
  | { kind: 'pglite'; dataDir?: string | undefined; loadDataDir?: Blob | undefined };

export interface DatabaseHandle {
  db: Database;
  kind: DatabaseTarget['kind'];
  /** Subscribes to a NOTIFY channel; resolves once listening, to a function that stops. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** Raw SQL for statements that must run verbatim (operators' queries, tests). */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** PGlite only: the data directory as a tarball (tests start from a migrated dump). */
  dumpDataDir?: () => Promise<Blob>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Receives every statement drizzle sends (tests count statements with it). */
  logger?: DrizzleLogger;
  /** postgres.js pool size; default 10. */
  maxConnections?: number;
}

export async function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Promise<DatabaseHandle> {
  const logger = options.logger ?? false;
  if (target.kind === 'postgres') {
    const client = postgres(target.url, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      connection: { application_name: 'jobscope' },
    });
    const db = drizzlePostgres({ client, relations, logger });
    return {
      db: db as unknown as Database,
      kind: 'postgres',
      async listen(channel, onPayload) {
        const sub = await client.listen(channel, onPayload);
        return () => sub.unlisten();
      },
      async query(text, params = []) {
        return (await client.unsafe(text, params as never[])) as never;
      },
      async close() {
        await client.end({ timeout: 5 });
      },
    };
  }

  if (target.dataDir !== undefined) mkdirSync(target.dataDir, { recursive: true });
  const client = await PGlite.create(target.dataDir, target.loadDataDir ? { loadDataDir: target.loadDataDir } : {});
  const db = drizzlePglite({ client, relations, logger });
  return {
    db: db as unknown as Database,
    kind: 'pglite',
    async listen(channel, onPayload) {
      const stop = await client.listen(channel, onPayload);
      return () => stop();
    },
    async query(text, params = []) {
      return (await client.query(text, params)).rows as never;
    },
    async dumpDataDir() {
      return client.dumpDataDir('none');
    },
    async close() {
      if (!client.closed) await client.close();
    },
  };
}
