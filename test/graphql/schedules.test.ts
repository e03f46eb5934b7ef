/** QStash schedules through GraphQL: runs recorded with the schedule's id, pause, resume, delete, validation, keys and audit. */
import { and, asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, jobExecutions } from '../../src/db/schema.js';
import { defineJob } from '../../src/jobs/registry.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql, graphqlData } from '../helpers/graphql.js';
import { DeleteScheduleDocument, PauseScheduleDocument, ResumeScheduleDocument, SchedulesDocument } from '../gql/graphql.js';

const ticks: string[] = [];
const tickJob = defineJob({
  type: 'tick',
  endpoint: '/api/jobs/tick',
  schema: z.object({ label: z.string().min(1) }),
  timeoutSeconds: 5,
  retries: 1,
  async handler({ label }, job) {
    ticks.push(`${label}:${job.jobId}`);
    return { ticked: label };
  },
});

const OPERATE = 'schedule-operate-key';
const READ = 'schedule-read-key';
const CREATE = `mutation ($jobType: String!, $cron: String!, $payload: JSON!, $metadata: JSON) {
  createSchedule(jobType: $jobType, cron: $cron, payload: $payload, metadata: $metadata) { id cron jobType payload metadata paused nextRunAt destination } }`;
type Created = { createSchedule: { id: string; cron: string; jobType: string; payload: unknown; paused: boolean; nextRunAt: string | null; destination: string } };

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  // A schedule minute lasts 100 ms.
  t = await startTestApp(database.handle, {
    jobs: [tickJob],
    env: { JOBSCOPE_OPERATE_KEYS: `ops:${OPERATE}`, JOBSCOPE_READ_KEYS: `viewer:${READ}`, QSTASH_SCHEDULE_TIME_SCALE: '600' },
  });
});

afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

