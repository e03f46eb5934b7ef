import type { Database } from '../db/client.js';
import type { JobExecution, JobMetadata } from '../db/schema.js';
import type { Actor } from './actor.js';
import type { JobDispatcher } from './dispatcher.js';
import { JobNotFoundError } from './errors.js';
import { getJobExecutionByJobId } from './read/index.js';

/** What a replay changes; each one left out is taken from the original job. */
export interface ReplayInput {
  /** The new job's payload, validated against the type's schema like any enqueue. */
  payload?: unknown;
  /** The new job's metadata (an object). */
  metadata?: JobMetadata | undefined;
}

/**
 * "The payload was wrong: fix it and run it again." Enqueues a new job of the original's type
 * with the given payload and metadata (or the original's), through the same validation and
 * outbox as any enqueue, with `replayOf` pointing back; the original is left as it was.
 *
 * @throws JobNotFoundError when no job has `jobId`.
 * @throws UnknownJobTypeError when the original's type is no longer registered.
 * @throws InvalidPayloadError when the payload fails the type's schema; nothing is written.
 */
export async function replayJob(
  deps: { db: Database; dispatcher: JobDispatcher },
  jobId: string,
  input: ReplayInput,
  actor: Actor | undefined,
): Promise<JobExecution> {
  const original = await getJobExecutionByJobId(deps.db, jobId);
  if (!original) throw new JobNotFoundError(jobId);
  const { createdAt: _enqueuedAt, ...originalMetadata } = original.payload.metadata ?? {};
  return deps.dispatcher.enqueue(original.jobType, input.payload ?? original.payload.payload, {
    metadata: input.metadata ?? (originalMetadata as JobMetadata),
    replayOf: original.jobId,
    actor,
  });
}
