import type { Database } from '../db/client.js';
import type { JobExecution } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { JobDispatcher } from './dispatcher.js';
import { errorMessage, JobNotCancellableError, JobNotFoundError } from './errors.js';
import { abandonPublish, lockPublish } from './outbox.js';
import { markJobCancelled, type JobWriter } from './lifecycle.js';
import { getJobExecutionByJobId } from './read/index.js';

/**
 * Cancels a job that has not started its current attempt (`pending`, e.g. delayed, or `retrying`
 * between attempts): the row becomes `cancelled` (with `options.inTransaction`'s writes, in one
 * transaction) first, then QStash is asked to drop the message.
 * The database decides: if QStash delivers anyway (the message was already on its way, or the
 * cancel call failed), the worker acknowledges the delivery without running the job.
 *
 * @throws JobNotFoundError when no job has `jobId`.
 * @throws JobNotCancellableError when the job is running or already final.
 */
export async function cancelJob(
  deps: { db: Database; dispatcher: JobDispatcher; logger: Logger },
  jobId: string,
  options: { inTransaction?: ((tx: JobWriter) => Promise<void>) | undefined } = {},
): Promise<JobExecution> {
  const cancelled = await deps.db.transaction(async (tx) => {
    // The relay may be recording this job's publish: its request first, then the row (outbox.ts's lock order).
    await lockPublish(tx, jobId);
    const row = await markJobCancelled(tx, jobId);
    if (!row) return undefined;
    // Not published yet: the relay must not publish it now.
    await abandonPublish(tx, jobId, 'The job was cancelled before it was published');
    await options.inTransaction?.(tx);
    return row;
  });
  if (!cancelled) {
    const existing = await getJobExecutionByJobId(deps.db, jobId);
    if (!existing) throw new JobNotFoundError(jobId);
    throw new JobNotCancellableError(jobId, existing.status);
  }
  const log = deps.logger.child({ jobId, jobType: cancelled.jobType });
  let messageDropped = false;
  if (cancelled.messageId) {
    try {
      messageDropped = await deps.dispatcher.cancelMessage(cancelled.messageId);
    } catch (error) {
      log.warn('[jobs] Could not cancel the QStash message; a delivery will be acknowledged without running', {
        jobId,
        messageId: cancelled.messageId,
        error: errorMessage(error),
      });
    }
  }
  log.info('[jobs] Job cancelled', { jobId, type: cancelled.jobType, messageId: cancelled.messageId, messageDropped, event: 'cancelled' });
  return cancelled;
}
