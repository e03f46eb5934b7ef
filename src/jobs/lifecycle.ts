import { and, eq, inArray, isNull, notExists, or, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { jobAttempts, jobExecutions, type JobExecution, type JobStatus } from '../db/schema.js';
import { isStuck } from './read/stuck.js';

/** What may write a job's state: jobscope's database or a drizzle transaction on it. */
export type JobWriter = Pick<Database, 'update' | 'insert' | 'select'>;

/**
 * Every change of a job's state, as data: which statuses each transition may leave (and whether a
 * stuck `processing` job counts) and the status it leads to. The single-job verbs, the bulk verbs
 * and their dry runs, the reaper, the relay and the recorder all read these, so "which jobs would
 * a retry touch" has one answer, and the statements that write a job's state are built here (the
 * recorder's two, which ride on its attempt's statement, from `startedState` / `finishedState`).
 * Not transitions: creating a job (an enqueue, a first delivery), the guide's `updateJobExecution`
 * helper (read/rows.ts) and retention's delete.
 */
export const TRANSITIONS = {
  /**
   * A delivery's attempt starts. From what waits for one (pending, retrying), a failed job (a new
   * delivery of it, e.g. a DLQ retry, runs it) and processing (an open attempt whose worker was
   * lost, taken over). Completed and cancelled jobs are acknowledged without running.
   */
  start: { from: ['pending', 'retrying', 'failed', 'processing'], orStuck: false, to: 'processing' },
  /** The reaper, by the type's onWorkerLost policy: a run whose worker is gone goes back to pending… */
  workerLostRetry: { from: ['processing'], orStuck: false, to: 'pending' },
  /** …or fails. */
  workerLostFail: { from: ['processing'], orStuck: false, to: 'failed' },
  /** The relay gave up publishing a job that waited for its publish. */
  publishFailed: { from: ['pending'], orStuck: false, to: 'failed' },
  /** The guide's manual retry: failed, cancelled, or stuck (processing past the stuck threshold). */
  retry: { from: ['failed', 'cancelled'], orStuck: true, to: 'pending' },
  /** A job that has not started its current attempt: pending (e.g. delayed) or between attempts. */
  cancel: { from: ['pending', 'retrying'], orStuck: false, to: 'cancelled' },
  /**
   * The reaper's: QStash dead-lettered the job's message while the job waited for a delivery that
   * would record something (pending, or retrying between attempts): no attempt is open.
   */
  deadLettered: { from: ['pending', 'retrying'], orStuck: false, to: 'failed' },
} as const satisfies Record<string, { from: readonly JobStatus[]; orStuck: boolean; to: JobStatus }>;

export type Transition = keyof typeof TRANSITIONS;

/** The rows `transition` may act on now (`stuckAfterMinutes`: the policy's stuck threshold). */
export function mayTransition(transition: Transition, stuckAfterMinutes: number, t: typeof jobExecutions = jobExecutions): SQL {
  const rule = TRANSITIONS[transition];
  const from = inArray(t.status, [...rule.from]);
  return rule.orStuck ? or(from, isStuck(stuckAfterMinutes, t))! : from;
}

/**
 * The guide's manual retry, made atomic: resets the job to `pending` (error cleared, retry count
 * 0, no start or completion time) only if TRANSITIONS.retry allows it now. Returns undefined when
 * the job is missing or not in such a state. Earlier attempts are left as they were.
 */
export async function resetJobForRetry(
  db: JobWriter,
  jobId: string,
  {
    stuckAfterMinutes,
    redelivery,
  }: {
    stuckAfterMinutes: number;
    /**
     * QStash redelivers the job's message `from` as the new message `to` (a DLQ retry): only while
     * the row still names `from`, since the new delivery may have arrived and moved it on already.
     */
    redelivery?: { from: string; to: string } | undefined;
  },
): Promise<JobExecution | undefined> {
  const [row] = await db
    .update(jobExecutions)
    .set({
      status: TRANSITIONS.retry.to,
      error: null,
      retryCount: 0,
      startedAt: null,
      completedAt: null,
      updatedAt: new Date(),
      ...(redelivery === undefined ? {} : { messageId: redelivery.to }),
    })
    .where(
      and(
        eq(jobExecutions.jobId, jobId),
        mayTransition('retry', stuckAfterMinutes),
        redelivery === undefined ? undefined : eq(jobExecutions.messageId, redelivery.from),
      ),
    )
    .returning();
  return row;
}

/**
 * Cancels a job that has not started its current attempt (TRANSITIONS.cancel) with a completion
 * time, in one conditional UPDATE. Returns undefined when the job is missing or in another state
 * (a running attempt is not interrupted).
 */
export async function markJobCancelled(db: JobWriter, jobId: string): Promise<JobExecution | undefined> {
  const now = new Date();
  const [row] = await db
    .update(jobExecutions)
    .set({ status: TRANSITIONS.cancel.to, completedAt: now, updatedAt: now })
    .where(and(eq(jobExecutions.jobId, jobId), mayTransition('cancel', 0)))
    .returning();
  return row;
}

/**
 * Fails a job whose message QStash dead-lettered (TRANSITIONS.deadLettered), with `error`, in one
 * conditional UPDATE: only while the row still names that message and no attempt of the job is
 * open, so a delivery that arrived meanwhile (a DLQ retry's new message, a late one) wins.
 * Returns undefined when the job moved on.
 */
export async function markJobDeadLettered(db: JobWriter, jobId: string, { messageId, error }: { messageId: string; error: string }): Promise<JobExecution | undefined> {
  const now = new Date();
  const [row] = await db
    .update(jobExecutions)
    .set({ status: TRANSITIONS.deadLettered.to, error, completedAt: now, updatedAt: now })
    .where(
      and(
        eq(jobExecutions.jobId, jobId),
        mayTransition('deadLettered', 0),
        eq(jobExecutions.messageId, messageId),
        notExists(
          db
            .select({ one: jobAttempts.id })
            .from(jobAttempts)
            .where(and(eq(jobAttempts.jobId, jobExecutions.jobId), isNull(jobAttempts.finishedAt))),
        ),
      ),
    )
    .returning();
  return row;
}

/**
 * What a started attempt sets on its job (TRANSITIONS.start): `processing`, a fresh start time,
 * no completion, the delivery's retry count and message.
 */
export function startedState(now: Date, delivery: { retried: number; messageId: string }) {
  return { status: TRANSITIONS.start.to, startedAt: now, completedAt: null, retryCount: delivery.retried, messageId: delivery.messageId, updatedAt: now } as const;
}

/**
 * What an attempt's outcome sets on its job: `completed` with the result, or the failure with its
 * error, `failed` (completed now) when no retry follows, else `retrying`.
 */
export function finishedState(now: Date, outcome: { kind: 'completed'; result: unknown } | { kind: 'failed'; error: string; final: boolean }) {
  return outcome.kind === 'completed'
    ? ({ status: 'completed', error: null, result: outcome.result, completedAt: now, updatedAt: now } as const)
    : ({ status: outcome.final ? 'failed' : 'retrying', error: outcome.error, completedAt: outcome.final ? now : null, updatedAt: now } as const);
}

/**
 * The reaper's settlement of a run whose worker is gone, in one conditional UPDATE: back to
 * `pending` (retry: a fresh start, as a manual retry) or `failed` with `error`, only while the job
 * is still `processing`. Undefined when it moved on.
 */
export async function settleLostRun(db: JobWriter, jobId: string, { retry, error, now }: { retry: boolean; error: string; now: Date }): Promise<JobExecution | undefined> {
  const [row] = await db
    .update(jobExecutions)
    .set(
      retry
        ? { status: TRANSITIONS.workerLostRetry.to, error: null, retryCount: 0, startedAt: null, completedAt: null, updatedAt: now }
        : { status: TRANSITIONS.workerLostFail.to, error, completedAt: now, updatedAt: now },
    )
    .where(and(eq(jobExecutions.jobId, jobId), mayTransition(retry ? 'workerLostRetry' : 'workerLostFail', 0)))
    .returning();
  return row;
}

/** Fails a job whose publish the relay gave up on, while it still waits for it (TRANSITIONS.publishFailed); false when it moved on. */
export async function markPublishFailed(db: JobWriter, jobId: string, error: string): Promise<boolean> {
  const now = new Date();
  const rows = await db
    .update(jobExecutions)
    .set({ status: TRANSITIONS.publishFailed.to, error, completedAt: now, updatedAt: now })
    .where(and(eq(jobExecutions.jobId, jobId), mayTransition('publishFailed', 0)))
    .returning({ jobId: jobExecutions.jobId });
  return rows.length > 0;
}
