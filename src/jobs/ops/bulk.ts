/**
 * Bulk retry and cancel (`retryJobs`, `cancelJobs`): a dry run counts and samples; a real run
 * fixes its set of jobs when it starts and is worked through at a configured pace by one instance
 * at a time, under a lease on its row, so a restart or another instance resumes it where it was.
 * Each job is acted on by the single-job verb (retryJob / cancelJob), with the job marked done in
 * the same transaction as its reset: a crash can neither skip a job nor act on it twice.
 */
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import {
  bulkOperationJobs,
  bulkOperations,
  jobExecutions,
  type BulkKind,
  type BulkOperation,
  type JobExecution,
} from '../../db/schema.js';
import type { Logger } from '../../logger.js';
import { actorLabel, type Actor } from '../actor.js';
import { cancelJob } from '../cancel.js';
import type { JobDispatcher } from '../dispatcher.js';
import { BulkOperationNotFoundError, BulkTooLargeError, errorCode, errorMessage, InvalidArgumentError, pageSize } from '../errors.js';
import { mayTransition, type JobWriter } from '../lifecycle.js';
import { jobFilterCondition, type JobFilter } from '../read/filter.js';
import { retryJob } from '../retry.js';

export type { BulkKind, BulkOperation } from '../../db/schema.js';

/** How many of a dry run's matching jobs it shows. */
export const BULK_SAMPLE_SIZE = 20;
/** How many failures an operation keeps with their messages (all are counted). */
export const BULK_ERRORS_KEPT = 20;
/** At most this many jobs are acted on in one transaction (a tenth of a second's worth at the configured rate). */
const COMMIT_MAX_JOBS = 100;
/** How long a runner's claim on an operation lasts without renewal; it renews after every batch. */
const LEASE_MS = 30_000;

export interface BulkDeps {
  db: Database;
  dispatcher: JobDispatcher;
  logger: Logger;
  stuckAfterMinutes: number;
}

/** The jobs `kind` would act on now: the filter and the transition's rule (a retry takes failed, cancelled and stuck jobs). */
function eligible(kind: BulkKind, filter: JobFilter, stuckAfterMinutes: number, t = jobExecutions) {
  return and(mayTransition(kind, stuckAfterMinutes, t), jobFilterCondition(filter, t));
}

/** A dry run: how many jobs a real run would act on now, and the first BULK_SAMPLE_SIZE of them (newest first). */
export async function planBulk(
  db: Database,
  kind: BulkKind,
  filter: JobFilter,
  stuckAfterMinutes: number,
): Promise<{ matched: number; sample: JobExecution[] }> {
  const [counted] = await db.select({ n: sql<number>`count(*)::int` }).from(jobExecutions).where(eligible(kind, filter, stuckAfterMinutes));
  const sample = await db.query.jobExecutions.findMany({
    // Built against the relational query's alias of the table.
    where: { RAW: (t) => eligible(kind, filter, stuckAfterMinutes, t)! },
    orderBy: (t) => [desc(t.createdAt), desc(t.jobId)],
    limit: BULK_SAMPLE_SIZE,
  });
  return { matched: counted?.n ?? 0, sample: sample as JobExecution[] };
}

export interface StartBulk {
  kind: BulkKind;
  filter: JobFilter;
  /** The filter as the caller gave it, kept with the operation. */
  filterAsGiven: Record<string, unknown>;
  actor: Actor;
  idempotencyKey?: string | undefined;
  ratePerSecond: number;
  maxJobs: number;
  stuckAfterMinutes: number;
}

/**
 * Starts a bulk operation: fixes its set (the jobs eligible now, newest first) in the same
 * transaction as the operation's row, so jobs that match later are not swept in. The same
 * idempotency key returns the operation it started, whatever else was asked.
 *
 * @throws BulkTooLargeError when more than `maxJobs` jobs match; nothing is started.
 */
