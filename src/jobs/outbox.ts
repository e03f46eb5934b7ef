/**
 * The outbox's SQL: one named function per step of a publish request's life (queue, claim,
 * publish recorded, retry scheduled, given up). The relay (relay.ts) strings them together.
 *
 * Lock order: a transaction that changes both a job's publish request and its job row locks the
 * request first (`job_publishes`, then `job_executions`), as the relay's steps do; one that locks
 * them the other way round can deadlock with the relay (a cancel racing a publish did).
 */
import { and, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { jobExecutions, jobPublishes, type JobExecution, type JobPublish } from '../db/schema.js';
import { markPublishFailed } from './lifecycle.js';

/** What can write a publish request: jobscope's database, or a drizzle transaction on it. */
export type OutboxWriter = Pick<Database, 'insert'>;

/** The QStash deduplication id of a publish request: the job id, then `<job id>:<generation>` for manual retries. */
export function deduplicationId(request: Pick<JobPublish, 'jobId' | 'generation'>): string {
  return request.generation === 0 ? request.jobId : `${request.jobId}:${request.generation}`;
}

/**
 * Queues the first publish of a job, in the caller's transaction. `delaySeconds` counts from the
 * commit (as near as the database's `now()` of the statement), not from the relay's publish.
 */
export async function queuePublish(
  db: OutboxWriter,
  jobId: string,
  { delaySeconds, deadlineSeconds }: { delaySeconds?: number | undefined; deadlineSeconds: number },
): Promise<void> {
  await db.insert(jobPublishes).values({
    jobId,
    notBefore: delaySeconds ? sql`now() + make_interval(secs => ${delaySeconds})` : null,
    deadlineAt: sql`now() + make_interval(secs => ${deadlineSeconds})`,
  });
}

/**
 * Queues a job again for a manual retry: the next generation (a new deduplication id), attempts
 * and error cleared. Rows of jobs enqueued before the outbox existed get their first request.
 */
export async function requeuePublish(db: OutboxWriter, jobId: string, { deadlineSeconds }: { deadlineSeconds: number }): Promise<void> {
  const deadlineAt = sql`now() + make_interval(secs => ${deadlineSeconds})`;
  await db
    .insert(jobPublishes)
    .values({ jobId, deadlineAt, generation: 1 })
    .onConflictDoUpdate({
      target: jobPublishes.jobId,
      set: {
        state: 'queued',
        generation: sql`${jobPublishes.generation} + 1`,
        attempts: 0,
        lastError: null,
        nextAttemptAt: sql`now()`,
        notBefore: null,
        deadlineAt,
        createdAt: sql`now()`,
        publishedAt: null,
      },
    });
}

/** A claimed publish request with the job it publishes. */
export interface ClaimedPublish {
  request: JobPublish;
  job: Pick<JobExecution, 'jobId' | 'jobType' | 'status' | 'payload'>;
}

/**
 * Claims up to `limit` due requests for `leaseMs`: one UPDATE whose subquery locks them with
 * `FOR UPDATE SKIP LOCKED`, so relays on other instances take other rows, and pushes their next
 * attempt past the lease, so no one else takes them while this relay publishes. A relay that dies
 * holding a claim loses it when the lease runs out; the next publish carries the same
 * deduplication id, so QStash does not deliver it twice. Counts the attempt. The claimed rows
 * carry `token`, so that a claim whose outcome the caller never heard can be given back
 * ({@link releaseClaimsOf}).
 */
export async function claimPublishes(
  db: Database,
  {
    limit,
    leaseMs,
    token,
    jobTypes,
  }: { limit: number; leaseMs: number; token: string; /** Only jobs of these types: the ones this instance can publish. */ jobTypes: readonly string[] },
): Promise<ClaimedPublish[]> {
  if (jobTypes.length === 0) return [];
  // One transaction: a claim whose jobs could not be read (the connection lost in between) is
  // undone, instead of holding the requests for the whole lease.
  return db.transaction(async (tx) => {
    // An instance that does not know a type (a rolling deploy that adds one, instances with
    // different job sets on one database) leaves its jobs to the instances that do.
    const due = tx
      .select({ jobId: jobPublishes.jobId })
      .from(jobPublishes)
      .innerJoin(jobExecutions, eq(jobExecutions.jobId, jobPublishes.jobId))
      .where(and(eq(jobPublishes.state, 'queued'), lte(jobPublishes.nextAttemptAt, sql`now()`), inArray(jobExecutions.jobType, [...jobTypes])))
      .orderBy(jobPublishes.nextAttemptAt)
      .limit(limit)
      .for('update', { of: jobPublishes, skipLocked: true });
    const requests = await tx
      .update(jobPublishes)
      .set({
        attempts: sql`${jobPublishes.attempts} + 1`,
        nextAttemptAt: sql`now() + make_interval(secs => ${leaseMs / 1000})`,
        claimToken: token,
      })
      .where(inArray(jobPublishes.jobId, due))
      .returning();
    if (requests.length === 0) return [];
    const jobs = await tx
      .select({ jobId: jobExecutions.jobId, jobType: jobExecutions.jobType, status: jobExecutions.status, payload: jobExecutions.payload })
      .from(jobExecutions)
      .where(inArray(jobExecutions.jobId, requests.map((r) => r.jobId)));
    const byId = new Map(jobs.map((job) => [job.jobId, job]));
    // The foreign key cascades: a request's job exists while the request does.
    return requests.flatMap((request) => {
      const job = byId.get(request.jobId);
      return job ? [{ request, job }] : [];
    });
  });
}

/**
 * QStash accepted the request: records it (for the claimed generation only: a manual retry queued
 * meanwhile stays queued) and gives the job its message id. Only the id: by now the delivery may
 * already have moved the job row on.
 */
export async function markPublished(db: Database, request: Pick<JobPublish, 'jobId' | 'generation'>, messageId: string): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(jobPublishes)
      .set({ state: 'published', publishedAt: sql`now()`, nextAttemptAt: sql`now()` })
      .where(and(eq(jobPublishes.jobId, request.jobId), eq(jobPublishes.generation, request.generation)))
      .returning({ jobId: jobPublishes.jobId });
    if (row) await tx.update(jobExecutions).set({ messageId }).where(eq(jobExecutions.jobId, request.jobId));
  });
}

