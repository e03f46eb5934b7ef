/** QStash's dead letters through GraphQL: list with the answer and the job, retry, delete, keys and audit. */
import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog } from '../../src/db/schema.js';
import { defineJob } from '../../src/jobs/registry.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql, graphqlData } from '../helpers/graphql.js';
import { DeleteDeadLettersDocument, RetryDeadLettersDocument } from '../gql/graphql.js';

const healthy = new Set<string>();
const flakyJob = defineJob({
  type: 'flaky',
  endpoint: '/api/jobs/flaky',
  schema: z.object({ key: z.string() }),
  timeoutSeconds: 5,
  retries: 1,
  async handler({ key }) {
    if (!healthy.has(key)) throw new Error(`upstream down for ${key}`);
    return { ok: key };
  },
});

const OPERATE = 'dlq-operate-key';
const READ = 'dlq-read-key';
const ENQUEUE = `mutation ($key: String!) { enqueueJob(input: { jobType: "flaky", payload: { key: $key } }) { jobId } }`;
const JOB_DEAD_LETTER = `query ($jobId: ID!) { jobExecution(jobId: $jobId) { status deadLetter { dlqId responseStatus responseBody jobId } } }`;

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, { jobs: [flakyJob], env: { JOBSCOPE_OPERATE_KEYS: `ops:${OPERATE}`, JOBSCOPE_READ_KEYS: `viewer:${READ}` } });
});

afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

/** Enqueues a flaky job that fails for good (2 attempts), and waits for its message to reach the DLQ. */
async function deadJob(key: string): Promise<{ jobId: string; dlqId: string }> {
  const { enqueueJob } = await graphqlData<{ enqueueJob: { jobId: string } }, { key: string }>(t.baseUrl, ENQUEUE, { key: OPERATE, variables: { key } });
  await waitForJob(database.handle, enqueueJob.jobId, hasStatus('failed'));
  await t.app.standIn!.idle();
  const data = await graphqlData(t.baseUrl, JOB_DEAD_LETTER, { key: READ, variables: { jobId: enqueueJob.jobId } });
  const dlqId = (data as { jobExecution: { deadLetter: { dlqId: string } | null } }).jobExecution.deadLetter?.dlqId;
  expect(dlqId).toBeTruthy();
  return { jobId: enqueueJob.jobId, dlqId: dlqId! };
}

const auditRows = (action: string) =>
  database.handle.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.action, action), eq(auditLog.outcome, 'ok')));