export async function startBulk(db: Database, input: StartBulk): Promise<{ operation: BulkOperation; started: boolean }> {
  if (input.idempotencyKey !== undefined) {
    if (input.idempotencyKey.length === 0 || input.idempotencyKey.length > 200) {
      throw new InvalidArgumentError('idempotencyKey', '"idempotencyKey" must be 1 to 200 characters');
    }
    const existing = await findByIdempotencyKey(db, input.idempotencyKey);
    if (existing) return { operation: existing, started: false };
  }
  const where = eligible(input.kind, input.filter, input.stuckAfterMinutes);
  const id = `bulk_${randomUUID()}`;
  const started = await db.transaction(async (tx) => {
    const inserted = await tx
      .insert(bulkOperations)
      .values({
        id,
        kind: input.kind,
        filter: input.filterAsGiven,
        matched: 0,
        actor: actorLabel(input.actor),
        idempotencyKey: input.idempotencyKey ?? null,
        ratePerSecond: input.ratePerSecond,
      })
      .onConflictDoNothing({ target: bulkOperations.idempotencyKey })
      .returning({ id: bulkOperations.id });
    // Another request with the same key won the race: its operation is the answer.
    if (inserted.length === 0) return false;
    const fixed = await tx.execute<{ n: number }>(sql`
      WITH chosen AS (
        INSERT INTO ${bulkOperationJobs} (operation_id, job_id, position)
        SELECT ${id}, job_id, (row_number() OVER (ORDER BY created_at DESC, job_id DESC))::int
        FROM ${jobExecutions} WHERE ${where}
        LIMIT ${input.maxJobs + 1}
        RETURNING 1
      )
      SELECT count(*)::int AS n FROM chosen`,
      'objects',
    );
    const matched = Number(fixed[0]?.n ?? 0);
    if (matched > input.maxJobs) {
      const [counted] = await tx.select({ n: sql<number>`count(*)::int` }).from(jobExecutions).where(where);
      throw new BulkTooLargeError(counted?.n ?? matched, input.maxJobs);
    }
    const finished = matched === 0;
    await tx
      .update(bulkOperations)
      .set({ matched, ...(finished ? { status: 'completed' as const, finishedAt: new Date() } : {}) })
      .where(eq(bulkOperations.id, id));
    return true;
  });
  const operation = started ? await getBulk(db, id) : await findByIdempotencyKey(db, input.idempotencyKey!);
  return { operation: operation!, started };
}

async function findByIdempotencyKey(db: Database, key: string): Promise<BulkOperation | undefined> {
  const [row] = await db.select().from(bulkOperations).where(eq(bulkOperations.idempotencyKey, key));
  return row;
}

export async function getBulk(db: Database, id: string): Promise<BulkOperation | undefined> {
  const [row] = await db.select().from(bulkOperations).where(eq(bulkOperations.id, id));
  return row;
}

/** Bulk operations, newest first, a page at a time (`after`: the last id of the previous page). */
export async function listBulk(db: Database, input: { first?: number | undefined; after?: string | undefined } = {}) {
  const first = pageSize(input.first, { fallback: 20, max: 100 });
  let before: BulkOperation | undefined;
  if (input.after !== undefined) {
    before = await getBulk(db, input.after);
    if (!before) throw new InvalidArgumentError('after', '"after" is not a bulk operation cursor');
  }
  const rows = await db
    .select()
    .from(bulkOperations)
    .where(before ? sql`(${bulkOperations.createdAt}, ${bulkOperations.id}) < (${before.createdAt.toISOString()}::timestamptz, ${before.id})` : undefined)
    .orderBy(desc(bulkOperations.createdAt), desc(bulkOperations.id))
    .limit(first + 1);
  return { operations: rows.slice(0, first), hasNextPage: rows.length > first };
}

/**
 * Stops a running operation: the jobs it has not reached are left alone (those it acted on stay
 * acted on). A finished one is returned as it is.
 *
 * @throws BulkOperationNotFoundError
 */
export async function cancelBulk(db: Database, id: string): Promise<BulkOperation> {
  const [cancelled] = await db
    .update(bulkOperations)
    .set({ status: 'cancelled', finishedAt: new Date() })
    .where(and(eq(bulkOperations.id, id), eq(bulkOperations.status, 'running')))
    .returning();
  if (cancelled) return cancelled;
  const existing = await getBulk(db, id);
  if (!existing) throw new BulkOperationNotFoundError(id);
  return existing;
}

/**
 * Claims one running operation that no live runner holds (the oldest first) for `owner`, or
 * renews `owner`'s own claim. Several instances may ask at once: SKIP LOCKED gives each a
 * different one, and an expired lease (its runner died) is taken over.
 */
async function claim(db: Database, owner: string): Promise<BulkOperation | undefined> {
  const result = await db.execute<{ id: string }>(sql`
    UPDATE ${bulkOperations} SET lease_owner = ${owner}, lease_until = now() + make_interval(secs => ${LEASE_MS / 1000})
    WHERE id = (
      SELECT id FROM ${bulkOperations}
      WHERE status = 'running' AND (lease_until IS NULL OR lease_until < now() OR lease_owner = ${owner})
      ORDER BY created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
    )
    RETURNING id`,
    'objects',
  );
  const [row] = result;
  return row ? getBulk(db, row.id) : undefined;
}

