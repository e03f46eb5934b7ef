import { createHash } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, jobExecutions } from '../../src/db/schema.js';
import { defineJob } from '../../src/jobs/registry.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql } from '../helpers/graphql.js';

const runs: { key: string; n: number }[] = [];
/** Fails when `n` is negative (no retries, so at once), succeeds otherwise. */
const countJob = defineJob({
  type: 'count',
  endpoint: '/api/jobs/count',
  schema: z.object({ key: z.string(), n: z.number().int() }),
  timeoutSeconds: 5,
  retries: 0,
  async handler({ key, n }) {
    runs.push({ key, n });
    if (n < 0) throw new Error(`count: n is negative (${n})`);
    return { doubled: n * 2 };
  },
});

const OPS_KEY = 'ops-bot-secret-key';
const UNNAMED_KEY = 'an-unnamed-operate-key';
const READ_KEY = 'a-read-only-key';
const unnamedLabel = `api-key:key#${createHash('sha256').update(UNNAMED_KEY).digest('hex').slice(0, 4)}`;

const JOB = 'jobId jobType status payload metadata replayOf { jobId } replays { jobId payload }';
const ENQUEUE = `mutation ($input: EnqueueJobInput!) { enqueueJob(input: $input) { ${JOB} } }`;
const REPLAY = `mutation ($jobId: ID!, $payload: JSON, $metadata: JSON) { replayJob(jobId: $jobId, payload: $payload, metadata: $metadata) { ${JOB} } }`;
const RETRY = `mutation ($jobId: ID!) { retryJob(jobId: $jobId) { jobId status } }`;
const CANCEL = `mutation ($jobId: ID!) { cancelJob(jobId: $jobId) { jobId status } }`;
const AUDIT = `query ($filter: AuditLogFilter, $first: Int, $after: String) {
  auditLog(filter: $filter, first: $first, after: $after) {
    nodes { id at actor action args jobIds outcome detail }
    pageInfo { hasNextPage endCursor }
  }
}`;