describe('deadLetters', () => {
  it('lists a job whose retries ran out with the answer it got, linked to the job both ways; pages by cursor', async () => {
    const first = await deadJob('a');
    const second = await deadJob('b');
    const LIST = `query ($after: String) { deadLetters(first: 1, after: $after, filter: { jobType: "flaky" }) {
      nodes { dlqId messageId url method responseStatus responseBody responseHeaders body createdAt jobId job { jobId status error } }
      pageInfo { hasNextPage endCursor } } }`;
    type Page = { deadLetters: { nodes: Array<Record<string, any>>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };
    const page1 = await graphqlData<Page, { after?: string }>(t.baseUrl, LIST, { key: READ, variables: {} });
    expect(page1.deadLetters.nodes).toHaveLength(1);
    expect(page1.deadLetters.pageInfo.hasNextPage).toBe(true);
    const newest = page1.deadLetters.nodes[0]!;
    expect(newest).toMatchObject({
      dlqId: second.dlqId,
      url: `${t.baseUrl}/api/jobs/flaky`,
      method: 'POST',
      responseStatus: 500,
      jobId: second.jobId,
      job: { jobId: second.jobId, status: 'FAILED', error: expect.stringContaining('upstream down for b') },
    });
    expect(newest.responseBody).toContain(second.jobId);
    expect(JSON.parse(newest.body as string)).toMatchObject({ jobId: second.jobId, type: 'flaky', payload: { key: 'b' } });
    const page2 = await graphqlData<Page, { after?: string }>(t.baseUrl, LIST, { key: READ, variables: { after: page1.deadLetters.pageInfo.endCursor! } });
    expect(page2.deadLetters.nodes.map((node) => node.dlqId)).toEqual([first.dlqId]);
    expect(page2.deadLetters.pageInfo.hasNextPage).toBe(false);

    const byStatus = await graphql(t.baseUrl, `{ deadLetters(filter: { responseStatus: 404 }) { nodes { dlqId } } }`, { key: READ });
    expect(byStatus.data).toEqual({ deadLetters: { nodes: [] } });
  });

  it('refuses bad input with a code and changes nothing; a read key may list but not act (FORBIDDEN)', async () => {
    const { dlqId, jobId } = await deadJob('c');
    const unknown = await graphql(t.baseUrl, RetryDeadLettersDocument, { key: OPERATE, variables: { dlqIds: [dlqId, '1-unknown'] } });
    expect(errorCodes(unknown)).toEqual(['DEAD_LETTER_NOT_FOUND']);
    const gone = await graphql(t.baseUrl, DeleteDeadLettersDocument, { key: OPERATE, variables: { dlqIds: ['1-unknown'] } });
    expect(errorCodes(gone)).toEqual(['DEAD_LETTER_NOT_FOUND']);
    expect(errorCodes(await graphql(t.baseUrl, RetryDeadLettersDocument, { key: OPERATE, variables: { dlqIds: [] } }))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await graphql(t.baseUrl, `{ deadLetters(first: 0) { nodes { dlqId } } }`, { key: READ }))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await graphql(t.baseUrl, `{ deadLetters(filter: { jobType: "nope" }) { nodes { dlqId } } }`, { key: READ }))).toEqual(['UNKNOWN_JOB_TYPE']);
    expect(errorCodes(await graphql(t.baseUrl, RetryDeadLettersDocument, { key: READ, variables: { dlqIds: [dlqId] } }))).toEqual(['FORBIDDEN']);
    expect(errorCodes(await graphql(t.baseUrl, DeleteDeadLettersDocument, { key: READ, variables: { dlqIds: [dlqId] } }))).toEqual(['FORBIDDEN']);

    const still = await graphqlData(t.baseUrl, JOB_DEAD_LETTER, { key: READ, variables: { jobId } });
    expect(still).toMatchObject({ jobExecution: { status: 'FAILED', deadLetter: { dlqId } } });
    const failures = await database.handle.db
      .select()
      .from(auditLog)
      .where(and(eq(auditLog.action, 'retryDeadLetters'), eq(auditLog.outcome, 'DEAD_LETTER_NOT_FOUND')));
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ actor: 'api-key:ops', args: { dlqIds: [dlqId, '1-unknown'] } });
  });

  it('retries a dead letter: a new message, the job back to pending and then run to completion, one audit row', async () => {
    const { dlqId, jobId } = await deadJob('d');
    healthy.add('d');
    const before = (await auditRows('retryDeadLetters')).length;
    const { retryDeadLetters } = await graphqlData(t.baseUrl, RetryDeadLettersDocument, { key: OPERATE, variables: { dlqIds: [dlqId] } });
    expect(retryDeadLetters).toHaveLength(1);
    expect(retryDeadLetters[0]).toMatchObject({ dlqId, messageId: expect.stringMatching(/^msg_/), job: { jobId } });
    expect(['PENDING', 'PROCESSING', 'COMPLETED']).toContain(retryDeadLetters[0]?.job?.status);
    const done = await waitForJob(database.handle, jobId, hasStatus('completed'));
    expect(done.messageId).toBe(retryDeadLetters[0]?.messageId);
    expect(done.result).toEqual({ ok: 'd' });
    const after = await graphqlData(t.baseUrl, JOB_DEAD_LETTER, { key: READ, variables: { jobId } });
    expect(after).toMatchObject({ jobExecution: { status: 'COMPLETED', deadLetter: null } });

    const rows = await auditRows('retryDeadLetters');
    expect(rows).toHaveLength(before + 1);
    expect(rows.at(-1)).toMatchObject({ actor: 'api-key:ops', outcome: 'ok', args: { dlqIds: [dlqId] }, jobIds: [jobId] });
  });

  it('deletes dead letters, answers them as they were, and leaves one audit row', async () => {
    const { dlqId, jobId } = await deadJob('e');
    const { deleteDeadLetters } = await graphqlData(t.baseUrl, DeleteDeadLettersDocument, { key: OPERATE, variables: { dlqIds: [dlqId] } });
    expect(deleteDeadLetters).toEqual([{ dlqId, messageId: expect.stringMatching(/^msg_/) }]);
    const after = await graphqlData(t.baseUrl, JOB_DEAD_LETTER, { key: READ, variables: { jobId } });
    expect(after).toMatchObject({ jobExecution: { status: 'FAILED', deadLetter: null } });
    const rows = await auditRows('deleteDeadLetters');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'api-key:ops', outcome: 'ok', jobIds: [jobId], detail: { deleted: 1 } });
  });
});
