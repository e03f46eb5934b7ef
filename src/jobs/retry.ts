import type { Database } from '../db/client.js';
import type { JobExecution } from '../db/schema.js';
import type { Logger } from '../logger.js';
import type { JobDispatcher } from './dispatcher.js';
import { JobNotFoundError, JobNotRetryableError } from './errors.js';
import { resetJobForRetry, type JobWriter } from './lifecycle.js';
import { getJobExecutionByJobId } from './read/index.js';

export interface RetryOptions {
  /** A `processing` job started longer ago than this counts as stuck and may be retried (the policy's). */
  stuckAfterMinutes: number;
}

/**
 * The operations guide's manual retry: resets a failed, cancelled or stuck job to `pending`
 * (error cleared, retry count 0) and queues its stored envelope (payload and metadata) for the
 * relay to publish again, as a new QStash message.
 * Earlier attempts stay recorded. The reset is one conditional UPDATE, so two concurrent retries
 * of one job publish it once; the loser gets JobNotRetryableError.
 *
 * @throws JobNotFoundError when no job has `jobId`.
 * @throws JobNotRetryableError when the job is pending, running (not stuck), retrying or completed.
 */
export async function retryJob(
  deps: { db: Database; dispatcher: JobDispatcher; logger: Logger },
  jobId: string,
  options: RetryOptions,
): Promise<JobExecution> {
  // The reset and its publish request commit together: a crash between them cannot leave a pending
  // job nobody publishes. Given a transaction (a bulk operation's batch), this is a savepoint of it.
  const reset = await deps.db.transaction(async (tx) => {
    const row = await resetJobForRetry(tx, jobId, options);
    if (!row) return undefined;
    await requeueJob({ ...deps, tx }, row, '[jobs] Job reset for a manual retry');
    return row;
  });
  if (!reset) {
    const existing = await getJobExecutionByJobId(deps.db, jobId);
    if (!existing) throw new JobNotFoundError(jobId);
    throw new JobNotRetryableError(jobId, existing.status);
  }
  return reset;
}

/**
 * Queues a job just reset to `pending` for publishing again, its stored envelope unchanged: the
 * one way a job goes back to QStash, for the manual retry and for the reaper's re-enqueue of a
 * lost run. `message` is the `[jobs] …` line that says why. QStash is not called here: the relay
 * publishes, and a permanent refusal fails the job (`publishState: FAILED`), with no caller left
 * to throw to.
 */
export async function requeueJob(
  deps: { dispatcher: JobDispatcher; logger: Logger; tx?: JobWriter | undefined },
  reset: JobExecution,
  message: string,
  fields: Record<string, unknown> = {},
): Promise<JobExecution> {
  deps.logger.info(message, { jobId: reset.jobId, type: reset.jobType, ...fields, event: 'requeued' });
  return deps.dispatcher.republish(reset, { logger: deps.logger, tx: deps.tx });
}
