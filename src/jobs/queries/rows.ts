import { and, eq, inArray, or } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { FINAL_STATUSES, jobExecutions, type JobExecution, type NewJobExecution } from '../../db/schema.js';
import type { JobExecutionShape } from './shape.js';
import { isStuck } from './stuck.js';

/** The operations guide's helper: one job's row (loaded as `shape` says), or undefined. */
export async function getJobExecutionByJobId(db: Database, jobId: string, shape: JobExecutionShape = {}): Promise<JobExecution | undefined> {
  return (await db.query.jobExecutions.findFirst({ ...shape, where: { jobId } })) as JobExecution | undefined;
}

/** Columns an operator may change by hand (the guide's manual retry sets status, error, retryCount). */
export type JobExecutionChanges = Partial<
  Pick<NewJobExecution, 'status' | 'error' | 'retryCount' | 'messageId' | 'startedAt' | 'completedAt' | 'result'>
>;

/**
 * The operations guide's helper: applies `changes` and returns the updated row (undefined if
 * none). Moving a job back to a non-final status clears `completed_at` (unless given), so the
 * guide's statistics, which count rows with `completed_at`, do not count it as finished.
 */
export async function updateJobExecution(
  db: Database,
  jobId: string,
  changes: JobExecutionChanges,
): Promise<JobExecution | undefined> {
  const reopened = changes.status !== undefined && !FINAL_STATUSES.includes(changes.status) && !('completedAt' in changes);
  const [row] = await db
    .update(jobExecutions)
    .set({ ...changes, ...(reopened ? { completedAt: null } : {}), updatedAt: new Date() })
    .where(eq(jobExecutions.jobId, jobId))
    .returning();
  return row;
}

/**
 * The guide's manual retry, made atomic: resets the job to `pending` (error cleared, retry count
 * 0, no start or completion time) only if it is `failed`, `cancelled`, or `processing` for longer
 * than `stuckAfterMinutes`. Returns undefined when the job is missing or not in such a state.
 * Earlier attempts are left as they were.
 */
export async function resetJobForRetry(
  db: Database,
  jobId: string,
  { stuckAfterMinutes }: { stuckAfterMinutes: number },
): Promise<JobExecution | undefined> {
  const [row] = await db
    .update(jobExecutions)
    .set({ status: 'pending', error: null, retryCount: 0, startedAt: null, completedAt: null, updatedAt: new Date() })
    .where(
      and(
        eq(jobExecutions.jobId, jobId),
        or(inArray(jobExecutions.status, ['failed', 'cancelled']), isStuck(stuckAfterMinutes)),
      ),
    )
    .returning();
  return row;
}

/**
 * Cancels a job that has not started its current attempt: `pending` or `retrying` become
 * `cancelled` with a completion time, in one conditional UPDATE. Returns undefined when the job is
 * missing or in another state (a running attempt is not interrupted).
 */
export async function markJobCancelled(db: Database, jobId: string): Promise<JobExecution | undefined> {
  const now = new Date();
  const [row] = await db
    .update(jobExecutions)
    .set({ status: 'cancelled', completedAt: now, updatedAt: now })
    .where(and(eq(jobExecutions.jobId, jobId), inArray(jobExecutions.status, ['pending', 'retrying'])))
    .returning();
  return row;
}
