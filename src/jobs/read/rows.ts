import { eq } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { FINAL_STATUSES, jobExecutions, type JobExecution, type NewJobExecution } from '../../db/schema.js';
import type { JobExecutionShape } from './shape.js';

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
