import { and, eq, inArray, isNull, notExists, or, type SQL } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { jobAttempts, jobExecutions, type JobExecution, type JobStatus } from '../db/schema.js';
import { isStuck } from './read/stuck.js';

/** What may write a job's state: jobscope's database or a drizzle transaction on it. */
export type JobWriter = Pick<Database, 'update' | 'insert' | 'select'>;

/**
 * The transitions outside a delivery's own recording, as data: which statuses each may leave (and
 * whether a stuck `processing` job counts) and the status it leads to. The single-job verbs, the
 * bulk verbs and their dry runs all read these, so "which jobs would a retry touch" has one answer.
 */
export const TRANSITIONS = {
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