const runsOf = (scheduleId: string) =>
  database.handle.db.select().from(jobExecutions).where(eq(jobExecutions.scheduleId, scheduleId)).orderBy(asc(jobExecutions.createdAt));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('schedules', () => {
  it('runs a per-minute schedule (time-scaled) as jobs recorded with its id; pause stops the runs, resume restarts them', async () => {
    const { createSchedule } = await graphqlData<Created, Record<string, unknown>>(t.baseUrl, CREATE, {
      key: OPERATE,
      variables: { jobType: 'tick', cron: '* * * * *', payload: { label: 'every-minute' }, metadata: { team: 'ops' } },
    });
    expect(createSchedule).toMatchObject({ cron: '* * * * *', jobType: 'tick', payload: { label: 'every-minute' }, paused: false, destination: `${t.baseUrl}/api/jobs/tick` });
    expect(createSchedule.nextRunAt).not.toBeNull();
    const id = createSchedule.id;

    await expect.poll(async () => (await runsOf(id)).filter((run) => run.status === 'completed').length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const runs = await runsOf(id);
    expect(new Set(runs.map((run) => run.jobId)).size).toBe(runs.length);
    for (const run of runs.filter((r) => r.status === 'completed')) {
      expect(run).toMatchObject({ jobType: 'tick', scheduleId: id, messageId: run.jobId, result: { ticked: 'every-minute' } });
      expect(run.payload).toMatchObject({ payload: { label: 'every-minute' }, metadata: { team: 'ops' } });
    }

    const { schedules } = await graphqlData(t.baseUrl, SchedulesDocument, { key: READ });
    const listed = schedules.find((schedule) => schedule.id === id);
    expect(listed).toMatchObject({ jobType: 'tick', paused: false, lastRun: { status: expect.any(String) } });
    expect(listed?.lastRunAt).not.toBeNull();

    const { pauseSchedule } = await graphqlData(t.baseUrl, PauseScheduleDocument, { key: OPERATE, variables: { id } });
    expect(pauseSchedule).toEqual({ id, paused: true });
    await t.app.standIn!.idle();
    await sleep(200);
    const paused = (await runsOf(id)).length;
    // Five schedule minutes without a run.
    await sleep(500);
    await t.app.standIn!.idle();
    expect(await runsOf(id)).toHaveLength(paused);

    const { resumeSchedule } = await graphqlData(t.baseUrl, ResumeScheduleDocument, { key: OPERATE, variables: { id } });
    expect(resumeSchedule).toMatchObject({ id, paused: false, nextRunAt: expect.any(String) });
    await expect.poll(async () => (await runsOf(id)).length, { timeout: 10_000 }).toBeGreaterThan(paused);

    const { deleteSchedule } = await graphqlData(t.baseUrl, DeleteScheduleDocument, { key: OPERATE, variables: { id } });
    expect(deleteSchedule).toEqual({ id, jobType: 'tick' });
    await t.app.standIn!.idle();
    await sleep(150);
    const deleted = (await runsOf(id)).length;
    await sleep(400);
    expect(await runsOf(id)).toHaveLength(deleted);
    const after = await graphql(t.baseUrl, `query ($id: ID!) { schedule(id: $id) { id } }`, { key: READ, variables: { id } });
    expect(after.data).toEqual({ schedule: null });

    const audit = await database.handle.db.select().from(auditLog).where(eq(auditLog.outcome, 'ok'));
    const actions = audit.filter((row) => ['createSchedule', 'pauseSchedule', 'resumeSchedule', 'deleteSchedule'].includes(row.action));
    expect(actions.map((row) => [row.action, row.actor])).toEqual([
      ['createSchedule', 'api-key:ops'],
      ['pauseSchedule', 'api-key:ops'],
      ['resumeSchedule', 'api-key:ops'],
      ['deleteSchedule', 'api-key:ops'],
    ]);
    expect(actions[0]?.args).toMatchObject({ jobType: 'tick', cron: '* * * * *', payload: { label: 'every-minute' } });
  });

  it('refuses a bad cron, payload, job type or id with a code, creating nothing; a read key cannot act (FORBIDDEN)', async () => {
    const create = (variables: Record<string, unknown>, key = OPERATE) => graphql(t.baseUrl, CREATE, { key, variables: { jobType: 'tick', cron: '0 * * * *', payload: { label: 'x' }, ...variables } });
    expect(errorCodes(await create({ cron: 'every minute' }))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await create({ cron: '* * * * * *' }))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await create({ cron: '' }))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await create({ payload: { label: '' } }))).toEqual(['INVALID_PAYLOAD']);
    expect(errorCodes(await create({ metadata: [1] }))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await create({ jobType: 'nope' }))).toEqual(['UNKNOWN_JOB_TYPE']);
    expect(errorCodes(await create({}, READ))).toEqual(['FORBIDDEN']);
    const { schedules } = await graphqlData(t.baseUrl, SchedulesDocument, { key: READ });
    expect(schedules).toEqual([]);

    expect(errorCodes(await graphql(t.baseUrl, PauseScheduleDocument, { key: OPERATE, variables: { id: 'scd_unknown' } }))).toEqual(['SCHEDULE_NOT_FOUND']);
    expect(errorCodes(await graphql(t.baseUrl, ResumeScheduleDocument, { key: OPERATE, variables: { id: 'scd_unknown' } }))).toEqual(['SCHEDULE_NOT_FOUND']);
    expect(errorCodes(await graphql(t.baseUrl, DeleteScheduleDocument, { key: OPERATE, variables: { id: 'scd_unknown' } }))).toEqual(['SCHEDULE_NOT_FOUND']);
    expect(errorCodes(await graphql(t.baseUrl, DeleteScheduleDocument, { key: READ, variables: { id: 'scd_unknown' } }))).toEqual(['FORBIDDEN']);
    const failed = await database.handle.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'pauseSchedule'), eq(auditLog.outcome, 'SCHEDULE_NOT_FOUND')));
    expect(failed).toHaveLength(1);
  });
});
