import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseSchemaName } from '../../src/config/options.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { MIGRATIONS_FOLDER, migrateDatabase } from '../../src/db/migrate.js';
import type { JobEvent } from '../../src/jobs/events.js';
import { sendEmailJob } from '../../src/jobs/types/send-email.js';
import { EnqueueJobDocument, JobExecutionsDocument } from '../gql/graphql.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createEmptyDatabase, createTestDatabase, databaseKind, describeTable, type TableDescription, type TestDatabase } from '../helpers/db.js';
import { memoryTransport } from '../helpers/email.js';
import { graphqlData } from '../helpers/graphql.js';

const SCHEMA = 'jobscope';

/** Index and trigger definitions name their table's schema; compare them without it. */
const withoutSchema = (d: TableDescription | null, schema: string) =>
  d && JSON.parse(JSON.stringify(d).replaceAll(`${schema}.`, '<schema>.'));

const count = async (handle: DatabaseHandle, sql: string) => Number((await handle.query<{ n: unknown }>(sql))[0]!.n);

/** The committed migrations: each is recorded once. */
const MIGRATIONS = readdirSync(MIGRATIONS_FOLDER).filter((name) => existsSync(join(MIGRATIONS_FOLDER, name, 'migration.sql'))).length;

describe('the schema option: names it accepts', () => {
  it('takes plain lowercase identifiers up to 63 characters', () => {
    for (const name of ['jobscope', '_jobs', 'jobs_2', 'public', 'a'.repeat(63)]) {
      expect(DatabaseSchemaName.safeParse(name).success, name).toBe(true);
    }
  });

  it('refuses anything else before opening a connection, naming the rule', async () => {
    const refused = ['Jobscope', 'job-scope', '1jobs', 'jobs;drop', '"jobs"', '', 'a'.repeat(64), 'pg_jobs'];
    for (const schema of refused) {
      await expect(openDatabase({ kind: 'pglite', schema }), schema).rejects.toThrow(/^Invalid database schema ".*": must/);
      // An unreachable server: the name is refused before postgres.js would try it.
      await expect(openDatabase({ kind: 'postgres', url: 'postgres://127.0.0.1:1/none', schema }), schema).rejects.toThrow(
        /^Invalid database schema/,
      );
    }
  });
});