/** Extends `owner`'s lease while the operation is still running; false once it is cancelled (or the lease was taken over). */
async function renew(db: Database, id: string, owner: string): Promise<boolean> {
  const renewed = await db
    .update(bulkOperations)
    .set({ leaseUntil: sql`now() + make_interval(secs => ${LEASE_MS / 1000})` })
    .where(and(eq(bulkOperations.id, id), eq(bulkOperations.status, 'running'), eq(bulkOperations.leaseOwner, owner)))
    .returning({ id: bulkOperations.id });
  return renewed.length > 0;
}

/** What one pass of the runner did. */
export interface BulkPass {
  operationId?: string;
  processed: number;
}

/**
 * Works on one claimed operation until it is done, cancelled, or `shouldStop()` says the
 * instance is stopping; jobs are acted on no faster than the operation's rate.
 */
export async function runBulkPass(deps: BulkDeps, owner: string, shouldStop: () => boolean): Promise<BulkPass> {
  const operation = await claim(deps.db, owner);
  if (!operation) return { processed: 0 };
  const log = deps.logger.child({ actor: operation.actor, bulkOperationId: operation.id });
  const intervalMs = 1000 / operation.ratePerSecond;
  const batchSize = Math.max(1, Math.min(500, Math.ceil(operation.ratePerSecond * 2)));
  // A tenth of a second's worth of jobs per transaction: one commit each, which waits for the WAL
  // flush, held the rate to ~25 jobs/s here whatever was configured (bench/bulk.ts).
  const perCommit = operation.kind === 'retry' ? Math.max(1, Math.min(COMMIT_MAX_JOBS, Math.round(operation.ratePerSecond / 10))) : 1;
  let processed = 0;
  let nextAt = performance.now();
  let stopped = false;
  log.info('[jobs] Bulk operation working', { kind: operation.kind, matched: operation.matched, done: operation.processed });
  while (!shouldStop()) {
    const batch = await deps.db
      .select({ jobId: bulkOperationJobs.jobId, position: bulkOperationJobs.position })
      .from(bulkOperationJobs)
      .where(and(eq(bulkOperationJobs.operationId, operation.id), eq(bulkOperationJobs.state, 'pending')))
      .orderBy(asc(bulkOperationJobs.position))
      .limit(batchSize);
    if (batch.length === 0) {
      await finish(deps.db, operation.id, 'completed');
      const done = await getBulk(deps.db, operation.id);
      log.info('[jobs] Bulk operation completed', { kind: operation.kind, matched: done?.matched, succeeded: done?.succeeded, failed: done?.failed });
      break;
    }
    for (let start = 0; start < batch.length; start += perCommit) {
      if (shouldStop()) break;
      const wait = nextAt - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const items = batch.slice(start, start + perCommit);
      nextAt = Math.max(nextAt + intervalMs * items.length, performance.now());
      if (!(await actOn(deps, operation, items, log))) {
        stopped = true;
        break;
      }
      processed += items.length;
    }
    if (stopped) {
      log.info('[jobs] Bulk operation stopped', { reason: 'cancelled', processed });
      break;
    }
    // Renew the lease and notice a cancel between batches.
    if (!(await renew(deps.db, operation.id, owner))) {
      const now = await getBulk(deps.db, operation.id);
      log.info('[jobs] Bulk operation stopped', { reason: now?.status === 'cancelled' ? 'cancelled' : 'lease lost', processed: now?.processed });
      break;
    }
  }
  if (shouldStop()) {
    // A clean stop hands the operation on at once (a crash leaves the lease to expire).
    await deps.db
      .update(bulkOperations)
      .set({ leaseOwner: null, leaseUntil: null })
      .where(and(eq(bulkOperations.id, operation.id), eq(bulkOperations.leaseOwner, owner)));
    log.info('[jobs] Bulk operation paused: this instance is stopping; another instance or the next start resumes it', { processed });
  }
  return { operationId: operation.id, processed };
}

/**
 * Acts on jobs of the set; false when the operation stopped meanwhile (then nothing of theirs
 * changed). Each job is changed by the single-job verb and counted done in the same transaction.
 * Retries go many to a transaction, each verb in a savepoint of its own, so a job that cannot be
 * retried rolls back alone and counts as failed with its code. A cancel goes one to a transaction,
 * marked inside the verb's own: the verb then drops the job's QStash message, which must not
 * happen for a change a later rollback would undo.
 */
