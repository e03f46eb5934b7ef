import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jobExecutions } from '../../src/db/schema.js';
import { JobEventsBehindError } from '../../src/jobs/errors.js';
import { JobEventBus, pruneEventLog, readEventLog, type JobEvent } from '../../src/jobs/events.js';
import { createTestLogger } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

let database: TestDatabase;
let bus: JobEventBus;

beforeAll(async () => {
  database = await createTestDatabase();
  bus = new JobEventBus(database.handle, createTestLogger().logger);
  await bus.start();
});
afterAll(async () => {
  await bus?.close();
  await database?.destroy();
});

describe(`the job event bus on ${databaseKind}`, () => {
  it('bounds what waits for a consumer that does not read: the queued events, then JobEventsBehindError', async () => {
    const jobType = `behind-${randomUUID().slice(0, 8)}`;
    const events = bus.iterate(undefined, (e) => e.jobType === jobType, 3);
    // The generator subscribes on its first next(); that one waits for the first event.
    const first = events.next();
    const heard: JobEvent[] = [];
    const stop = bus.subscribe((e) => e.jobType === jobType && heard.push(e));
    try {
      const ids = Array.from({ length: 6 }, () => randomUUID());
      const insert = (jobIds: string[]) =>
        database.handle.db.insert(jobExecutions).values(jobIds.map((jobId) => ({ jobId, jobType, payload: { jobId, type: jobType, payload: {}, metadata: {} } })));
      await insert(ids.slice(0, 1));
      expect((await first).value?.jobId).toBe(ids[0]);
      // Five more while nobody reads: three wait, the fourth overflows the bound.
      await insert(ids.slice(1));
      await vi.waitFor(() => expect(heard).toHaveLength(6), { timeout: 5_000 });
      const queued = [await events.next(), await events.next(), await events.next()].map((r) => r.value?.jobId);
      expect(queued).toEqual(ids.slice(1, 4));
      await expect(events.next()).rejects.toBeInstanceOf(JobEventsBehindError);
      expect(await events.next()).toEqual({ done: true, value: undefined });
    } finally {
      stop();
    }
  });

  it('logs every event it notifies, in order, and prunes the log by age', async () => {
    const jobType = `logged-${randomUUID().slice(0, 8)}`;
    const heard: JobEvent[] = [];
    const stop = bus.subscribe((e) => e.jobType === jobType && heard.push(e));
    try {
      const jobId = randomUUID();
      await database.handle.db.insert(jobExecutions).values({ jobId, jobType, payload: { jobId, type: jobType, payload: {}, metadata: {} } });
      await database.handle.query(`UPDATE job_executions SET status = 'processing', started_at = now() WHERE job_id = $1`, [jobId]);
      await vi.waitFor(() => expect(heard).toHaveLength(2), { timeout: 5_000 });
      // The log as a replay reads it (every transaction: horizon 0), the same events as heard.
      const log = (await readEventLog((text, params) => database.handle.query(text, params), '0')).events.filter((e) => e.event.jobType === jobType);
      expect(log.map((e) => e.event)).toEqual(heard);
      expect(log[0]!.id).toBeLessThan(log[1]!.id);
      expect(log.map((e) => e.event.type)).toEqual(['enqueued', 'started']);

      expect(await pruneEventLog(database.handle, 60 * 60_000)).toBe(0);
      const [{ n }] = (await database.handle.query<{ n: number }>('SELECT count(*)::int AS n FROM job_events')) as [{ n: number }];
      expect(await pruneEventLog(database.handle, 0)).toBe(n);
      expect(await database.handle.query('SELECT 1 FROM job_events')).toEqual([]);
    } finally {
      stop();
    }
  });
});
