import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../../src/db/client.js';
import { MIGRATIONS_FOLDER, MigrationError, migrateDatabase } from '../../src/db/migrate.js';
import { sendEmailJob } from '../../src/jobs/types/send-email.js';
import { EnqueueJobDocument, JobExecutionDocument, JobExecutionsDocument, JobHealthDocument, JobStatsDocument } from '../gql/graphql.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createEmptyDatabase, createTestDatabase, databaseKind, describeTable, type TableDescription, type TestDatabase } from '../helpers/db.js';
import { memoryTransport } from '../helpers/email.js';
import { random } from '../helpers/factories.js';
import { graphqlData } from '../helpers/graphql.js';
import { GUIDE_SQL } from '../helpers/guide-sql.js';

/** The guide's stuck-job alert and health check, as oracles for jobHealth. */
const GUIDE_STUCK_SQL = `SELECT count(*) AS n FROM job_executions WHERE status = 'processing' AND started_at < NOW() - INTERVAL '10 minutes'`;
const GUIDE_HEALTH_SQL = `SELECT status, count(*)::int AS count FROM job_executions WHERE created_at > NOW() - INTERVAL '1 hour' GROUP BY status`;

/**
 * The session TimeZone of every adopted database: not UTC, so a conversion that ignored the
 * session's zone would move every naive timestamp; a fixed offset (+05:30, no daylight saving),
 * so the expected instants are plain arithmetic.
 */
const TIME_ZONE = 'Asia/Kolkata';
const ZONE_OFFSET_MS = 5.5 * 3600_000;

/** A shape the guide's app may have given job_executions: its columns, in the column types teams chose. */
interface GuideVariant {
  name: string;
  ddl: string[];
  /** Timestamps without time zone: stored as wall-clock times of the session's TimeZone. */
  naive: boolean;
  /** Which column the app's primary key is on. */
  primaryKey: 'job_id' | 'id';
  /** The app's own indexes, which stay. */
  appIndexes: string[];
  /** Also run on PGlite (each PGlite case starts a fresh instance: about 3 s). */
  pglite: boolean;
}

const VARIANTS: GuideVariant[] = [
  {
    name: 'text ids, timestamptz, jsonb payload, primary key on job_id',
    naive: false,
    primaryKey: 'job_id',
    appIndexes: [],
    pglite: false,
    ddl: [
      `CREATE TABLE job_executions (
        job_id text PRIMARY KEY,
        job_type text NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        retry_count integer NOT NULL DEFAULT 0,
        error text,
        payload jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        completed_at timestamptz
      )`,
    ],
  },
  {
    name: 'uuid ids, timestamp without time zone, json payload, serial id primary key',
    naive: true,
    primaryKey: 'id',
    appIndexes: ['job_executions_job_id_key'],
    pglite: true,
    ddl: [
      `CREATE TABLE job_executions (
        id serial PRIMARY KEY,
        job_id uuid NOT NULL UNIQUE,
        job_type varchar(100) NOT NULL,
        status varchar(20) NOT NULL DEFAULT 'pending',
        retry_count integer DEFAULT 0,
        error text,
        payload json,
        created_at timestamp DEFAULT now(),
        started_at timestamp,
        completed_at timestamp
      )`,
    ],
  },
  {
    name: 'uuid surrogate key, job_id not unique yet, timestamp(3), jsonb payload, an index on status',
    naive: true,
    primaryKey: 'id',
    appIndexes: ['job_executions_status_idx'],
    pglite: false,
    ddl: [
      `CREATE TABLE job_executions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id text NOT NULL,
        job_type text NOT NULL,
        status text NOT NULL,
        payload jsonb,
        error text,
        retry_count integer DEFAULT 0,
        created_at timestamp(3) DEFAULT now() NOT NULL,
        started_at timestamp(3),
        completed_at timestamp(3)
      )`,
      `CREATE INDEX job_executions_status_idx ON job_executions (status)`,
    ],
  },
];