describe(`unset, on ${databaseKind}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it("keeps the server's default: tables in public, migrations recorded in drizzle's own schema", async () => {
    expect(database.handle.schema).toBeUndefined();
    const [where] = await database.handle.query<{ schema: string; table: string | null }>(
      `SELECT current_schema() AS schema, to_regclass('public.job_executions')::text AS table`,
    );
    expect(where).toEqual({ schema: 'public', table: 'job_executions' });
    expect(await count(database.handle, `SELECT count(*) AS n FROM drizzle.__drizzle_migrations`)).toBe(MIGRATIONS);
  });
});

describe(`JOBSCOPE_DB_SCHEMA=${SCHEMA} next to the app's own job_executions in public, on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp | undefined;
  let reference: { executions: TableDescription; attempts: TableDescription };
  let publicTable: TableDescription | null;
  let publicRows: unknown[];
  const events: JobEvent[] = [];
  const transport = memoryTransport();
  const publicRowsQuery = `SELECT * FROM public.job_executions ORDER BY job_id`;

  beforeAll(async () => {
    const fresh = await createTestDatabase();
    reference = {
      executions: withoutSchema(await describeTable(fresh.handle, 'job_executions'), 'public'),
      attempts: withoutSchema(await describeTable(fresh.handle, 'job_attempts'), 'public'),
    };
    await fresh.destroy();

    database = await createEmptyDatabase({ schema: SCHEMA });
    // The app's table from the operations guide, which the app keeps using.
    await database.handle.query(`CREATE TABLE public.job_executions (
      job_id text PRIMARY KEY, job_type text NOT NULL, status text NOT NULL DEFAULT 'pending',
      retry_count integer NOT NULL DEFAULT 0, error text, payload jsonb,
      created_at timestamptz NOT NULL DEFAULT now(), started_at timestamptz, completed_at timestamptz)`);
    await database.handle.query(
      `INSERT INTO public.job_executions (job_id, job_type, status, payload, started_at, completed_at)
       SELECT 'app-' || i, 'send-email', CASE WHEN i % 3 = 0 THEN 'failed' ELSE 'completed' END,
              jsonb_build_object('jobId', 'app-' || i, 'type', 'send-email', 'payload', '{}'::jsonb, 'metadata', '{}'::jsonb),
              now() - interval '1 minute', now()
       FROM generate_series(1, 25) AS i`,
    );
    publicTable = await describeTable(database.handle, 'job_executions', 'public');
    publicRows = [...(await database.handle.query(publicRowsQuery))];

    await migrateDatabase(database.handle);
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  it('resolves every statement in the schema, on every connection', async () => {
    expect(database.handle.schema).toBe(SCHEMA);
    // postgres.js opens up to 10 connections for 10 concurrent queries; each must have it.
    const paths = await Promise.all(
      Array.from({ length: 10 }, () => database.handle.query<{ path: string; schema: string }>(
        `SELECT current_setting('search_path') AS path, current_schema() AS schema, pg_sleep(0.05)::text AS slept`,
      )),
    );
    for (const [row] of paths) expect(row).toMatchObject({ path: SCHEMA, schema: SCHEMA });
  });

  it("creates jobscope's tables, enum, trigger and migrations table in the schema, exactly as in public otherwise", async () => {
    expect(withoutSchema(await describeTable(database.handle, 'job_executions', SCHEMA), SCHEMA)).toEqual(reference.executions);
    expect(withoutSchema(await describeTable(database.handle, 'job_attempts', SCHEMA), SCHEMA)).toEqual(reference.attempts);
    const owned = await database.handle.query<{ kind: string; name: string; schema: string }>(
      `SELECT 'type' AS kind, typname::text AS name, typnamespace::regnamespace::text AS schema FROM pg_type WHERE typname = 'job_status'
       UNION ALL
       SELECT 'function', proname::text, pronamespace::regnamespace::text FROM pg_proc WHERE proname = 'jobscope_notify_job_event'
       UNION ALL
       SELECT 'table', relname::text, relnamespace::regnamespace::text FROM pg_class WHERE relname IN ('job_attempts', '__drizzle_migrations')
       ORDER BY 1, 2`,
    );
    expect(owned).toEqual([
      { kind: 'function', name: 'jobscope_notify_job_event', schema: SCHEMA },
      { kind: 'table', name: '__drizzle_migrations', schema: SCHEMA },
      { kind: 'table', name: 'job_attempts', schema: SCHEMA },
      { kind: 'type', name: 'job_status', schema: SCHEMA },
    ]);
    expect(await count(database.handle, `SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'drizzle'`)).toBe(0);
    expect(await count(database.handle, `SELECT count(*) AS n FROM ${SCHEMA}.__drizzle_migrations`)).toBe(MIGRATIONS);
  });

  it("leaves the app's table in public as it was: not adopted, no row added", async () => {
    expect(await describeTable(database.handle, 'job_executions', 'public')).toEqual(publicTable);
    expect([...(await database.handle.query(publicRowsQuery))]).toEqual(publicRows);
    expect(await count(database.handle, `SELECT count(*) AS n FROM job_executions`)).toBe(0);
  });

  it('runs jobs in the schema: GraphQL, the recorder and the NOTIFY events all see only its tables', async () => {
    t = await startTestApp(database.handle, { jobs: [sendEmailJob(transport)] });
    t.app.jobs.events.subscribe((e) => events.push(e));
    const enqueued = await graphqlData(t.baseUrl, EnqueueJobDocument, {
      variables: { input: { jobType: 'send-email', payload: { to: 'ada@example.com', subject: 'In a schema', text: 'Hello' } } },
    });
    const jobId = enqueued.enqueueJob.jobId;
    await waitForJob(database.handle, jobId, hasStatus('completed'));
    await expect.poll(() => events.filter((e) => e.jobId === jobId).map((e) => e.type)).toEqual(['enqueued', 'started', 'completed']);

    const list = await graphqlData(t.baseUrl, JobExecutionsDocument, { variables: { first: 5 } });
    expect(list.jobExecutions.totalCount).toBe(1);
    expect(list.jobExecutions.edges.map((e) => e.node.jobId)).toEqual([jobId]);
    expect(await count(database.handle, `SELECT count(*) AS n FROM ${SCHEMA}.job_attempts WHERE job_id = '${jobId}'`)).toBe(1);
    expect([...(await database.handle.query(publicRowsQuery))]).toEqual(publicRows);
  });

  it('keeps the rollups in the schema, also for a writer whose search_path names another schema', async () => {
    // Compacted and pending alike: both must be in the schema.
    const allTime = `SELECT coalesce(sum(jobs), 0) AS n FROM (SELECT series, bucket_start, jobs FROM ${SCHEMA}.job_rollups
      UNION ALL SELECT series, bucket_start, jobs FROM ${SCHEMA}.job_rollup_deltas) s WHERE series = 'created' AND bucket_start = '-infinity'`;
    expect(await count(database.handle, `SELECT count(*) AS n FROM pg_class WHERE relname LIKE 'job_rollup%' AND relnamespace = 'public'::regnamespace`)).toBe(0);
    expect(await count(database.handle, allTime)).toBe(1);
    await database.handle.db.transaction(async (tx) => {
      await tx.execute(sql`SET LOCAL search_path TO public`);
      await tx.execute(sql.raw(`INSERT INTO ${SCHEMA}.job_executions (job_id, job_type, payload) VALUES ('from-public', 'send-email', '{}')`));
    });
    expect(await count(database.handle, allTime)).toBe(2);
    const { jobStats } = await graphqlData(t!.baseUrl, '{ jobStats { jobType status count } }') as { jobStats: { status: string; count: number }[] };
    expect(jobStats.map((s) => [s.status, s.count]).sort()).toEqual([['COMPLETED', 1], ['PENDING', 1]]);
    expect([...(await database.handle.query(publicRowsQuery))]).toEqual(publicRows);
  });

  it('is a no-op when migrated again', async () => {
    const before = await describeTable(database.handle, 'job_executions', SCHEMA);
    await migrateDatabase(database.handle);
    expect(await describeTable(database.handle, 'job_executions', SCHEMA)).toEqual(before);
    expect(await count(database.handle, `SELECT count(*) AS n FROM ${SCHEMA}.__drizzle_migrations`)).toBe(MIGRATIONS);
  });
});
