import { print } from 'graphql';
import { createClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { EnqueueJobDocument, JobEventsDocument, type JobEventsSubscription } from '../gql/graphql.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { GUIDE_SQL } from '../helpers/guide-sql.js';
import { graphqlData } from '../helpers/graphql.js';

const READ_KEY = 'instances-read-key-0123456789';
const OPERATE_KEY = 'instances-operate-key-0123456789';
const INSTANCES = 3;
const JOBS_PER_INSTANCE = 20;

type JobEvent = JobEventsSubscription['jobEvents'];

/** One SSE subscriber of jobEvents on an instance, collecting what it hears. */
function subscribe(baseUrl: string) {
  const client = createClient({ url: `${baseUrl}/graphql`, headers: { authorization: `Bearer ${READ_KEY}` }, retryAttempts: 0 });
  const events: JobEvent[] = [];
  const errors: unknown[] = [];
  const iterator = client.iterate<JobEventsSubscription>({ query: print(JobEventsDocument), variables: {} });
  const done = (async () => {
    for await (const result of iterator) {
      if (result.errors) errors.push(result.errors);
      if (result.data) events.push(result.data.jobEvents);
    }
  })();
  return {
    events,
    errors,
    async stop() {
      await iterator.return?.();
      await done;
      client.dispose();
    },
  };
}

const enqueue = (t: TestApp, subject: string) =>
  graphqlData(t.baseUrl, EnqueueJobDocument, {
    key: OPERATE_KEY,
    variables: { input: { jobType: 'send-email', payload: { to: 'ada@example.com', subject, text: 'hello' } } },
  }).then((r) => r.enqueueJob.jobId);

/**
 * Several jobscope instances on one PostgreSQL database, as a team scales out: each has its own
 * HTTP server, stand-in and event bus, and they share nothing but the database.
 */
describe.skipIf(databaseKind !== 'postgres')('three instances on one PostgreSQL database', () => {
  let database: TestDatabase;
  const handles: DatabaseHandle[] = [];
  const apps: TestApp[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    handles.push(database.handle);
    for (let i = 1; i < INSTANCES; i++) handles.push(await openDatabase(database.target));
    for (const handle of handles) {
      apps.push(await startTestApp(handle, { env: { JOBSCOPE_READ_KEYS: READ_KEY, JOBSCOPE_OPERATE_KEYS: OPERATE_KEY } }));
    }
  });
  afterAll(async () => {
    for (const app of apps) await app.close();
    for (const handle of handles.slice(1)) await handle.close();
    await database?.destroy();
  });

  it("every subscriber hears every instance's events, and the statistics stay exact with writers on every instance", async () => {
    const subscribers = apps.map((t) => subscribe(t.baseUrl));
    try {
      // Each subscription is live once it hears a probe: no sleeping for an arbitrary time.
      await vi.waitFor(
        async () => {
          const probe = await enqueue(apps[0]!, 'probe');
          await vi.waitFor(() => expect(subscribers.every((s) => s.events.some((e) => e.jobId === probe && e.type === 'COMPLETED'))).toBe(true), {
            timeout: 2_000,
          });
        },
        { timeout: 15_000 },
      );

      // Jobs enqueued on all three at once, each run by the instance that enqueued it.
      const jobIds = (
        await Promise.all(apps.flatMap((t, i) => Array.from({ length: JOBS_PER_INSTANCE }, (_, j) => enqueue(t, `instance ${i} job ${j}`))))
      ).sort();
      await vi.waitFor(
        () => {
          for (const s of subscribers) {
            const completed = new Set(s.events.filter((e) => e.type === 'COMPLETED').map((e) => e.jobId));
            expect(jobIds.filter((id) => !completed.has(id))).toEqual([]);
          }
        },
        { timeout: 30_000, interval: 100 },
      );
      for (const s of subscribers) {
        expect(s.errors).toEqual([]);
        // Every lifecycle event of every job, once each, whichever instance recorded it.
        const ours = s.events.filter((e) => jobIds.includes(e.jobId));
        expect(ours).toHaveLength(jobIds.length * 3);
        for (const type of ['ENQUEUED', 'STARTED', 'COMPLETED']) {
          expect(ours.filter((e) => e.type === type).map((e) => e.jobId).sort()).toEqual(jobIds);
        }
      }
    } finally {
      await Promise.all(subscribers.map((s) => s.stop()));
    }

    // Counts and averages from every instance equal the guide's SQL over the same rows.
    const guide = await database.handle.query<{ job_type: string; status: string; count: string | number; avg_duration_seconds: string | null }>(
      GUIDE_SQL.statistics,
    );
    const all = await database.handle.query<{ job_type: string; status: string; count: number }>(
      'SELECT job_type, status::text AS status, count(*)::int AS count FROM job_executions GROUP BY 1, 2 ORDER BY 1, 2',
    );
    for (const t of apps) {
      const { jobStats } = await graphqlData<{ jobStats: { jobType: string; status: string; count: number; avgDurationSeconds: number | null }[] }, Record<string, never>>(
        t.baseUrl,
        '{ jobStats { jobType status count avgDurationSeconds } }',
        { key: READ_KEY },
      );
      expect(jobStats.map((s) => ({ job_type: s.jobType, status: s.status.toLowerCase(), count: s.count }))).toEqual(all);
      for (const row of guide) {
        const stat = jobStats.find((s) => s.jobType === row.job_type && s.status.toLowerCase() === row.status)!;
        expect(stat.count).toBe(Number(row.count));
        expect(stat.avgDurationSeconds).toBeCloseTo(Number(row.avg_duration_seconds), 9);
      }
    }
  });
});