type Job = { jobId: string; jobType: string; status: string; payload: unknown; metadata: Record<string, unknown>; replayOf: { jobId: string } | null; replays: { jobId: string; payload: unknown }[] };
type Entry = { id: string; at: string; actor: string; action: string; args: Record<string, unknown>; jobIds: string[]; outcome: string; detail: Record<string, unknown> | null };
type AuditPage = { auditLog: { nodes: Entry[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } };

describe(`replayJob and the audit log on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;
  const call = <T>(document: string, variables: Record<string, unknown> = {}, key = OPS_KEY) => graphql<T>(t.baseUrl, document, { variables, key });
  const data = async <T>(document: string, variables: Record<string, unknown> = {}, key = OPS_KEY): Promise<T> => {
    const response = await call<T>(document, variables, key);
    expect(response.errors).toBeUndefined();
    return response.data!;
  };
  const auditRows = async () => (await database.handle.db.select({ n: sql<number>`count(*)::int` }).from(auditLog))[0]!.n;
  const jobRows = async () => (await database.handle.db.select({ n: sql<number>`count(*)::int` }).from(jobExecutions))[0]!.n;
  /** The one audit row a call added (the newest), checking that it added exactly one. */
  const onlyNewEntry = async (before: number): Promise<Entry> => {
    expect(await auditRows()).toBe(before + 1);
    return (await data<AuditPage>(AUDIT, { first: 1 })).auditLog.nodes[0]!;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp(database.handle, {
      jobs: [countJob],
      env: { JOBSCOPE_OPERATE_KEYS: `ops-bot:${OPS_KEY},${UNNAMED_KEY}`, JOBSCOPE_READ_KEYS: READ_KEY },
    });
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  it('replays a failed job with a fixed payload as a new, linked job through the real pipeline; the original stays as it was', async () => {
    const before = await auditRows();
    const { enqueueJob: original } = await data<{ enqueueJob: Job }>(ENQUEUE, {
      input: { jobType: 'count', payload: { key: 'fix-me', n: -1 }, metadata: { userId: 'u-7', ticket: 'T-1' } },
    });
    const failed = await waitForJob(database.handle, original.jobId, hasStatus('failed'));
    const enqueued = await onlyNewEntry(before);
    expect(enqueued).toMatchObject({
      actor: 'api-key:ops-bot',
      action: 'enqueueJob',
      outcome: 'ok',
      jobIds: [original.jobId],
      args: { jobType: 'count', payload: { key: 'fix-me', n: -1 }, metadata: { userId: 'u-7', ticket: 'T-1' } },
    });

    const { replayJob: replay } = await data<{ replayJob: Job }>(REPLAY, { jobId: original.jobId, payload: { key: 'fix-me', n: 21 } });
    expect(replay).toMatchObject({ jobType: 'count', status: 'PENDING', payload: { key: 'fix-me', n: 21 }, replayOf: { jobId: original.jobId } });
    expect(replay.jobId).not.toBe(original.jobId);
    // The original's metadata carries over (not its enqueue time: the replay has its own).
    expect(replay.metadata).toMatchObject({ userId: 'u-7', ticket: 'T-1' });
    expect(replay.metadata.createdAt).not.toBe((failed.payload.metadata as { createdAt: string }).createdAt);

    const done = await waitForJob(database.handle, replay.jobId, hasStatus('completed'));
    expect(done.result).toEqual({ doubled: 42 });
    expect(done.userId).toBe('u-7');
    const after = await waitForJob(database.handle, original.jobId, () => true);
    expect({ status: after.status, error: after.error, payload: after.payload }).toEqual({ status: 'failed', error: failed.error, payload: failed.payload });

    const links = await data<{ jobExecution: Job }>(`query ($id: ID!) { jobExecution(jobId: $id) { ${JOB} } }`, { id: original.jobId });
    expect(links.jobExecution.replays).toEqual([{ jobId: replay.jobId, payload: { key: 'fix-me', n: 21 } }]);
    expect(links.jobExecution.replayOf).toBeNull();

    const replayed = await onlyNewEntry(before + 1);
    expect(replayed).toMatchObject({
      actor: 'api-key:ops-bot',
      action: 'replayJob',
      outcome: 'ok',
      jobIds: [original.jobId, replay.jobId],
      args: { jobId: original.jobId, payload: { key: 'fix-me', n: 21 }, metadata: null },
      detail: { replayJobId: replay.jobId },
    });
  });

  it('replays with the original payload when none is given, and validates a given one like enqueueJob (nothing written)', async () => {
    const { enqueueJob: original } = await data<{ enqueueJob: Job }>(ENQUEUE, { input: { jobType: 'count', payload: { key: 'again', n: 1 } } });
    await waitForJob(database.handle, original.jobId, hasStatus('completed'));
    const { replayJob: same } = await data<{ replayJob: Job }>(REPLAY, { jobId: original.jobId, metadata: { note: 'rerun' } });
    expect(same.payload).toEqual({ key: 'again', n: 1 });
    expect(same.metadata).toMatchObject({ note: 'rerun' });
    await waitForJob(database.handle, same.jobId, hasStatus('completed'));

    const jobsBefore = await jobRows();
    const auditBefore = await auditRows();
    const invalid = await call(REPLAY, { jobId: original.jobId, payload: { key: 'again', n: 'one' } });
    expect(errorCodes(invalid)).toEqual(['INVALID_PAYLOAD']);
    expect(await jobRows()).toBe(jobsBefore);
    const refused = await onlyNewEntry(auditBefore);
    expect(refused).toMatchObject({ action: 'replayJob', outcome: 'INVALID_PAYLOAD', jobIds: [original.jobId] });
    expect(String(refused.detail?.message)).toMatch(/Invalid job payload/);

    const missing = await call(REPLAY, { jobId: 'no-such-job' });
    expect(errorCodes(missing)).toEqual(['JOB_NOT_FOUND']);
    expect(await onlyNewEntry(auditBefore + 1)).toMatchObject({ action: 'replayJob', outcome: 'JOB_NOT_FOUND', jobIds: ['no-such-job'] });
    const badMetadata = await call(REPLAY, { jobId: original.jobId, metadata: [1, 2] });
    expect(errorCodes(badMetadata)).toEqual(['BAD_USER_INPUT']);
    expect(await jobRows()).toBe(jobsBefore);
  });

  it('leaves exactly one row per mutation with its actor and outcome, ok or not; an unnamed key is key#<hash>', async () => {
    const { enqueueJob: job } = await data<{ enqueueJob: Job }>(ENQUEUE, { input: { jobType: 'count', payload: { key: 'audit', n: -5 } } }, UNNAMED_KEY);
    await waitForJob(database.handle, job.jobId, hasStatus('failed'));
    let before = await auditRows() - 1;
    expect(await onlyNewEntry(before)).toMatchObject({ actor: unnamedLabel, action: 'enqueueJob', outcome: 'ok' });

    before = await auditRows();
    expect((await call(CANCEL, { jobId: job.jobId })).errors?.[0]?.extensions?.code).toBe('JOB_NOT_CANCELLABLE');
    expect(await onlyNewEntry(before)).toMatchObject({ actor: 'api-key:ops-bot', action: 'cancelJob', outcome: 'JOB_NOT_CANCELLABLE', jobIds: [job.jobId] });

    await data(RETRY, { jobId: job.jobId }, UNNAMED_KEY);
    expect(await onlyNewEntry(before + 1)).toMatchObject({ actor: unnamedLabel, action: 'retryJob', outcome: 'ok', jobIds: [job.jobId], args: { jobId: job.jobId } });
    await waitForJob(database.handle, job.jobId, hasStatus('failed'));

    const olderThan = new Date(Date.now() - 86_400_000).toISOString();
    await data(`mutation ($olderThan: DateTime!) { purgeJobExecutions(olderThan: $olderThan, dryRun: true) { matched } }`, { olderThan });
    expect(await onlyNewEntry(before + 2)).toMatchObject({
      action: 'purgeJobExecutions',
      outcome: 'ok',
      jobIds: [],
      args: { olderThan, dryRun: true, filter: {} },
      detail: { dryRun: true, deleted: 0 },
    });

    // The job's own trail: newest first.
    const trail = await data<{ jobExecution: { auditLog: Entry[] } }>(
      `query ($id: ID!) { jobExecution(jobId: $id) { auditLog { actor action outcome } } }`,
      { id: job.jobId },
      READ_KEY,
    );
    expect(trail.jobExecution.auditLog).toEqual([
      { actor: unnamedLabel, action: 'retryJob', outcome: 'ok' },
      { actor: 'api-key:ops-bot', action: 'cancelJob', outcome: 'JOB_NOT_CANCELLABLE' },
      { actor: unnamedLabel, action: 'enqueueJob', outcome: 'ok' },
    ]);
  });

  it('refuses every mutation to a read key (FORBIDDEN, nothing done, nothing audited) and lets it read the log', async () => {
    const [some] = await database.handle.db.select({ jobId: jobExecutions.jobId }).from(jobExecutions).limit(1);
    const before = await auditRows();
    for (const [document, variables] of [
      [REPLAY, { jobId: some!.jobId }],
      [RETRY, { jobId: some!.jobId }],
      [CANCEL, { jobId: some!.jobId }],
      [ENQUEUE, { input: { jobType: 'count', payload: { key: 'r', n: 1 } } }],
    ] as const) {
      expect(errorCodes(await call(document, variables, READ_KEY))).toEqual(['FORBIDDEN']);
    }
    expect(await auditRows()).toBe(before);
    const read = await data<AuditPage>(AUDIT, { first: 2 }, READ_KEY);
    expect(read.auditLog.nodes).toHaveLength(2);
  });

  it('filters and pages the log newest first, and the table refuses edits and deletes', async () => {
    const all = (await data<AuditPage>(AUDIT, { first: 500 })).auditLog.nodes;
    expect(all.length).toBeGreaterThanOrEqual(8);
    expect(all.map((e) => Number(e.id))).toEqual([...all.map((e) => Number(e.id))].sort((a, b) => b - a));

    const pages: Entry[] = [];
    let after: string | null = null;
    do {
      const page: AuditPage = await data<AuditPage>(AUDIT, { first: 3, after });
      pages.push(...page.auditLog.nodes);
      after = page.auditLog.pageInfo.hasNextPage ? page.auditLog.pageInfo.endCursor : null;
    } while (after);
    expect(pages.map((e) => e.id)).toEqual(all.map((e) => e.id));

    const byName = (await data<AuditPage>(AUDIT, { filter: { actor: 'ops-bot' }, first: 500 })).auditLog.nodes;
    expect(byName.length).toBe(all.filter((e) => e.actor === 'api-key:ops-bot').length);
    const byAction = (await data<AuditPage>(AUDIT, { filter: { action: 'replayJob' }, first: 500 })).auditLog.nodes;
    expect(byAction.length).toBe(all.filter((e) => e.action === 'replayJob').length);
    const someJob = all.find((e) => e.jobIds.length > 0)!.jobIds[0]!;
    const byJob = (await data<AuditPage>(AUDIT, { filter: { jobId: someJob }, first: 500 })).auditLog.nodes;
    expect(byJob.map((e) => e.id)).toEqual(all.filter((e) => e.jobIds.includes(someJob)).map((e) => e.id));
    const future = (await data<AuditPage>(AUDIT, { filter: { since: new Date(Date.now() + 60_000).toISOString() } })).auditLog.nodes;
    expect(future).toEqual([]);
    const past = (await data<AuditPage>(AUDIT, { filter: { until: all.at(-1)!.at }, first: 500 })).auditLog.nodes;
    expect(past.map((e) => e.id)).toContain(all.at(-1)!.id);

    expect(errorCodes(await call(AUDIT, { after: 'not-a-cursor' }))).toEqual(['BAD_USER_INPUT']);
    expect(errorCodes(await call(AUDIT, { first: 501 }))).toEqual(['BAD_USER_INPUT']);

    const db = database.handle.db;
    const refusal = (statement: PromiseLike<unknown>) =>
      Promise.resolve(statement).then(
        () => 'done',
        (error: Error) => String((error.cause as Error | undefined)?.message ?? error.message),
      );
    expect(await refusal(db.update(auditLog).set({ outcome: 'forged' }))).toMatch(/append-only: UPDATE refused/);
    expect(await refusal(db.delete(auditLog).where(eq(auditLog.action, 'enqueueJob')))).toMatch(/append-only: DELETE refused/);
    expect(await auditRows()).toBe(all.length);
  });
});
