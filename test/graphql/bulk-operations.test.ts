import { and, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, bulkOperationJobs, bulkOperations, jobAttempts, jobExecutions, jobPublishes, type JobStatus } from '../../src/db/schema.js';
import { APP_ACTOR } from '../../src/jobs/actor.js';
import { startBulk } from '../../src/jobs/ops/bulk.js';
import { defineJob } from '../../src/jobs/registry.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql } from '../helpers/graphql.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServerAdapter } from '@whatwg-node/server';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { createQStashStandIn, type QStashStandIn } from '../../src/qstash/standin/index.js';

const runs = new Map<string, number>();
/**
 * Succeeds, counting its runs per key: a job run twice would show. QStash's retries cover a
 * delivery that arrives while jobscope restarts.
 */
const echoJob = defineJob({
  type: 'echo',
  endpoint: '/api/jobs/echo',
  schema: z.object({ key: z.string() }),
  timeoutSeconds: 5,
  retries: 3,
  // What is measured here is the bulk operation's pace, not the queue's: at the default 10 turns a
  // starved embedded process (PGlite, load 10) delivered the 1,000 retries slower than they came.
  parallelism: 50,
  async handler({ key }) {
    runs.set(key, (runs.get(key) ?? 0) + 1);
    return { ok: true };
  },
});

const OPERATE = 'bulk-operate-key';
const READ = 'bulk-read-key';
const env = (rate: number) => ({ JOBSCOPE_OPERATE_KEYS: `ops:${OPERATE}`, JOBSCOPE_READ_KEYS: READ, JOBSCOPE_BULK_RATE_PER_SECOND: String(rate) });

const OPERATION = 'id kind dryRun status matched processed succeeded failed errors { jobId code } actor ratePerSecond idempotencyKey createdAt finishedAt filter';
const RETRY_JOBS = `mutation ($filter: JobFilter!, $dryRun: Boolean, $key: String) {
  retryJobs(filter: $filter, dryRun: $dryRun, idempotencyKey: $key) { ${OPERATION} sample { jobId status } } }`;
const CANCEL_JOBS = `mutation ($filter: JobFilter!, $dryRun: Boolean) { cancelJobs(filter: $filter, dryRun: $dryRun) { ${OPERATION} } }`;
const CANCEL_OPERATION = `mutation ($id: ID!) { cancelBulkOperation(id: $id) { ${OPERATION} } }`;
const GET = `query ($id: ID!) { bulkOperation(id: $id) { ${OPERATION} } }`;

type Operation = {
  id: string | null;
  kind: string;
  dryRun: boolean;
  status: string;
  matched: number;
  processed: number;
  succeeded: number;
  failed: number;
  errors: { jobId: string; code: string }[];
  actor: string | null;
  idempotencyKey: string | null;
  filter: Record<string, unknown>;
  sample?: { jobId: string; status: string }[];
};