/** One row of the guide's table, as its app wrote it. */
interface GuideRow {
  job_id: string;
  job_type: string;
  status: 'pending' | 'processing' | 'completed' | 'failed';
  retry_count: number;
  error: string | null;
  payload: { jobId: string; type: string; payload: unknown; metadata: Record<string, unknown> } | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

const JOB_TYPES = ['send-email', 'generate-report', 'process-webhook'] as const;

/**
 * Rows as the guide's app leaves them: the four statuses it uses, pending rows never started,
 * processing rows not finished, some failures before any start (invalid payloads), a few rows
 * without a payload. Creation times are distinct (the guide's ORDER BY created_at has no tie
 * breaker, so ties could come back in another order after the migration) and keep clear of
 * the one-hour and ten-minute boundaries jobHealth is checked against.
 */
function guideRows(count: number, seed: number, now: number): GuideRow[] {
  const rnd = random(seed);
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16)).join('');
  const rows: GuideRow[] = [];
  for (let i = 0; i < count; i++) {
    const jobId = `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
    const jobType = JOB_TYPES[i % JOB_TYPES.length]!;
    // The first half within the last 50 minutes, the rest 70 to 170 minutes ago.
    const ageMs = (i < count / 2 ? 20_000 + i * 19_000 : 70 * 60_000 + (i - count / 2) * 40_000) + Math.floor(rnd() * 1000);
    const createdAt = now - ageMs;
    const draw = rnd();
    let status: GuideRow['status'] = draw < 0.55 ? 'completed' : draw < 0.75 ? 'failed' : draw < 0.85 ? 'processing' : 'pending';
    // Not started close to the stuck threshold (10 minutes), so the count cannot change mid-test.
    if (status === 'processing' && ageMs > 8 * 60_000 && ageMs < 12 * 60_000) status = 'pending';
    const failedBeforeStart = status === 'failed' && rnd() < 0.2;
    const startedAt = status === 'pending' || failedBeforeStart ? null : createdAt + Math.floor(rnd() * 3000);
    const durationMs = rnd() < 0.5 ? Math.floor(rnd() * 30) * 1000 : Math.floor(rnd() * 40_000);
    const completedAt =
      status === 'completed' || status === 'failed' ? (startedAt ?? createdAt + Math.floor(rnd() * 500)) + (startedAt ? durationMs : 0) : null;
    const metadata: Record<string, unknown> = { createdAt: new Date(createdAt).toISOString() };
    if (i % 4 !== 3) metadata.userId = `user-${i % 9}`;
    if (i % 5 !== 4) metadata.organizationId = `org-${i % 4}`;
    rows.push({
      job_id: jobId,
      job_type: jobType,
      status,
      retry_count: status === 'failed' ? 3 : status === 'completed' && rnd() < 0.2 ? 1 : 0,
      error: status === 'failed' ? (failedBeforeStart ? 'Invalid job payload' : ['SMTP timeout', 'Report query cancelled', 'HTTP 502 from hook'][i % 3]!) : null,
      payload: i % 23 === 5 ? null : { jobId, type: jobType, payload: { index: i, to: `u${i}@example.com` }, metadata },
      created_at: new Date(createdAt),
      started_at: startedAt === null ? null : new Date(startedAt),
      completed_at: completedAt === null ? null : new Date(completedAt),
    });
  }
  return rows;
}

/** What a timestamp column holds for an instant: itself, or its wall-clock time in TIME_ZONE. */
const timestampText = (d: Date | null, naive: boolean) =>
  d === null ? null : naive ? new Date(d.getTime() + ZONE_OFFSET_MS).toISOString().replace('T', ' ').replace('Z', '') : d.toISOString();

async function insertGuideRows(handle: DatabaseHandle, rows: GuideRow[], naive: boolean): Promise<void> {
  const records = rows.map((r) => ({
    ...r,
    created_at: timestampText(r.created_at, naive),
    started_at: timestampText(r.started_at, naive),
    completed_at: timestampText(r.completed_at, naive),
  }));
  // One JSON parameter: json_populate_recordset converts each field to the column's own type.
  for (let i = 0; i < records.length; i += 500) {
    await handle.query(
      `INSERT INTO job_executions (job_id, job_type, status, retry_count, error, payload, created_at, started_at, completed_at)
       SELECT job_id, job_type, status, retry_count, error, payload, created_at, started_at, completed_at
       FROM json_populate_recordset(NULL::job_executions, $1::text::json)`,
      [JSON.stringify(records.slice(i, i + 500))],
    );
  }
}

const TIMESTAMP_TEXT = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?)(?:([+-]\d{2})(?::?(\d{2}))?)?$/;

/**
 * A value of a guide query as something that compares across the migration: timestamps as the
 * ISO instant they mean (a naive one read in TIME_ZONE, as PostgreSQL's cast reads it), numbers
 * as numbers, the rest as is. postgres.js (through drizzle) returns timestamps as text, PGlite as
 * Dates, naive ones as if they were UTC.
 */
function instantOrValue(key: string, value: unknown, naive: boolean): unknown {
  if (value instanceof Date) return new Date(value.getTime() - (naive ? ZONE_OFFSET_MS : 0)).toISOString();
  if (typeof value === 'string') {
    const m = TIMESTAMP_TEXT.exec(value);
    if (m) {
      const wall = Date.parse(`${m[1]}T${m[2]!.slice(0, 12)}Z`);
      const offsetMs = m[3] === undefined ? ZONE_OFFSET_MS : (Number(m[3]) * 60 + Math.sign(Number(`${m[3]}1`)) * Number(m[4] ?? 0)) * 60_000;
      return new Date(wall - offsetMs).toISOString();
    }
  }
  if (key === 'count') return Number(value);
  if (key === 'avg_duration_seconds') return value === null ? null : Number(Number(value).toFixed(6));
  return value;
}

const normalize = (rows: Record<string, unknown>[], naive: boolean) =>
  rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, instantOrValue(k, v, naive)])));

type GuideResults = Record<keyof typeof GUIDE_SQL, Record<string, unknown>[]> & { all: Record<string, unknown>[] };

/** The guide's three statements verbatim, plus every row, normalized; statistics in a fixed order. */
async function runGuideQueries(handle: DatabaseHandle, naive: boolean): Promise<GuideResults> {
  const run = async (text: string) => normalize([...(await handle.query(text))], naive);
  const statistics = await run(GUIDE_SQL.statistics);
  statistics.sort((a, b) => `${a.job_type}/${a.status}`.localeCompare(`${b.job_type}/${b.status}`));
  return {
    recent: await run(GUIDE_SQL.recent),
    failed: await run(GUIDE_SQL.failed),
    statistics,
    all: await run(
      `SELECT job_id::text AS job_id, job_type, status::text AS status, retry_count, error, payload, created_at, started_at, completed_at
       FROM job_executions ORDER BY job_id::text`,
    ),
  };
}

/** What the migration puts where the guide's app stored no payload. */
const envelopeFor = (row: Record<string, unknown>) => ({ jobId: row.job_id, type: row.job_type, payload: null, metadata: {} });
const withEnvelopes = (rows: Record<string, unknown>[]) =>
  rows.map((row) => ('payload' in row && row.payload === null ? { ...row, payload: envelopeFor(row) } : row));

/** The reference: job_executions and job_attempts as migrating an empty database creates them. */
let reference: { executions: TableDescription; attempts: TableDescription; labels: string[] };

async function enumLabels(handle: DatabaseHandle): Promise<string[]> {
  const rows = await handle.query<{ label: string }>(
    `SELECT enumlabel AS label FROM pg_enum WHERE enumtypid = to_regtype(format('%I.job_status', current_schema())) ORDER BY enumsortorder`,
  );
  return rows.map((r) => r.label);
}

const migrationNames = async (handle: DatabaseHandle) =>
  (await handle.query<{ name: string }>(`SELECT name FROM drizzle.__drizzle_migrations ORDER BY id`)).map((r) => r.name);

beforeAll(async () => {
  const fresh = await createTestDatabase();
  try {
    reference = {
      executions: (await describeTable(fresh.handle, 'job_executions'))!,
      attempts: (await describeTable(fresh.handle, 'job_attempts'))!,
      labels: await enumLabels(fresh.handle),
    };
  } finally {
    await fresh.destroy();
  }
});

// On PGlite only the variants marked `pglite` run: each needs a fresh instance (about 3 s), and
// the adoption SQL is the same on both engines. Every variant runs on PostgreSQL.
const variants = databaseKind === 'pglite' ? VARIANTS.filter((v) => v.pglite) : VARIANTS;

describe.each(variants)(`adopting the guide's job_executions ($name) on ${databaseKind}`, (variant) => {
  let database: TestDatabase;
  let t: TestApp | undefined;
  const transport = memoryTransport();
  const now = Date.now();
  const rows = guideRows(300, VARIANTS.indexOf(variant) + 1, now);
  let before: GuideResults;
  let after: GuideResults;

  beforeAll(async () => {
    database = await createEmptyDatabase({ timeZone: TIME_ZONE });
    for (const statement of variant.ddl) await database.handle.query(statement);
    await insertGuideRows(database.handle, rows, variant.naive);
    before = await runGuideQueries(database.handle, variant.naive);
    await migrateDatabase(database.handle);
    after = await runGuideQueries(database.handle, false);
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  it('reads what was written: the rows as inserted, in the session time zone', () => {
    // The oracle for the oracle: "before" must mean the generated instants, or comparing before
    // and after would prove nothing.
    expect(before.all).toHaveLength(rows.length);
    const byId = new Map(before.all.map((r) => [r.job_id, r]));
    for (const row of rows) {
      expect(byId.get(row.job_id)).toEqual({
        ...row,
        created_at: row.created_at.toISOString(),
        started_at: row.started_at?.toISOString() ?? null,
        completed_at: row.completed_at?.toISOString() ?? null,
      });
    }
  });

  it("answers the guide's three statements with the same rows after the migration", () => {
    expect(before.recent).toHaveLength(50);
    expect(after.recent).toEqual(before.recent);
    expect(before.failed.length).toBeGreaterThan(30);
    expect(before.failed.some((r) => r.payload === null)).toBe(true);
    // Identical, except that a failed job without a payload now has the envelope jobscope reads.
    expect(after.failed).toEqual(withEnvelopes(before.failed));
    expect(after.statistics).toEqual(before.statistics);
    expect(after.all).toEqual(withEnvelopes(before.all));
  });

  it('leaves job_executions exactly as init creates it, keeping the app\'s own key and indexes', async () => {
    const adopted = (await describeTable(database.handle, 'job_executions'))!;
    const extraColumns = variant.primaryKey === 'id' ? ['id'] : [];
    expect(adopted.columns.filter((c) => !extraColumns.includes(c.name))).toEqual(reference.executions.columns);
    expect(adopted.triggers).toEqual(reference.executions.triggers);

    const notKeys = (d: TableDescription, others: string[]) =>
      d.indexes.filter((i) => i.name !== 'job_executions_pkey' && !others.includes(i.name) && i.name !== 'job_executions_job_id_key');
    expect(notKeys(adopted, variant.appIndexes)).toEqual(notKeys(reference.executions, []));
    expect(adopted.indexes.map((i) => i.name)).toEqual(expect.arrayContaining(variant.appIndexes));
    const pkey = adopted.indexes.find((i) => i.name === 'job_executions_pkey')!.definition;
    if (variant.primaryKey === 'job_id') {
      expect(pkey).toBe(reference.executions.indexes.find((i) => i.name === 'job_executions_pkey')!.definition);
    } else {
      // The surrogate key stays; job_id is unique (the app's constraint, or one the migration adds).
      expect(pkey).toMatch(/UNIQUE INDEX job_executions_pkey ON \S+ USING btree \(id\)$/);
      expect(adopted.indexes.find((i) => i.name === 'job_executions_job_id_key')?.definition).toMatch(
        /UNIQUE INDEX job_executions_job_id_key ON \S+ USING btree \(job_id\)$/,
      );
    }

    expect(await describeTable(database.handle, 'job_attempts')).toEqual(reference.attempts);
    expect(await enumLabels(database.handle)).toEqual(reference.labels);
  });

  it('copies userId and organizationId out of the metadata and dates updated_at at the last change', async () => {
    const copied = await database.handle.query<{ job_id: string; user_id: string | null; organization_id: string | null; updated_at: unknown }>(
      `SELECT job_id, user_id, organization_id, updated_at FROM job_executions`,
    );
    const byId = new Map(copied.map((r) => [r.job_id, r]));
    for (const row of rows) {
      const got = byId.get(row.job_id)!;
      expect([got.user_id, got.organization_id]).toEqual([
        (row.payload?.metadata.userId as string | undefined) ?? null,
        (row.payload?.metadata.organizationId as string | undefined) ?? null,
      ]);
      const last = Math.max(...[row.created_at, row.started_at, row.completed_at].filter((d) => d !== null).map((d) => d.getTime()));
      expect(instantOrValue('updated_at', got.updated_at, false)).toBe(new Date(last).toISOString());
    }
  });

  it('is a no-op when migrated again', async () => {
    const tables = await describeTable(database.handle, 'job_executions');
    const applied = await migrationNames(database.handle);
    await migrateDatabase(database.handle);
    expect(await migrationNames(database.handle)).toEqual(applied);
    expect(await describeTable(database.handle, 'job_executions')).toEqual(tables);
    expect(await runGuideQueries(database.handle, false)).toEqual(after);
  });

  it('shows the old rows through GraphQL: jobExecutions, jobExecution, jobStats, jobHealth', async () => {
    t = await startTestApp(database.handle, { jobs: [sendEmailJob(transport)] });

    const list = await graphqlData(t.baseUrl, JobExecutionsDocument, { variables: { first: 50 } });
    expect(list.jobExecutions.totalCount).toBe(rows.length);
    // Newest first: the guide's "recent jobs", in the same order.
    expect(list.jobExecutions.edges.map((e) => e.node.jobId)).toEqual(before.recent.map((r) => r.job_id));

    const sample = rows.find((r) => r.status === 'completed' && r.payload?.metadata.userId && r.retry_count === 1)!;
    const one = await graphqlData(t.baseUrl, JobExecutionDocument, { variables: { jobId: sample.job_id } });
    expect(one.jobExecution).toMatchObject({
      jobId: sample.job_id,
      jobType: sample.job_type,
      status: 'COMPLETED',
      retryCount: 1,
      error: null,
      messageId: null,
      payload: sample.payload!.payload,
      metadata: sample.payload!.metadata,
      createdAt: sample.created_at.toISOString(),
      startedAt: sample.started_at!.toISOString(),
      completedAt: sample.completed_at!.toISOString(),
      durationSeconds: (sample.completed_at!.getTime() - sample.started_at!.getTime()) / 1000,
      attempts: [],
    });

    const stats = await graphqlData(t.baseUrl, JobStatsDocument, {});
    const counts = await database.handle.query<{ job_type: string; status: string; count: number }>(
      `SELECT job_type, status::text AS status, count(*)::int AS count FROM job_executions GROUP BY 1, 2`,
    );
    expect(stats.jobStats.map((s) => ({ jobType: s.jobType, status: s.status, count: s.count })).sort(byTypeAndStatus)).toEqual(
      counts.map((c) => ({ jobType: c.job_type, status: c.status.toUpperCase(), count: c.count })).sort(byTypeAndStatus),
    );
    // Finished jobs: the guide's statistics statement is the oracle for counts and averages.
    for (const guide of after.statistics) {
      const stat = stats.jobStats.find((s) => s.jobType === guide.job_type && s.status === String(guide.status).toUpperCase())!;
      expect(stat.count).toBe(guide.count);
      if (guide.avg_duration_seconds === null) expect(stat.avgDurationSeconds).toBeNull();
      else expect(stat.avgDurationSeconds).toBeCloseTo(guide.avg_duration_seconds as number, 6);
    }

    const health = await graphqlData(t.baseUrl, JobHealthDocument, {});
    const lastHour = await database.handle.query<{ status: string; count: number }>(GUIDE_HEALTH_SQL);
    const [stuck] = await database.handle.query<{ n: unknown }>(GUIDE_STUCK_SQL);
    const failedLastHour = lastHour.find((s) => s.status === 'failed')?.count ?? 0;
    const totalLastHour = lastHour.reduce((sum, s) => sum + s.count, 0);
    expect(totalLastHour).toBeGreaterThan(100);
    expect(totalLastHour).toBeLessThan(rows.length);
    expect(health.jobHealth).toMatchObject({ totalJobs: totalLastHour, failedJobs: failedLastHour, stuckJobs: Number(stuck!.n) });
    expect(health.jobHealth.failureRate).toBeCloseTo(failedLastHour / totalLastHour, 10);
    expect([...health.jobHealth.byStatus].sort((a, b) => a.status.localeCompare(b.status))).toEqual(
      lastHour.map((s) => ({ status: s.status.toUpperCase(), count: s.count })).sort((a, b) => a.status.localeCompare(b.status)),
    );
  });

  it('runs a new job end to end on the adopted table', async () => {
    const enqueued = await graphqlData(t!.baseUrl, EnqueueJobDocument, {
      variables: { input: { jobType: 'send-email', payload: { to: 'ada@example.com', subject: 'Adopted', text: 'Hello' }, metadata: { userId: 'u-new' } } },
    });
    const jobId = enqueued.enqueueJob.jobId;
    const done = await waitForJob(database.handle, jobId, hasStatus('completed'));
    expect(done).toMatchObject({ jobType: 'send-email', retryCount: 0, error: null, userId: 'u-new', maxRetries: 3 });
    expect(transport.sent.at(-1)).toMatchObject({ subject: 'Adopted' });

    const one = await graphqlData(t!.baseUrl, JobExecutionDocument, { variables: { jobId } });
    expect(one.jobExecution).toMatchObject({ status: 'COMPLETED', attempts: [{ attempt: 0, httpStatus: 200, error: null }] });
    if (variant.primaryKey === 'id') {
      // The app's surrogate key is filled in by its own default.
      const [row] = await database.handle.query<{ id: unknown }>(`SELECT id FROM job_executions WHERE job_id = $1`, [jobId]);
      expect(row!.id).not.toBeNull();
    }
    const list = await graphqlData(t!.baseUrl, JobExecutionsDocument, { variables: { first: 1 } });
    expect(list.jobExecutions.totalCount).toBe(rows.length + 1);
    expect(list.jobExecutions.edges[0]!.node.jobId).toBe(jobId);
  });

  it('replays every migration over the adopted database without changing it (a lost or moved migrations table)', async () => {
    await t?.close();
    t = undefined;
    const tables = [await describeTable(database.handle, 'job_executions'), await describeTable(database.handle, 'job_attempts')];
    const rowsBefore = await runGuideQueries(database.handle, false);
    const config = { migrationsFolder: MIGRATIONS_FOLDER, migrationsSchema: 'jobscope_replay' };
    if (database.handle.kind === 'pglite') await migratePglite(database.handle.db as never, config);
    else await migratePostgres(database.handle.db as never, config);
    expect([await describeTable(database.handle, 'job_executions'), await describeTable(database.handle, 'job_attempts')]).toEqual(tables);
    expect(await runGuideQueries(database.handle, false)).toEqual(rowsBefore);
  });
});

const byTypeAndStatus = (a: { jobType: string; status: string }, b: { jobType: string; status: string }) =>
  `${a.jobType}/${a.status}`.localeCompare(`${b.jobType}/${b.status}`);

describe(`refusing a guide table jobscope cannot represent, on ${databaseKind}`, () => {
  let database: TestDatabase;
  const variant = VARIANTS[1]!;

  beforeAll(async () => {
    database = await createEmptyDatabase({ timeZone: TIME_ZONE });
    for (const statement of variant.ddl) await database.handle.query(statement);
    await insertGuideRows(database.handle, guideRows(40, 7, Date.now()), variant.naive);
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('names every unknown status and every row without a creation time, and changes nothing', async () => {
    await database.handle.query(
      `INSERT INTO job_executions (job_id, job_type, status, created_at) VALUES
         (gen_random_uuid(), 'send-email', 'queued', now()), (gen_random_uuid(), 'send-email', 'queued', now()),
         (gen_random_uuid(), 'send-email', 'done', now()), (gen_random_uuid(), 'send-email', 'completed', NULL)`,
    );
    const table = await describeTable(database.handle, 'job_executions');
    const rowsBefore = await runGuideQueries(database.handle, variant.naive);

    const error = await migrateDatabase(database.handle).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toBe(
      'Database migration failed: jobscope cannot adopt public.job_executions: 1 row has no created_at; ' +
        "status has values jobscope does not know: 'queued' (2 rows), 'done' (1 row) " +
        '(jobscope knows pending, processing, retrying, completed, failed, cancelled). Nothing was changed. ' +
        '(Correct what is listed, e.g. update or delete those rows, then start jobscope again.)',
    );

    expect(await describeTable(database.handle, 'job_executions')).toEqual(table);
    expect(await runGuideQueries(database.handle, variant.naive)).toEqual(rowsBefore);
    expect(await describeTable(database.handle, 'job_attempts')).toBeNull();
    expect(await enumLabels(database.handle)).toEqual([]);
    // Only drizzle's own bookkeeping exists, created before its transaction, and records nothing.
    expect(await migrationNames(database.handle)).toEqual([]);
  });

  it('adopts the table once those rows are corrected', async () => {
    await database.handle.query(`UPDATE job_executions SET status = 'pending' WHERE status IN ('queued', 'done')`);
    await database.handle.query(`UPDATE job_executions SET created_at = now() WHERE created_at IS NULL`);
    await migrateDatabase(database.handle);
    expect(await enumLabels(database.handle)).toEqual(reference.labels);
    const [{ n }] = (await database.handle.query<{ n: number }>(`SELECT count(*)::int AS n FROM job_executions`)) as [{ n: number }];
    expect(n).toBe(44);
  });
});
