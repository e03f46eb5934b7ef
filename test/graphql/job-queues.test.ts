/**
 * Per-type QStash queues through GraphQL and the real pipeline: a paused type's jobs are published
 * and held, resumed they run; parallelism caps concurrent runs; queueDepth sets the database's
 * backlog beside QStash's lag; keys, codes and the audit log.
 */
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, jobExecutions } from '../../src/db/schema.js';
import { defineJob } from '../../src/jobs/registry.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql, graphqlData } from '../helpers/graphql.js';
import { PauseJobTypeDocument, QueueDepthDocument, ResumeJobTypeDocument } from '../gql/graphql.js';

const OPERATE = 'queues-operate-key';
const READ = 'queues-read-key';

/** Runs of `held` wait for `release()`; `running` counts those under way. */
let running = 0;
let most = 0;
let release: () => void = () => {};
let released = Promise.resolve();
const ran: string[] = [];
const heldJob = defineJob({
  type: 'held',
  endpoint: '/api/jobs/held',
  schema: z.object({ n: z.number() }),
  timeoutSeconds: 20,
  retries: 1,
  parallelism: 2,
  async handler({ n }) {
    running++;
    most = Math.max(most, running);
    try {
      await released;
      ran.push(String(n));
      return { n };
    } finally {
      running--;
    }
  },
});
const otherJob = defineJob({
  type: 'other:kind',
  endpoint: '/api/jobs/other',
  schema: z.object({}),
  timeoutSeconds: 5,
  retries: 0,
  handler: async () => ({}),
});

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, {
    jobs: [heldJob, otherJob],
    env: { JOBSCOPE_OPERATE_KEYS: `ops:${OPERATE}`, JOBSCOPE_READ_KEYS: `viewer:${READ}`, JOBSCOPE_QUEUE_PARALLELISM: '3' },
  });
});

afterAll(async () => {
  release();
  await t?.close();
  await database?.destroy();
});

const ENQUEUE = `mutation ($n: Float!) { enqueueJob(input: { jobType: "held", payload: { n: $n } }) { jobId } }`;
const JOB_TYPES = `{ jobTypes { name queueName paused parallelism lag } }`;
const statusOf = async (jobId: string) =>
  (await database.handle.db.select({ status: jobExecutions.status }).from(jobExecutions).where(eq(jobExecutions.jobId, jobId)))[0]?.status;
const publishedOf = async (jobIds: string[]) => {
  const rows = await database.handle.db.select({ jobId: jobExecutions.jobId, messageId: jobExecutions.messageId }).from(jobExecutions);
  return rows.filter((row) => jobIds.includes(row.jobId) && row.messageId !== null).length;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('job type queues', () => {
  it('shows each type\'s queue: its name, parallelism (its own, else the default) and state', async () => {
    const { data } = await graphql<{ jobTypes: Array<Record<string, unknown>> }>(t.baseUrl, JOB_TYPES, { key: READ });
    expect(data?.jobTypes).toEqual([
      { name: 'held', queueName: 'jobscope-held', paused: false, parallelism: 2, lag: 0 },
      { name: 'other:kind', queueName: 'jobscope-other_kind', paused: false, parallelism: 3, lag: 0 },
    ]);
  });

  it('holds a paused type\'s jobs (published, not delivered) and runs them on resume, at most `parallelism` at once', async () => {
    let gate!: () => void;
    released = new Promise<void>((resolve) => {
      gate = resolve;
    });
    release = gate;

    const { pauseJobType } = await graphqlData(t.baseUrl, PauseJobTypeDocument, { key: OPERATE, variables: { jobType: 'held' } });
    expect(pauseJobType).toEqual({ name: 'held', paused: true, lag: 0 });

    const jobIds: string[] = [];
    for (let n = 0; n < 5; n++) {
      const { data } = await graphql<{ enqueueJob: { jobId: string } }>(t.baseUrl, ENQUEUE, { key: OPERATE, variables: { n } });
      jobIds.push(data!.enqueueJob.jobId);
    }
    await expect.poll(() => publishedOf(jobIds), { timeout: 10_000 }).toBe(5);
    await sleep(300);
    expect(running).toBe(0);
    for (const jobId of jobIds) expect(await statusOf(jobId)).toBe('pending');

    const { queueDepth } = await graphqlData(t.baseUrl, QueueDepthDocument, { key: READ });
    const held = queueDepth.find((depth) => depth.jobType === 'held');
    expect(held).toMatchObject({ pending: 5, processing: 0, queueName: 'jobscope-held', paused: true, parallelism: 2, lag: 5 });
    expect(held?.oldestPendingAgeSeconds).toBeGreaterThan(0.2);
    expect(queueDepth.find((depth) => depth.jobType === 'other:kind')).toMatchObject({ pending: 0, lag: 0, paused: false, oldestPendingAgeSeconds: null });

    const { resumeJobType } = await graphqlData(t.baseUrl, ResumeJobTypeDocument, { key: OPERATE, variables: { jobType: 'held' } });
    expect(resumeJobType.paused).toBe(false);
    // Two turns: two runs start and hold them; the other three wait in QStash's queue.
    await expect.poll(() => running, { timeout: 10_000 }).toBe(2);
    await sleep(300);
    expect(running).toBe(2);
    const during = await graphqlData(t.baseUrl, QueueDepthDocument, { key: READ });
    expect(during.queueDepth.find((depth) => depth.jobType === 'held')).toMatchObject({ processing: 2, pending: 3, lag: 3 });

    release();
    for (const jobId of jobIds) await expect.poll(() => statusOf(jobId), { timeout: 15_000 }).toBe('completed');
    expect(most).toBe(2);
    expect(ran.map(Number).sort()).toEqual([0, 1, 2, 3, 4]);
    const after = await graphqlData(t.baseUrl, QueueDepthDocument, { key: READ });
    expect(after.queueDepth.find((depth) => depth.jobType === 'held')).toMatchObject({ pending: 0, processing: 0, lag: 0, paused: false });
  });

  it('refuses an unknown type, and a read key, with a code; every attempt is audited once', async () => {
    expect(errorCodes(await graphql(t.baseUrl, PauseJobTypeDocument, { key: OPERATE, variables: { jobType: 'nope' } }))).toEqual(['UNKNOWN_JOB_TYPE']);
    expect(errorCodes(await graphql(t.baseUrl, PauseJobTypeDocument, { key: READ, variables: { jobType: 'held' } }))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await graphql(t.baseUrl, ResumeJobTypeDocument, { key: READ, variables: { jobType: 'held' } }))).toEqual(['FORBIDDEN']);
    const { data } = await graphql<{ jobTypes: Array<{ name: string; paused: boolean }> }>(t.baseUrl, JOB_TYPES, { key: READ });
    expect(data?.jobTypes.find((type) => type.name === 'held')?.paused).toBe(false);

    const rows = await database.handle.db.select().from(auditLog);
    const queueRows = rows.filter((row) => row.action === 'pauseJobType' || row.action === 'resumeJobType');
    expect(queueRows.map((row) => [row.action, row.actor, row.outcome])).toEqual([
      ['pauseJobType', 'api-key:ops', 'ok'],
      ['resumeJobType', 'api-key:ops', 'ok'],
      ['pauseJobType', 'api-key:ops', 'UNKNOWN_JOB_TYPE'],
    ]);
    expect(queueRows[0]?.args).toEqual({ jobType: 'held' });
    const unknown = await database.handle.db.select().from(auditLog).where(and(eq(auditLog.action, 'pauseJobType'), eq(auditLog.outcome, 'UNKNOWN_JOB_TYPE')));
    expect(unknown).toHaveLength(1);
  });
});