async function actOn(deps: BulkDeps, operation: BulkOperation, items: { jobId: string; position: number }[], log: Logger): Promise<boolean> {
  const failure = (item: { jobId: string; position: number }, error: unknown): BulkFailure => ({
    position: item.position,
    jobId: item.jobId,
    code: errorCode(error),
    message: errorMessage(error),
  });
  try {
    if (operation.kind === 'retry') {
      await deps.db.transaction(async (tx) => {
        // The verb opens its transaction on this one: a savepoint.
        const commandDeps = { db: tx as unknown as Database, dispatcher: deps.dispatcher, logger: log };
        const failures: BulkFailure[] = [];
        for (const item of items) {
          await retryJob(commandDeps, item.jobId, { stuckAfterMinutes: deps.stuckAfterMinutes }).catch((error: unknown) => {
            failures.push(failure(item, error));
          });
        }
        await markItems(tx, operation.id, items, failures);
      });
      // Committed now: the relay need not wait for its next look to publish them.
      deps.dispatcher.queued();
      return true;
    }
    for (const item of items) {
      const commandDeps = { db: deps.db, dispatcher: deps.dispatcher, logger: log };
      await cancelJob(commandDeps, item.jobId, { inTransaction: (tx) => markItems(tx, operation.id, [item], []) }).catch(async (error: unknown) => {
        if (error instanceof BulkStoppedError) throw error;
        // Nothing was changed (the verb's transaction rolled back): record why, once.
        await markItems(deps.db, operation.id, [item], [failure(item, error)]);
      });
    }
    return true;
  } catch (error) {
    if (error instanceof BulkStoppedError) return false;
    throw error;
  }
}

interface BulkFailure {
  position: number;
  jobId: string;
  code: string;
  message: string;
}

/** The operation was cancelled (or finished) while a job was in hand: that job's change is rolled back. */
class BulkStoppedError extends Error {
  override name = 'BulkStoppedError';
}

/**
 * Counts jobs of the set as done, in the transaction that changed them. The count is taken only
 * while the operation is still running: once a cancel has committed, their changes roll back with
 * it (BulkStoppedError), so no job is acted on after the cancel.
 */
async function markItems(
  db: JobWriter,
  operationId: string,
  items: { position: number }[],
  failures: BulkFailure[],
): Promise<void> {
  const kept = failures.map(({ jobId, code, message }) => ({ jobId, code, message }));
  const counted = await db
    .update(bulkOperations)
    .set({
      processed: sql`${bulkOperations.processed} + ${items.length}`,
      succeeded: sql`${bulkOperations.succeeded} + ${items.length - failures.length}`,
      failed: sql`${bulkOperations.failed} + ${failures.length}`,
      ...(kept.length > 0
        ? {
            errors: sql`(SELECT coalesce(jsonb_agg(e ORDER BY n), '[]'::jsonb) FROM jsonb_array_elements(${bulkOperations.errors} || ${JSON.stringify(kept)}::text::jsonb) WITH ORDINALITY AS x(e, n) WHERE n <= ${BULK_ERRORS_KEPT})`,
          }
        : {}),
    })
    .where(and(eq(bulkOperations.id, operationId), eq(bulkOperations.status, 'running')))
    .returning({ id: bulkOperations.id });
  if (counted.length === 0) throw new BulkStoppedError(`Bulk operation ${operationId} is no longer running`);
  const failedCodes = new Map(failures.map((f) => [f.position, f.code]));
  const succeeded = items.map((item) => item.position).filter((position) => !failedCodes.has(position));
  const ofOperation = eq(bulkOperationJobs.operationId, operationId);
  if (succeeded.length > 0) {
    await db.update(bulkOperationJobs).set({ state: 'succeeded' }).where(and(ofOperation, inArray(bulkOperationJobs.position, succeeded)));
  }
  for (const [position, code] of failedCodes) {
    await db.update(bulkOperationJobs).set({ state: 'failed', error: code }).where(and(ofOperation, eq(bulkOperationJobs.position, position)));
  }
}

async function finish(db: Database, id: string, status: 'completed' | 'failed'): Promise<void> {
  await db
    .update(bulkOperations)
    .set({ status, finishedAt: new Date(), leaseOwner: null, leaseUntil: null })
    .where(and(eq(bulkOperations.id, id), eq(bulkOperations.status, 'running')));
}

/** Whether the operation has ended (no more progress will come). */
export const isFinished = (operation: Pick<BulkOperation, 'status'>) => operation.status !== 'running';

/** The first BULK_SAMPLE_SIZE jobs of an operation's set, in the order it works through them. */
export async function sampleOfBulk(db: Database, id: string): Promise<JobExecution[]> {
  const rows = await db
    .select({ job: jobExecutions })
    .from(bulkOperationJobs)
    .innerJoin(jobExecutions, eq(jobExecutions.jobId, bulkOperationJobs.jobId))
    .where(eq(bulkOperationJobs.operationId, id))
    .orderBy(asc(bulkOperationJobs.position))
    .limit(BULK_SAMPLE_SIZE);
  return rows.map((r) => r.job);
}
