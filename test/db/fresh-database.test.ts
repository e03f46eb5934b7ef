import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobExecutions } from '../../src/db/schema.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { planBulk } from '../../src/jobs/ops/bulk.js';
import { countJobExecutions, listJobExecutions } from '../../src/jobs/read/list.js';
import { jobStatistics } from '../../src/jobs/read/stats.js';
import { createEmptyDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

/**
 * A database migrated from nothing on connections that then serve it (an embedded PGlite the
 * first time, a new PostgreSQL database): both drivers learn the enums' array types when they
 * connect, before the migration created them, and bound `status = ANY($1::job_status[])` as a
 * plain string ("malformed array literal") until they reconnected.
 */
describe(`a database migrated from nothing, then queried in the same session, on ${databaseKind}`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createEmptyDatabase();
    await migrateDatabase(database.handle);
    const payload = { jobId: 'fresh-1', type: 'send-email', payload: {}, metadata: {} };
    await database.handle.db.insert(jobExecutions).values({ jobId: 'fresh-1', jobType: 'send-email', status: 'failed', payload, error: 'ECONNRESET' });
  });
  afterAll(async () => {
    await database?.destroy();
  });

  it('filters the list by status (an array of the enum, bound as a parameter)', async () => {
    const page = await listJobExecutions(database.handle.db, { filter: { status: ['failed', 'retrying'] } });
    expect(page.edges.map((e) => e.node.jobId)).toEqual(['fresh-1']);
  });

  it('plans a bulk retry over a status filter', async () => {
    const plan = await planBulk(database.handle.db, 'retry', { status: ['failed'], jobType: ['send-email'] }, 30);
    expect(plan.matched).toBe(1);
  });

  it('counts and aggregates by status from the rollups and from the rows (the same JobFilter SQL)', async () => {
    expect(await countJobExecutions(database.handle.db, { status: ['failed'] })).toBe(1);
    expect(await countJobExecutions(database.handle.db, { status: ['failed'], errorContains: 'econn' })).toBe(1);
    expect((await jobStatistics(database.handle.db, { filter: { status: ['failed'] } })).map((s) => s.count)).toEqual([1]);
  });
});