describe('a parallelism QStash refuses', () => {
  it('is logged with the fix, and the jobs still go through the queue as QStash has it (and not failed by an instance that does not know the type)', async () => {
    // The stand-in caps parallelism at 1000, as QStash's plans cap it (the free plan at 2).
    const greedy = defineJob({ ...otherJob, type: 'greedy', endpoint: '/api/jobs/greedy', parallelism: 5000 });
    const app = await startTestApp(database.handle, { jobs: [greedy] });
    try {
      const { data } = await graphql<{ enqueueJob: { jobId: string } }>(app.baseUrl, `mutation { enqueueJob(input: { jobType: "greedy", payload: {} }) { jobId } }`);
      // The first instance shares the database and does not know `greedy`: it leaves the job to this one.
      await expect.poll(() => statusOf(data!.enqueueJob.jobId), { timeout: 10_000 }).toBe('completed');
      const refused = app.logs.find((entry) => entry.message.startsWith("[jobs] QStash refused the job queue's parallelism"));
      expect(refused).toMatchObject({ level: 'error', jobType: 'greedy', queueName: 'jobscope-greedy', parallelism: 5000, status: 400 });
      const types = await graphql<{ jobTypes: Array<Record<string, unknown>> }>(app.baseUrl, JOB_TYPES);
      expect(types.data?.jobTypes).toEqual([{ name: 'greedy', queueName: 'jobscope-greedy', paused: false, parallelism: 1, lag: 0 }]);
    } finally {
      await app.close();
    }
  });
});

describe('with queues off', () => {
  it('publishes straight to the endpoint: the queue fields are null and pausing is QUEUES_DISABLED', async () => {
    const off = await startTestApp(database.handle, { jobs: [otherJob], env: { JOBSCOPE_QUEUES: 'off' } });
    try {
      const { data } = await graphql<{ jobTypes: Array<Record<string, unknown>> }>(off.baseUrl, JOB_TYPES);
      expect(data?.jobTypes).toEqual([{ name: 'other:kind', queueName: null, paused: null, parallelism: null, lag: null }]);
      expect(errorCodes(await graphql(off.baseUrl, PauseJobTypeDocument, { variables: { jobType: 'other:kind' } }))).toEqual(['QUEUES_DISABLED']);
      const { data: enqueued } = await graphql<{ enqueueJob: { jobId: string } }>(off.baseUrl, `mutation { enqueueJob(input: { jobType: "other:kind", payload: {} }) { jobId } }`);
      await expect.poll(() => statusOf(enqueued!.enqueueJob.jobId), { timeout: 10_000 }).toBe('completed');
    } finally {
      await off.close();
    }
  });
});
