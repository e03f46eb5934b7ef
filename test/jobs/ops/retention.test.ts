import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { FINAL_STATUSES, jobAttempts, jobExecutions } from '../../../src/db/schema.js';
import { purgeJobExecutions } from '../../../src/jobs/ops/retention.js';
import { startTestApp } from '../../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../../helpers/db.js';
import { generateExecutions, insertAttempts, insertExecutions } from '../../helpers/factories.js';
import { PurgeJobExecutionsDocument } from '../../gql/graphql.js';
import { errorCodes, graphql } from '../../helpers/graphql.js';
import { GUIDE_SQL } from '../../helpers/guide-sql.js';

const DAY = 86_400_000;
const final = new Set<string>(FINAL_STATUSES);

describe(`retention on ${databaseKind}`, () => {
  let database: TestDatabase | undefined;
  const db = () => database!.handle.db;
  const rows = () => db().select().from(jobExecutions);

  beforeEach(async () => {
    await database?.destroy();
    database = await createTestDatabase();
    // 200 jobs over the last 10 days and 100 over the last hour, every status, with attempts.
    const old = generateExecutions({ count: 200, seed: 21, prefix: 'old', spanMinutes: 10 * 24 * 60 });
    const recent = generateExecutions({ count: 100, seed: 22, prefix: 'new', spanMinutes: 60 });
    await insertExecutions(db(), [...old, ...recent]);
    await insertAttempts(db(), [...old, ...recent].map((r) => r.jobId));
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('deletes only final jobs finished before the cutoff, with their attempts, in batches; a dry run deletes nothing', async () => {
    const before = await rows();
    const olderThan = new Date(Date.now() - 3 * DAY);
    const expected = before.filter((r) => final.has(r.status) && r.completedAt !== null && r.completedAt < olderThan);
    expect(expected.length).toBeGreaterThan(50);

    const dry = await purgeJobExecutions(db(), { olderThan, dryRun: true });
    expect(dry).toMatchObject({ matched: expected.length, deleted: 0, batches: 0, dryRun: true });
    expect(await rows()).toHaveLength(before.length);

    const result = await purgeJobExecutions(db(), { olderThan, batchSize: 25 });
    expect(result).toMatchObject({ matched: expected.length, deleted: expected.length, dryRun: false });
    expect(result.batches).toBe(Math.ceil(expected.length / 25));
    const gone = new Set(expected.map((r) => r.jobId));
    const after = await rows();
    expect(after.map((r) => r.jobId).sort()).toEqual(before.filter((r) => !gone.has(r.jobId)).map((r) => r.jobId).sort());
    // Pending, processing and retrying jobs stay whatever their age.
    expect(after.filter((r) => !final.has(r.status))).toHaveLength(before.filter((r) => !final.has(r.status)).length);
    const attempts = await db().select({ jobId: jobAttempts.jobId }).from(jobAttempts);
    expect(attempts.some((a) => gone.has(a.jobId))).toBe(false);
    expect(attempts).toHaveLength(after.length * 2);
    // Nothing left to purge.
    expect(await purgeJobExecutions(db(), { olderThan })).toMatchObject({ matched: 0, deleted: 0 });
  });

  it('honours the filter, and the statistics stay those of the remaining rows', async () => {
    const olderThan = new Date(Date.now() - DAY);
    const before = await rows();
    const result = await purgeJobExecutions(db(), { olderThan, filter: { jobType: ['send-email'], status: ['completed', 'processing'] } });
    const expected = before.filter((r) => r.jobType === 'send-email' && r.status === 'completed' && r.completedAt! < olderThan);
    expect(result.deleted).toBe(expected.length);
    expect(result.deleted).toBeGreaterThan(0);
    const t = await startTestApp(database!.handle);
    try {
      const response = await graphql<{ jobStats: { jobType: string; status: string; count: number }[] }>(t.baseUrl, '{ jobStats { jobType status count } }');
      const guide = await database!.handle.query<{ job_type: string; status: string; count: unknown }>(GUIDE_SQL.statistics);
      for (const g of guide) {
        const ours = response.data!.jobStats.find((s) => s.jobType === g.job_type && s.status === g.status.toUpperCase());
        expect(ours?.count, `${g.job_type}/${g.status}`).toBe(Number(g.count));
      }
    } finally {
      await t.close();
    }
  });

  it('purgeJobExecutions needs an operate key, counts on a dry run and deletes otherwise', async () => {
    const t = await startTestApp(database!.handle, { env: { JOBSCOPE_READ_KEYS: 'reader:read-key-0123456789abcdef', JOBSCOPE_OPERATE_KEYS: 'ops:operate-key-0123456789abcdef' } });
    try {
      const olderThan = new Date(Date.now() - 3 * DAY).toISOString();
      const mutation = PurgeJobExecutionsDocument;
      const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
      const refused = await graphql(t.baseUrl, mutation, { variables: { olderThan, dryRun: false }, ...as('read-key-0123456789abcdef') });
      expect(errorCodes(refused)).toEqual(['FORBIDDEN']);
      const count = (await rows()).length;
      const dry = await graphql(t.baseUrl, mutation, { variables: { olderThan, dryRun: true }, ...as('operate-key-0123456789abcdef') });
      expect(dry.data!.purgeJobExecutions).toMatchObject({ deleted: 0, dryRun: true });
      expect(await rows()).toHaveLength(count);
      const done = await graphql(t.baseUrl, mutation, { variables: { olderThan, dryRun: false }, ...as('operate-key-0123456789abcdef') });
      expect(done.data!.purgeJobExecutions).toMatchObject({ matched: dry.data!.purgeJobExecutions.matched, deleted: dry.data!.purgeJobExecutions.matched, dryRun: false });
      expect(await rows()).toHaveLength(count - done.data!.purgeJobExecutions.deleted);
      expect(t.logs.some((l) => l.message === '[jobs] Purged finished jobs' && l['actor'] === 'api-key:ops')).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('JOBSCOPE_RETENTION_DAYS purges on start, and nothing without it', async () => {
    const count = (await rows()).length;
    const off = await startTestApp(database!.handle);
    off.app.start();
    await off.close();
    expect(await rows()).toHaveLength(count);

    // Counted before the app exists: the purge its start begins may already have finished by the
    // next read (expected read 0 once in CI when counted after startTestApp).
    const cutoff = Date.now() - 2 * DAY;
    const expected = (await rows()).filter((r) => final.has(r.status) && r.completedAt!.getTime() < cutoff).length;
    expect(expected).toBeGreaterThan(0);
    const t = await startTestApp(database!.handle, { env: { JOBSCOPE_RETENTION_DAYS: '2' } });
    try {
      t.app.start();
      const deadline = Date.now() + 10_000;
      while ((await rows()).length > count - expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(await rows()).toHaveLength(count - expected);
      expect(t.logs.find((l) => l.message === '[jobs] Purged finished jobs')).toMatchObject({ deleted: expected, actor: 'system:retention' });
    } finally {
      await t.close();
    }
  });
});
