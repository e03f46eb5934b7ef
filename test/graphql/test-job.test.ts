/** testJob: the handler run in-process, bypassing QStash; no job row, no statistics; logs captured and scrubbed; audited. */
import { count, eq } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, jobExecutions } from '../../src/db/schema.js';
import { defineJob } from '../../src/jobs/registry.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql } from '../helpers/graphql.js';

const OPERATE = 'test-job-operate-key';
const READ = 'test-job-read-key';

const greet = defineJob({
  type: 'greet',
  endpoint: '/api/jobs/greet',
  schema: z.object({ name: z.string().min(1), fail: z.boolean().optional(), slow: z.boolean().optional() }),
  timeoutSeconds: 0.5,
  retries: 0,
  async handler({ name, fail, slow }, job, { logger, signal }) {
    logger.info('greeting', { name, signingKey: 'not shown' });
    if (slow) await new Promise((resolve) => setTimeout(resolve, 2_000));
    if (fail) throw new Error(`cannot greet ${name}`);
    return { greeting: `hello ${name}`, jobId: job.jobId, aborted: signal.aborted };
  },
});

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, {
    jobs: [greet],
    env: { JOBSCOPE_OPERATE_KEYS: `ops:${OPERATE}`, JOBSCOPE_READ_KEYS: `viewer:${READ}` },
  });
});

afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

const TEST_JOB = `mutation ($jobType: String!, $payload: JSON!) {
  testJob(jobType: $jobType, payload: $payload) { jobType jobId ok result error timedOut durationSeconds logs { level message fields at } } }`;
type Run = { testJob: { jobType: string; jobId: string; ok: boolean; result: Record<string, unknown> | null; error: string | null; timedOut: boolean; durationSeconds: number; logs: Array<{ level: string; message: string; fields: Record<string, unknown> }> } };
const run = (payload: unknown, key = OPERATE, jobType = 'greet') => graphql<Run['testJob'] extends infer R ? { testJob: R } : never>(t.baseUrl, TEST_JOB, { key, variables: { jobType, payload } });

describe('testJob', () => {
  it('runs the handler in-process and answers its result and its logs, scrubbed; no job is recorded', async () => {
    const { data, errors } = await run({ name: 'Ada' });
    expect(errors).toBeUndefined();
    const result = data!.testJob;
    expect(result).toMatchObject({ jobType: 'greet', ok: true, error: null, timedOut: false });
    expect(result.jobId).toMatch(/^test-run-/);
    expect(result.result).toEqual({ greeting: 'hello Ada', jobId: result.jobId, aborted: false });
    const greeting = result.logs.find((line) => line.message === 'greeting');
    expect(greeting?.level).toBe('info');
    expect(greeting?.fields).toMatchObject({ name: 'Ada', jobId: result.jobId, jobType: 'greet', testRun: true });
    // Scrubbed as the log files are (this test's logger knows no secret values, only the secret field names).
    expect(greeting?.fields.signingKey).toBe('[redacted]');
    expect(result.logs.map((line) => line.message)).toEqual(['[jobs] Test run started', 'greeting', '[jobs] Test run completed']);
    // The lines also reach jobscope's own log.
    expect(t.logs.some((entry) => entry.message === 'greeting' && entry.jobId === result.jobId)).toBe(true);
    const [{ n }] = (await database.handle.db.select({ n: count() }).from(jobExecutions)) as [{ n: number }];
    expect(n).toBe(0);
  });

  it('answers a throw and a timeout as a failed run, not an error', async () => {
    const failed = (await run({ name: 'Bob', fail: true })).data!.testJob;
    expect(failed).toMatchObject({ ok: false, error: 'cannot greet Bob', timedOut: false, result: null });
    const slow = (await run({ name: 'Cy', slow: true })).data!.testJob;
    expect(slow).toMatchObject({ ok: false, error: 'Job timed out after 0.5s', timedOut: true });
    expect(slow.durationSeconds).toBeGreaterThanOrEqual(0.45);
  });

  it('validates like enqueueJob, takes the operate key, and is audited once per call', async () => {
    expect(errorCodes(await run({ name: '' }))).toEqual(['INVALID_PAYLOAD']);
    expect(errorCodes(await run({ name: 'x' }, OPERATE, 'nope'))).toEqual(['UNKNOWN_JOB_TYPE']);
    expect(errorCodes(await run({ name: 'x' }, READ))).toEqual(['FORBIDDEN']);
    const rows = await database.handle.db.select().from(auditLog).where(eq(auditLog.action, 'testJob'));
    expect(rows.map((row) => row.outcome)).toEqual(['ok', 'ok', 'ok', 'INVALID_PAYLOAD', 'UNKNOWN_JOB_TYPE']);
    expect(rows[0]).toMatchObject({ actor: 'api-key:ops', args: { jobType: 'greet', payload: { name: 'Ada' } } });
  });
});
