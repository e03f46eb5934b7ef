/** JobExecution.logs: the lines that named a job (jobscope's and its handler's), in order, per attempt, scrubbed, capped. */
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/jobs/registry.js';
import { MAX_LINES_PER_JOB } from '../../src/jobs/job-logs.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';

let calls = 0;
const chatty = defineJob({
  type: 'chatty',
  endpoint: '/api/jobs/chatty',
  schema: z.object({ lines: z.number() }),
  timeoutSeconds: 5,
  retries: 1,
  async handler({ lines }, _job, { logger }) {
    calls++;
    for (let i = 0; i < lines; i++) logger.info(`step ${i}`, { i, apiKey: 'hidden' });
    if (calls === 1) throw new Error('first attempt fails');
    return {};
  },
});

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, { jobs: [chatty] });
});

afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

type Line = { message: string; level: string; attempt: number | null; fields: Record<string, unknown> };
const LOGS = `query ($jobId: ID!, $first: Int) { jobExecution(jobId: $jobId) { logs(first: $first) { at level message attempt fields } } }`;
const logsOf = async (jobId: string, first = 200) =>
  (await graphqlData<{ jobExecution: { logs: Line[] } }, Record<string, unknown>>(t.baseUrl, LOGS, { variables: { jobId, first } })).jobExecution.logs;

describe('job logs', () => {
  it("keeps jobscope's lines and the handler's, in order, filed under their attempt, secrets scrubbed", async () => {
    const job = await t.app.jobs.enqueue('chatty', { lines: 2 });
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    let lines: Line[] = [];
    await expect.poll(async () => (lines = await logsOf(job.jobId)).filter((line) => line.message === '[jobs] Job processed successfully').length, { timeout: 5_000 }).toBe(1);
    const handlerLines = lines.filter((line) => line.message.startsWith('step '));
    expect(handlerLines.map((line) => [line.message, line.attempt])).toEqual([
      ['step 0', 0],
      ['step 1', 0],
      ['step 0', 1],
      ['step 1', 1],
    ]);
    expect(handlerLines[0]?.fields).toMatchObject({ i: 0, apiKey: '[redacted]', jobType: 'chatty' });
    expect(lines.find((line) => line.level === 'error' && line.attempt === 0)?.fields.error).toBe('first attempt fails');
    // In the order they were written: the failed attempt's lines before the retry's.
    const messages = lines.map((line) => line.message);
    expect(messages.indexOf('[jobs] Job processed successfully')).toBeGreaterThan(messages.lastIndexOf('step 1'));
  });

  it(`keeps at most ${MAX_LINES_PER_JOB} lines of one job`, async () => {
    calls = 1;
    const job = await t.app.jobs.enqueue('chatty', { lines: 300 });
    await waitForJob(database.handle, job.jobId, hasStatus('completed'));
    await expect.poll(async () => (await logsOf(job.jobId)).length, { timeout: 5_000 }).toBe(MAX_LINES_PER_JOB);
  });
});