/**
 * Gives a claimed request back, due now, for the relay to take again: its outcome could not be
 * recorded (the database went away), so it is not left waiting out the lease.
 */
export async function releaseClaim(db: Database, request: Pick<JobPublish, 'jobId' | 'generation'>): Promise<void> {
  await db
    .update(jobPublishes)
    .set({ nextAttemptAt: sql`now()` })
    .where(and(eq(jobPublishes.jobId, request.jobId), eq(jobPublishes.generation, request.generation), eq(jobPublishes.state, 'queued')));
}

/**
 * Gives back, due now, every request still queued under the claim `token`: the claim may have
 * committed although its caller heard only an error (the connection lost with the COMMIT's
 * answer), and its requests would otherwise wait out the lease. Harmless if it never committed.
 * Resolves to how many were given back.
 */
export async function releaseClaimsOf(db: Database, token: string): Promise<number> {
  const rows = await db
    .update(jobPublishes)
    .set({ nextAttemptAt: sql`now()` })
    .where(and(eq(jobPublishes.claimToken, token), eq(jobPublishes.state, 'queued')))
    .returning({ jobId: jobPublishes.jobId });
  return rows.length;
}

/** A transient failure: tries again at `retryAt`, with the error kept for the record. */
export async function schedulePublishRetry(
  db: Database,
  request: Pick<JobPublish, 'jobId' | 'generation'>,
  { retryAt, error }: { retryAt: Date; error: string },
): Promise<void> {
  await db
    .update(jobPublishes)
    .set({ nextAttemptAt: retryAt, lastError: error })
    .where(and(eq(jobPublishes.jobId, request.jobId), eq(jobPublishes.generation, request.generation), eq(jobPublishes.state, 'queued')));
}

/**
 * Gives up on a request (a permanent refusal, the deadline passed, the job cancelled): the request
 * is `failed`, and so is its job while it still waits for this publish (`pending`), with `error`.
 * Resolves to whether the job was failed.
 */
export async function failPublish(
  db: Database,
  request: Pick<JobPublish, 'jobId' | 'generation'>,
  { error, failJob = true }: { error: string; failJob?: boolean },
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(jobPublishes)
      .set({ state: 'failed', lastError: error })
      .where(and(eq(jobPublishes.jobId, request.jobId), eq(jobPublishes.generation, request.generation), eq(jobPublishes.state, 'queued')))
      .returning({ jobId: jobPublishes.jobId });
    if (!row || !failJob) return false;
    return markPublishFailed(tx, request.jobId, error);
  });
}

/** Locks the job's publish request (if it has one) for the transaction: the lock order's first step. */
export async function lockPublish(tx: Pick<Database, 'select'>, jobId: string): Promise<void> {
  await tx.select({ jobId: jobPublishes.jobId }).from(jobPublishes).where(eq(jobPublishes.jobId, jobId)).for('update');
}

/** A cancelled job's request that was never published: nothing left to publish. */
export async function abandonPublish(db: Pick<Database, 'update'>, jobId: string, reason: string): Promise<void> {
  await db
    .update(jobPublishes)
    .set({ state: 'failed', lastError: reason })
    .where(and(eq(jobPublishes.jobId, jobId), eq(jobPublishes.state, 'queued')));
}
