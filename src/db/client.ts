import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Logger as DrizzleLogger } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { PgAsyncDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { DatabaseSchemaName } from '../config/options.js';
import { packagePath } from '../paths.js';
import { relations } from './relations.js';

/** One database type for both drivers: the domain never knows which backend it talks to. */
export type Database = PgAsyncDatabase<PgQueryResultHKT, typeof relations>;

/**
 * Where jobscope's tables live. `schema` unset: wherever the server's search_path puts them
 * (`public` by default), as always. Set: only in that schema; every statement resolves there,
 * the migrations table included (see migrateDatabase).
 */
export type DatabaseTarget =
  | { kind: 'postgres'; url: string; schema?: string | undefined }
  /** `dataDir` undefined keeps the database in memory; `loadDataDir` starts from a dump. */
  | { kind: 'pglite'; dataDir?: string | undefined; loadDataDir?: Blob | undefined; schema?: string | undefined };

export interface DatabaseHandle {
  db: Database;
  kind: DatabaseTarget['kind'];
  /** The schema every statement resolves in (`search_path` is only it), or undefined: the server's default. */
  schema: string | undefined;
  /**
   * Subscribes to a NOTIFY channel on a connection of its own; resolves once listening. The
   * session does not reconnect: when its connection goes, `lost` resolves and it stays deaf, so
   * the caller (the event bus) owns reconnection and knows what it may have missed.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<ListenSession>;
  /** Raw SQL for statements that must run verbatim (operators' queries, tests). */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  /** PGlite only: the data directory as a tarball (tests start from a migrated dump). */
  dumpDataDir?: (compression?: 'none' | 'gzip') => Promise<Blob>;
  close(): Promise<void>;
}

/** One LISTEN on one connection (see DatabaseHandle.listen). */
export interface ListenSession {
  /** Resolves with the cause when the connection is gone (never, for PGlite: it is in-process). */
  lost: Promise<Error>;
  /** Whether `lost` can ever resolve: false for PGlite. */
  canBeLost: boolean;
  /** A statement on the listening connection itself; refused once lost (it would reconnect without LISTEN). */
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  stop(): Promise<void>;
}

export interface OpenOptions {
  /** Receives every statement drizzle sends (tests count statements with it). */
  logger?: DrizzleLogger;
  /** postgres.js pool size; default 10. */
  maxConnections?: number;
}

/**
 * A migrated PGlite data directory, written when the package is built (scripts/pglite-template.mjs).
 * An empty folder starts as a copy of it: copying took ~0.2 s and opening the copy ~0.95 s here,
 * where PGlite's initdb takes ~4.8 s and loading the same database from a gzip dump ~2.1 s (fresh
 * processes each). The migrator then applies only what is newer (nothing, from the same build).
 */
export const PGLITE_TEMPLATE = packagePath('dist', 'db', 'pglite-template');
/** Every directory of the template, empty ones included (npm packs files only). */
export const PGLITE_TEMPLATE_DIRS = packagePath('dist', 'db', 'pglite-template-dirs.json');

/**
 * Seeds a folder that holds nothing yet from the template, when the build shipped one. Not with a
 * schema option: the template's tables are in `public`.
 */
function seedFromTemplate(dataDir: string | undefined, schema: string | undefined): void {
  if (dataDir === undefined || schema !== undefined || !existsSync(join(PGLITE_TEMPLATE, 'PG_VERSION'))) return;
  if (!existsSync(PGLITE_TEMPLATE_DIRS) || readdirSync(dataDir).length > 0) return;
  cpSync(PGLITE_TEMPLATE, dataDir, { recursive: true });
  for (const dir of JSON.parse(readFileSync(PGLITE_TEMPLATE_DIRS, 'utf8')) as string[]) mkdirSync(join(dataDir, dir), { recursive: true });
}

export async function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Promise<DatabaseHandle> {
  const logger = options.logger ?? false;
  const schema = target.schema;
  if (schema !== undefined) {
    const parsed = DatabaseSchemaName.safeParse(schema);
    if (!parsed.success) throw new TypeError(`Invalid database schema "${schema}": ${parsed.error.issues[0]!.message}`);
  }
  if (target.kind === 'postgres') {
    const client = postgres(target.url, {
      max: options.maxConnections ?? 10,
      onnotice: () => {},
      backoff: reconnectBackoffSeconds,
      // A startup parameter, so every connection of the pool (LISTEN included) has it from the start.
      connection: { application_name: 'jobscope', ...(schema !== undefined ? { search_path: schema } : {}) },
    });
    const db = drizzlePostgres({ client, relations, logger, jit: true });
    return {
      db: db as unknown as Database,
      kind: 'postgres',
      schema,
      async listen(channel, onPayload) {
        // Not postgres.js' own listen: it re-issues LISTEN once when its connection closes and
        // swallows a failure, so a listener could end up deaf without anyone knowing. A client of
        // one connection that is never reused once it closes: a later statement would open a new
        // connection without the LISTEN.
        let gone: Error | undefined;
        let lose!: (error: Error) => void;
        const lost = new Promise<Error>((resolve) => (lose = resolve));
        const conn = postgres(target.url, {
          max: 1,
          fetch_types: false,
          connect_timeout: 10,
          onnotice: () => {},
          connection: { application_name: 'jobscope-listen', ...(schema !== undefined ? { search_path: schema } : {}) },
          // Never closed for idleness or age (postgres.js' own listen passes these); its types leave them out.
          ...({
            idle_timeout: null,
            max_lifetime: null,
            onnotify: (name: string, payload: string) => {
              if (name === channel && gone === undefined) onPayload(payload);
            },
          } as object),
          onclose: () => {
            if (gone !== undefined) return;
            gone = new Error('the listening connection closed');
            lose(gone);
            void conn.end({ timeout: 0 });
          },
        });
        try {
          await conn.unsafe(`LISTEN "${channel.replace(/"/g, '""')}"`);
          if (gone !== undefined) throw gone;
        } catch (error) {
          gone ??= error instanceof Error ? error : new Error(String(error));
          await conn.end({ timeout: 0 });
          throw error;
        }
        return {
          lost,
          canBeLost: true,
          async query(text, params = []) {
            if (gone !== undefined) throw gone;
            return (await conn.unsafe(text, params as never[])) as never;
          },
          async stop() {
            gone ??= new Error('stopped');
            await conn.end({ timeout: 1 });
          },
        };
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
  const folder = target.dataDir === undefined ? undefined : claimFolder(target.dataDir);
  let client: PGlite;
  try {
    if (!target.loadDataDir) seedFromTemplate(target.dataDir, schema);
    client = await PGlite.create(target.dataDir, {
      ...(target.loadDataDir ? { loadDataDir: target.loadDataDir } : {}),
      startParams: PGLITE_START_PARAMS,
    });
  } catch (error) {
    folder?.release();
    throw error;
  }
  // PGlite is one session: setting it once covers every later statement.
  if (schema !== undefined) await client.exec(`SET search_path TO "${schema}"`);
  const db = drizzlePglite({ client, relations, logger, jit: true });
  return {
    db: db as unknown as Database,
    kind: 'pglite',
    schema,
    async listen(channel, onPayload) {
      const stop = await client.listen(channel, onPayload);
      return {
        lost: new Promise<Error>(() => {}),
        canBeLost: false,
        async query(text, params = []) {
          return (await client.query(text, params)).rows as never;
        },
        stop: () => stop(),
      };
    },
    async query(text, params = []) {
      return (await client.query(text, params)).rows as never;
    },
    async dumpDataDir(compression = 'none') {
      return client.dumpDataDir(compression);
    },
    async close() {
      try {
        if (!client.closed) await client.close();
      } finally {
        folder?.release();
      }
    },
  };
}

/**
 * The longest wait, in seconds, before the pool tries a lost connection again. postgres.js counts
 * failed connects in one counter for the whole pool and waits (0.5–1) × min(3^n / 100, 20) s, so
 * after a cut of a few seconds, in which every connection of the pool failed several times, it
 * waited up to 20 s: jobscope answered 503 for 10–20 s after the database was back (the combined
 * fault test, test/jobs/cut-under-load.test.ts). Capped, a restored database is used again within
 * about this long.
 */
export const RECONNECT_MAX_SECONDS = 1;

/** postgres.js' `backoff`: 50 ms doubling per failed connect, at most {@link RECONNECT_MAX_SECONDS}, with jitter. */
export function reconnectBackoffSeconds(failures: number): number {
  return (0.5 + Math.random() / 2) * Math.min(RECONNECT_MAX_SECONDS, 0.05 * 2 ** failures);
}

/**
 * PGlite's own start parameters, with shared_buffers at 32 MB instead of PostgreSQL's 128 MB:
 * setting up the buffer pool inside wasm is most of what a start costs beyond the file reads.
 * Opening an existing folder took ~945 ms with 128 MB and ~660 ms with 32 MB here (fresh processes,
 * two rounds); an embedded development database reads through the OS page cache anyway.
 */
const PGLITE_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];

/**
 * PGlite folders open in this process. A second PGlite on the same folder would run a second
 * PostgreSQL over the same files and corrupt them (seen: `next dev` reloading a route module
 * opened three); kept on globalThis so that two copies of this module share it.
 */
const OPEN_FOLDERS: Set<string> = ((globalThis as { [key: symbol]: Set<string> | undefined })[Symbol.for('jobscope.openPgliteFolders')] ??=
  new Set<string>());

function claimFolder(dataDir: string): { release(): void } {
  const path = realpathSync(dataDir);
  if (OPEN_FOLDERS.has(path)) {
    throw new Error(
      `The PGlite folder ${path} is already open in this process: one jobscope per folder. Create jobscope once ` +
        '(keep it in a module-level or globalThis variable), or give the second one its own PGLITE_DIR or DATABASE_URL.',
    );
  }
  OPEN_FOLDERS.add(path);
  return { release: () => OPEN_FOLDERS.delete(path) };
}

/**
 * postgres.js's own codes for a connection it lost or could not make, and the socket errors
 * beneath them.
 */
const CONNECTION_CODES = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * A database call that neither answered nor failed within its bound: treated as the database
 * being unavailable. Seen across a cut's restore, where a statement of a request that arrived just
 * before it never settled (test/jobs/cut-under-load.test.ts).
 */
export class DatabaseStalledError extends Error {
  override name = 'DatabaseStalledError';
  constructor(readonly what: string, readonly ms: number) {
    super(`${what}: no answer from the database within ${ms} ms`);
  }
}

/** `call`'s result, or DatabaseStalledError once `ms` have passed without one (the call itself runs on). */
export async function withinMs<T>(call: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DatabaseStalledError(what, ms)), ms);
  });
  call.catch(() => {});
  try {
    return await Promise.race([call, stalled]);
  } finally {
    clearTimeout(timer);
  }
}