describe(`retryJobs, cancelJobs and bulk operations on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;
  const data = async <T>(document: string, variables: Record<string, unknown>, key = OPERATE): Promise<T> => {
    const response = await graphql<T>(t.baseUrl, document, { variables, key });
    expect(response.errors).toBeUndefined();
    return response.data!;
  };
  const db = () => database.handle.db;
  /** `count` rows of echo jobs in `status`, as if they had run and ended so; their keys start with `prefix`. */
  const seed = async (prefix: string, count: number, status: JobStatus, error: string | null = 'ECONNRESET while sending') => {
    const now = Date.now();
    const rows = Array.from({ length: count }, (_, i) => {
      const jobId = `${prefix}-${String(i).padStart(4, '0')}`;
      return {
        jobId,
        jobType: 'echo',
        status,
        maxRetries: 0,
        error: status === 'failed' ? error : null,
        payload: { jobId, type: 'echo', payload: { key: jobId }, metadata: { createdAt: new Date(now - i * 1000).toISOString() } },
        createdAt: new Date(now - i * 1000),
        startedAt: status === 'pending' ? null : new Date(now - i * 1000 + 10),
        completedAt: status === 'failed' || status === 'cancelled' ? new Date(now - i * 1000 + 20) : null,
      };
    });
    for (let i = 0; i < rows.length; i += 500) await db().insert(jobExecutions).values(rows.slice(i, i + 500));
    return rows.map((r) => r.jobId);
  };
  const statuses = (jobIds: string[]) => statusesOf(db(), jobIds);
  const waitFor = async (id: string, done: (o: Operation) => boolean, timeoutMs = 60_000): Promise<Operation> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { bulkOperation } = await data<{ bulkOperation: Operation }>(GET, { id });
      if (done(bulkOperation)) return bulkOperation;
      if (Date.now() > deadline) throw new Error(`bulk operation did not get there: ${JSON.stringify(bulkOperation)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const waitForStatus = async (jobIds: string[], status: JobStatus, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    while ((await statuses(jobIds))[status] !== jobIds.length) {
      if (Date.now() > deadline) throw new Error(`jobs not all ${status}: ${JSON.stringify(await statuses(jobIds))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    // 50 jobs/s: the 1,000-job run takes 20 s. At 200/s its deliveries arrived as one storm, and on
    // PGlite (every delivery, publish and query on the test's own thread) a request most likely waited past
    // the server's 10 s header timeout and was cut (ECONNRESET in one CI run).
    t = await startTestApp(database.handle, { jobs: [echoJob], env: env(50) });
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  it('a dry run (the default) counts and samples what a retry would touch, and changes nothing', async () => {
    const failed = await seed('dry-failed', 30, 'failed');
    await seed('dry-other-error', 5, 'failed', 'Invalid payload');
    await seed('dry-completed', 5, 'completed');
    const before = { bulk: await db().$count(bulkOperations), publishes: await db().$count(jobPublishes), status: await statuses(failed) };
    const { retryJobs } = await data<{ retryJobs: Operation }>(RETRY_JOBS, { filter: { jobType: ['echo'], errorContains: 'econnreset' } });
    expect(retryJobs).toMatchObject({ id: null, kind: 'RETRY', dryRun: true, status: 'DRY_RUN', matched: 30, processed: 0, filter: { jobType: ['echo'], errorContains: 'econnreset' } });
    // Newest first, the first 20, every one of them a job the filter names.
    expect(retryJobs.sample!.map((j) => j.jobId)).toEqual(failed.slice(0, 20));
    expect(await db().$count(bulkOperations)).toBe(before.bulk);
    expect(await db().$count(jobPublishes)).toBe(before.publishes);
    expect(await statuses(failed)).toEqual(before.status);
    // A retry does not touch completed jobs: the filter alone would name them.
    const completedOnly = await data<{ retryJobs: Operation }>(RETRY_JOBS, { filter: { jobType: ['echo'], status: ['COMPLETED'] } });
    expect(completedOnly.retryJobs.matched).toBe(0);
  });

  it('retries 1,000 failed jobs through the real pipeline, each once, with processed = matched, progress to the end and one audit row', async () => {
    const jobIds = await seed('bulk-retry', 1_000, 'failed', 'ECONNRESET bulk');
    // Progress over SSE from the start.
    const controller = new AbortController();
    const started = await data<{ retryJobs: Operation }>(RETRY_JOBS, { filter: { errorContains: 'ECONNRESET bulk' }, dryRun: false });
    const operation = started.retryJobs;
    expect(operation).toMatchObject({ kind: 'RETRY', dryRun: false, status: 'RUNNING', matched: 1_000, actor: 'api-key:ops' });
    const stream = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${READ}` },
      body: JSON.stringify({ query: `subscription ($id: ID!) { bulkOperationProgress(id: $id) { status processed matched } }`, variables: { id: operation.id } }),
      signal: controller.signal,
    });
    expect(stream.status).toBe(200);
    // A job that matches from now on is not swept in.
    const late = await seed('bulk-late', 3, 'failed', 'ECONNRESET bulk');

    const progress: { status: string; processed: number; matched: number }[] = [];
    let buffer = '';
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const line = message.split('\n').find((l) => l.startsWith('data: '));
        if (message.startsWith('event: next') && line) progress.push(JSON.parse(line.slice(6)).data.bulkOperationProgress);
      }
    }
    controller.abort();
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.at(-1)).toEqual({ status: 'COMPLETED', processed: 1_000, matched: 1_000 });
    const processed = progress.map((p) => p.processed);
    expect(processed).toEqual([...processed].sort((a, b) => a - b));

    const done = await waitFor(operation.id!, (o) => o.status === 'COMPLETED');
    expect(done).toMatchObject({ matched: 1_000, processed: 1_000, succeeded: 1_000, failed: 0, errors: [] });
    await waitForStatus(jobIds, 'completed');
    expect(jobIds.map((id) => runs.get(id))).toEqual(jobIds.map(() => 1));
    const attempts = await db().select({ n: sql<number>`count(*)::int` }).from(jobAttempts).where(inArray(jobAttempts.jobId, jobIds));
    expect(attempts[0]!.n).toBe(1_000);
    expect(await statuses(late)).toEqual({ failed: 3 });

    const audits = await db().select().from(auditLog).where(eq(auditLog.bulkOperationId, operation.id!));
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ actor: 'api-key:ops', action: 'retryJobs', outcome: 'ok', args: { filter: { errorContains: 'ECONNRESET bulk' }, dryRun: false } });
    // The job's own trail shows the operation that retried it.
    const trail = await data<{ jobExecution: { auditLog: { action: string }[] } }>(`query ($id: ID!) { jobExecution(jobId: $id) { auditLog { action } } }`, { id: jobIds[7] }, READ);
    expect(trail.jobExecution.auditLog).toEqual([{ action: 'retryJobs' }]);
  }, 120_000);

  it('the same idempotency key gives the same operation; a read key may not start or stop one', async () => {
    const jobIds = await seed('idem', 4, 'failed', 'idempotent failure');
    const variables = { filter: { errorContains: 'idempotent failure' }, dryRun: false, key: 'incident-42' };
    const first = (await data<{ retryJobs: Operation }>(RETRY_JOBS, variables)).retryJobs;
    const second = (await data<{ retryJobs: Operation }>(RETRY_JOBS, variables)).retryJobs;
    expect(second.id).toBe(first.id);
    expect(second.idempotencyKey).toBe('incident-42');
    expect(await db().$count(bulkOperations, eq(bulkOperations.idempotencyKey, 'incident-42'))).toBe(1);
    await waitFor(first.id!, (o) => o.status === 'COMPLETED');
    await waitForStatus(jobIds, 'completed');
    expect(jobIds.map((id) => runs.get(id))).toEqual([1, 1, 1, 1]);

    const auditsBefore = await db().$count(auditLog);
    for (const [document, variables] of [
      [RETRY_JOBS, { filter: {}, dryRun: true }],
      [CANCEL_JOBS, { filter: {} }],
      [CANCEL_OPERATION, { id: first.id }],
    ] as const) {
      expect(errorCodes(await graphql(t.baseUrl, document, { variables, key: READ }))).toEqual(['FORBIDDEN']);
    }
    expect(await db().$count(auditLog)).toBe(auditsBefore);
    expect(errorCodes(await graphql(t.baseUrl, CANCEL_OPERATION, { variables: { id: 'bulk_nope' }, key: OPERATE }))).toEqual(['BULK_OPERATION_NOT_FOUND']);
  });

  it('cancelJobs cancels pending jobs', async () => {
    const jobIds = await seed('cancel-me', 6, 'pending', null);
    const { cancelJobs: plan } = await data<{ cancelJobs: Operation }>(CANCEL_JOBS, { filter: { jobType: ['echo'], createdAfter: new Date(Date.now() - 60_000).toISOString(), status: ['PENDING'] } });
    expect(plan.matched).toBeGreaterThanOrEqual(6);
    const { cancelJobs } = await data<{ cancelJobs: Operation }>(CANCEL_JOBS, { filter: { jobType: ['echo'], status: ['PENDING'], createdAfter: new Date(Date.now() - 60_000).toISOString() }, dryRun: false });
    const done = await waitFor(cancelJobs.id!, (o) => o.status === 'COMPLETED');
    expect(done.processed).toBe(done.matched);
    expect((await statuses(jobIds)).cancelled).toBe(6);
  });

  it('counts a job that moved on before the operation reached it as failed, with its code', async () => {
    const jobIds = await seed('moved-on', 3, 'pending', null);
    const { operation } = await startBulk(db(), {
      kind: 'cancel',
      filter: { jobType: ['echo'], status: ['pending'], createdAfter: new Date(Date.now() - 60_000) },
      filterAsGiven: {},
      actor: APP_ACTOR,
      ratePerSecond: 2,
      maxJobs: 1_000,
      stuckAfterMinutes: 10,
    });
    // The oldest, reached last, completes meanwhile.
    const last = jobIds.at(-1)!;
    await db().update(jobExecutions).set({ status: 'completed', completedAt: new Date() }).where(eq(jobExecutions.jobId, last));
    const done = await waitFor(operation.id, (o) => o.status === 'COMPLETED');
    expect(done).toMatchObject({ matched: 3, processed: 3, succeeded: 2, failed: 1, errors: [{ jobId: last, code: 'JOB_NOT_CANCELLABLE' }] });
    expect(await statuses(jobIds)).toEqual({ cancelled: 2, completed: 1 });
  });

  it('retries many jobs to a transaction: one that moved on rolls back alone and counts as failed, the rest of its batch retried', async () => {
    const jobIds = await seed('batch-retry', 30, 'failed', 'batched failure');
    const { operation } = await startBulk(db(), {
      kind: 'retry',
      filter: { errorContains: 'batched failure' },
      filterAsGiven: {},
      actor: APP_ACTOR,
      // 10 jobs to a transaction.
      ratePerSecond: 100,
      maxJobs: 1_000,
      stuckAfterMinutes: 10,
    });
    // Two in the middle of one batch complete before the operation reaches them.
    const movedOn = [jobIds[13]!, jobIds[16]!];
    await db().update(jobExecutions).set({ status: 'completed', error: null, completedAt: new Date() }).where(inArray(jobExecutions.jobId, movedOn));
    const done = await waitFor(operation.id, (o) => o.status === 'COMPLETED');
    expect(done).toMatchObject({ matched: 30, processed: 30, succeeded: 28, failed: 2 });
    expect(done.errors.map((e) => e.jobId).sort()).toEqual([...movedOn].sort());
    expect(new Set(done.errors.map((e) => e.code))).toEqual(new Set(['JOB_NOT_RETRYABLE']));
    // Each of the 28 was queued for publishing once; the two were left as they were.
    const published = await db().select({ jobId: jobPublishes.jobId }).from(jobPublishes).where(inArray(jobPublishes.jobId, jobIds));
    expect(published.map((p) => p.jobId).sort()).toEqual(jobIds.filter((id) => !movedOn.includes(id)).sort());
    await expect.poll(async () => (await statuses(jobIds)).completed, { timeout: 30_000 }).toBe(30);
    const items = await db().select({ state: bulkOperationJobs.state, error: bulkOperationJobs.error }).from(bulkOperationJobs).where(eq(bulkOperationJobs.operationId, operation.id!));
    expect(items.filter((i) => i.state === 'failed').map((i) => i.error)).toEqual(['JOB_NOT_RETRYABLE', 'JOB_NOT_RETRYABLE']);
    expect(items.filter((i) => i.state === 'succeeded')).toHaveLength(28);
  });

  it('refuses a set larger than the cap with BULK_TOO_LARGE and starts nothing', async () => {
    await seed('cap', 8, 'failed', 'capped failure');
    const before = await db().$count(bulkOperations);
    await expect(
      startBulk(db(), {
        kind: 'retry',
        filter: { errorContains: 'capped failure' },
        filterAsGiven: {},
        actor: APP_ACTOR,
        ratePerSecond: 10,
        maxJobs: 5,
        stuckAfterMinutes: 10,
      }),
    ).rejects.toMatchObject({ code: 'BULK_TOO_LARGE', matched: 8, maxJobs: 5 });
    expect(await db().$count(bulkOperations)).toBe(before);
  });
});