/** `error` and its causes, outermost first (drizzle wraps the driver's error), at most 10 deep. */
function* errorChain(error: unknown): Generator<Error> {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) yield e;
}

/**
 * What the database itself said, for an answer anyone may read: `database error 42P01: relation
 * "x" does not exist`, from the first error in the chain that carries a SQLSTATE. Never drizzle's
 * wrapper (`Failed query: <sql> params: <values>`), which names the statement and its parameters.
 * Undefined when no database error is in the chain.
 */
export function databaseErrorSummary(error: unknown): string | undefined {
  for (const e of errorChain(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return `database error ${code}: ${e.message}`;
  }
  return undefined;
}

/** Seconds a caller is asked to wait (`Retry-After`) while the database cannot be reached. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

/**
 * Whether `error` (or one of its causes: drizzle wraps the driver's error) says the database could
 * not be reached, as opposed to refusing a statement: a lost or refused connection, SQLSTATE class
 * 08 (connection exception), a server shutting down or starting (57P01–57P03), too many
 * connections (53300), a PGlite already closed, or a call that stalled (DatabaseStalledError).
 * Those are worth retrying later.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of errorChain(error)) {
    if (e instanceof DatabaseStalledError) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (CONNECTION_CODES.has(code) || code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code)) return true;
    }
    if (/^PGlite is closed/.test(e.message)) return true;
  }
  return false;
}