describe(`a bulk operation across a restart and a cancel on ${databaseKind}`, () => {
  let database: TestDatabase;
  let standIn: QStashStandIn;
  let qstash: Server;
  let qstashUrl: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    // QStash outlives jobscope, as the real one does: messages published before the stop are
    // delivered after the restart (to the same address).
    // Retries after 0.12 s, 1.5 s and 18 s: a delivery refused during the restart gets another.
    standIn = createQStashStandIn({ token: DEV_QSTASH_TOKEN, currentSigningKey: DEV_CURRENT_SIGNING_KEY, nextSigningKey: DEV_NEXT_SIGNING_KEY, retryDelayFactor: 0.01 });
    qstash = createServer(createServerAdapter((request: Request) => standIn.fetch(request)));
    await new Promise<void>((resolve) => qstash.listen(0, '127.0.0.1', resolve));
    qstashUrl = `http://127.0.0.1:${(qstash.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await standIn?.close();
    qstash?.closeAllConnections();
    await new Promise((resolve) => qstash?.close(resolve));
    await database?.destroy();
  });
  const startApp = (rate: number, port?: number) =>
    startTestApp(database.handle, {
      jobs: [echoJob],
      port,
      env: {
        ...env(rate),
        QSTASH_URL: qstashUrl,
        QSTASH_TOKEN: DEV_QSTASH_TOKEN,
        QSTASH_CURRENT_SIGNING_KEY: DEV_CURRENT_SIGNING_KEY,
        QSTASH_NEXT_SIGNING_KEY: DEV_NEXT_SIGNING_KEY,
      },
    });

  it('resumes after jobscope stops mid-run without acting on any job twice; cancel stops it for good', async () => {
    const db = database.handle.db;
    let t = await startApp(25);
    const port = Number(new URL(t.baseUrl).port);
    const ids = Array.from({ length: 60 }, (_, i) => `restart-${String(i).padStart(3, '0')}`);
    const failedRow = (jobId: string, i: number, error: string) => ({
      jobId,
      jobType: 'echo',
      status: 'failed' as const,
      maxRetries: 0,
      error,
      payload: { jobId, type: 'echo', payload: { key: jobId }, metadata: {} },
      createdAt: new Date(Date.now() - i * 1000),
      completedAt: new Date(),
    });
    await db.insert(jobExecutions).values(ids.map((jobId, i) => failedRow(jobId, i, 'restart failure')));
    const start = await graphql<{ retryJobs: Operation }>(t.baseUrl, RETRY_JOBS, { variables: { filter: { errorContains: 'restart failure' }, dryRun: false }, key: OPERATE });
    const id = start.data!.retryJobs.id!;
    const progressOf = async (operationId = id) => (await db.select().from(bulkOperations).where(eq(bulkOperations.id, operationId)))[0]!;
    await expect.poll(async () => (await progressOf()).processed, { timeout: 20_000 }).toBeGreaterThanOrEqual(10);
    await t.close();
    const atStop = await progressOf();
    expect(atStop.status).toBe('running');
    expect(atStop.processed).toBeLessThan(60);

    // The next start, at the same address, resumes it at once (a clean stop released the lease).
    t = await startApp(500, port);
    try {
      await expect.poll(async () => (await progressOf()).status, { timeout: 30_000 }).toBe('completed');
      expect(await progressOf()).toMatchObject({ matched: 60, processed: 60, succeeded: 60, failed: 0 });
      await expect
        .poll(async () => (await db.select().from(jobExecutions).where(and(inArray(jobExecutions.jobId, ids), eq(jobExecutions.status, 'completed')))).length, { timeout: 30_000 })
        .toBe(60);
      // Each job was retried once: one publish generation, one run.
      const publishes = await db.select({ generation: jobPublishes.generation }).from(jobPublishes).where(inArray(jobPublishes.jobId, ids));
      expect(publishes.map((p) => p.generation)).toEqual(ids.map(() => 1));
      expect(ids.map((jobId) => runs.get(jobId))).toEqual(ids.map(() => 1));

      // Cancel: a slow operation stops where it is, for good.
      const slow = Array.from({ length: 40 }, (_, i) => `slow-${String(i).padStart(2, '0')}`);
      await db.insert(jobExecutions).values(slow.map((jobId, i) => failedRow(jobId, i, 'slow failure')));
      const { operation } = await startBulk(db, {
        kind: 'retry',
        filter: { errorContains: 'slow failure' },
        filterAsGiven: { errorContains: 'slow failure' },
        actor: APP_ACTOR,
        ratePerSecond: 4,
        maxJobs: 1_000,
        stuckAfterMinutes: 10,
      });
      await expect.poll(async () => (await progressOf(operation.id)).processed, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
      const cancelled = await graphql<{ cancelBulkOperation: Operation }>(t.baseUrl, CANCEL_OPERATION, { variables: { id: operation.id }, key: OPERATE });
      expect(cancelled.data!.cancelBulkOperation.status).toBe('CANCELLED');
      const at = cancelled.data!.cancelBulkOperation.processed;
      await new Promise((r) => setTimeout(r, 1_500));
      const after = await progressOf(operation.id);
      expect(after.status).toBe('cancelled');
      // The job in hand when the cancel committed rolled back with its count: nothing after it.
      expect(after.processed).toBe(at);
      expect(after.processed).toBeLessThan(40);
      expect((await statusesOf(db, slow)).failed).toBe(40 - after.processed);
    } finally {
      await t.close();
    }
  }, 90_000);
});

async function statusesOf(db: TestDatabase['handle']['db'], jobIds: string[]) {
  const rows = await db.select({ status: jobExecutions.status, n: sql<number>`count(*)::int` }).from(jobExecutions).where(inArray(jobExecutions.jobId, jobIds)).groupBy(jobExecutions.status);
  return Object.fromEntries(rows.map((r) => [r.status, r.n])) as Partial<Record<JobStatus, number>>;
}
