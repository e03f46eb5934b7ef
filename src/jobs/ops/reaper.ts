import { and, asc, count, eq, isNull, like, lt, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { jobAttempts, jobExecutions, type JobExecution } from '../../db/schema.js';
import type { Logger } from '../../logger.js';
import { startPeriodic, type Periodic } from '../../periodic.js';
import type { JobDispatcher } from '../dispatcher.js';
import { errorMessage } from '../errors.js';
import { settleLostRun } from '../lifecycle.js';
import { attemptLiveness, WORKER_LOST, workerLostError, type Liveness } from '../recorder.js';
import type { JobRegistry, WorkerLostPolicy } from '../registry.js';
import { requeueJob } from '../retry.js';

/**
 * The reaper: closes attempts whose worker stopped beating (the process was killed, the machine
 * went away) as WORKER_LOST and settles their jobs by the type's `onWorkerLost` policy, so that no
 * job reads `processing` once its run is gone, even when QStash has given up on it. While QStash
 * still holds the message, the reaper leaves the job alone: the next delivery takes it over at
 * once (recorder.ts), on the retry QStash is spending anyway. The same pass, under the same lock,
 * also fails the jobs QStash dead-lettered before any attempt was recorded (undelivered.ts).
 */
export interface ReaperDeps {
  db: Database;
  registry: JobRegistry;
  dispatcher: JobDispatcher;
  /** Names the reaper as the actor (`system:reaper`). */
  logger: Logger;
  liveness: Liveness;
}

/** What one pass did. */
export interface ReapResult {
  /** Another instance held the reaper's lock: this pass did nothing. */
  skipped: boolean;
  /** Jobs re-enqueued (policy `retry`). */
  requeued: string[];
  /** Jobs failed (policy `fail`, or lost more often than the type's retries allow). */
  failed: string[];
  /** Lost attempts left to QStash, which will deliver the message again. */
  leftToQStash: string[];
  /** Jobs failed as DEAD_LETTERED: QStash gave up on their message before any attempt was recorded (undelivered.ts). */
  deadLettered: string[];
}

/** Attempts looked at per pass: bounded work per transaction; the next pass takes the rest. */
export const REAP_BATCH = 100;

/**
 * One reaper acts at a time, across every instance on the database: this transaction-level
 * advisory lock (released at commit) is taken with `pg_try_advisory_xact_lock`, and a pass that
 * does not get it does nothing.
 */
const REAPER_LOCK = sql`pg_try_advisory_xact_lock(hashtext('jobscope:reaper'))`;

/** Takes the reaper's lock for the rest of transaction `tx`; false when another instance holds it. */
export async function takeReaperLock(tx: Pick<Database, 'select'>): Promise<boolean> {
  const [lock] = await tx.select({ locked: sql<boolean>`${REAPER_LOCK}` }).from(sql`(select 1) as one`);
  return lock?.locked === true;
}

/**
 * Asks QStash about a job's message for the reaper. A failed question is logged and answers
 * undefined: unsure is not gone, so the job is looked at again next pass rather than acted on.
 */
export async function askQStash<T>(
  logger: Logger,
  what: string,
  job: { jobId: string; messageId: string },
  ask: () => Promise<T>,
): Promise<{ answer: T } | undefined> {
  try {
    return { answer: await ask() };
  } catch (error) {
    logger.warn(`[jobs] Reaper could not ask QStash ${what}; will look again`, { jobId: job.jobId, messageId: job.messageId, error: errorMessage(error) });
    return undefined;
  }
}

interface Candidate {
  attemptId: number;
  jobId: string;
  attempt: number;
  messageId: string;
  startedAt: Date;
  heartbeatAt: Date | null;
  jobType: string;
  maxRetries: number;
}

/** Open attempts silent for longer than `lostAfterMs`, oldest first: a scan of the open-attempt index only. */
async function findSilentAttempts(db: Database, now: Date, lostAfterMs: number, limit: number): Promise<Candidate[]> {
  const cutoff = new Date(now.getTime() - lostAfterMs);
  return db
    .select({
      attemptId: jobAttempts.id,
      jobId: jobAttempts.jobId,
      attempt: jobAttempts.attempt,
      messageId: jobAttempts.messageId,
      startedAt: jobAttempts.startedAt,
      heartbeatAt: jobAttempts.heartbeatAt,
      jobType: jobExecutions.jobType,
      maxRetries: jobExecutions.maxRetries,
    })
    .from(jobAttempts)
    .innerJoin(jobExecutions, eq(jobExecutions.jobId, jobAttempts.jobId))
    .where(and(isNull(jobAttempts.finishedAt), lt(sql`coalesce(${jobAttempts.heartbeatAt}, ${jobAttempts.startedAt})`, cutoff)))
    .orderBy(asc(jobAttempts.id))
    .limit(limit);
}

/**
 * One pass of the reaper. Reads the silent attempts and, for those QStash might still deliver
 * (the lost delivery was not the last its retries allow), asks QStash whether it holds the
 * message, all outside any transaction; then, under the lock, closes each lost attempt (only if
 * it is still open and has not beaten since) and re-enqueues or fails its job in the same
 * transaction; re-enqueued jobs are published after commit, through the manual retry's path.
 */
export async function reapLostAttempts(deps: ReaperDeps, options: { now?: Date; limit?: number } = {}): Promise<ReapResult> {
  const now = options.now ?? new Date();
  const result: ReapResult = { skipped: false, requeued: [], failed: [], leftToQStash: [], deadLettered: [] };
  const silent = await findSilentAttempts(deps.db, now, deps.liveness.lostAfterMs, options.limit ?? REAP_BATCH);

  const lost: Candidate[] = [];
  for (const candidate of silent) {
    const definition = deps.registry.forType(candidate.jobType);
    // Without heartbeats (recorded before they existed), an attempt is lost only past its timeout.
    const live = attemptLiveness(candidate, now, { timeoutSeconds: definition?.timeoutSeconds ?? 0, lostAfterMs: deps.liveness.lostAfterMs });
    if (!live.lost) continue;
    if (candidate.attempt < candidate.maxRetries) {
      const held = await askQStash(deps.logger, 'about a lost attempt', candidate, () => deps.dispatcher.holdsMessage(candidate.messageId));
      if (!held) continue;
      if (held.answer) {
        result.leftToQStash.push(candidate.jobId);
        continue;
      }
    }
    lost.push(candidate);
  }
  if (lost.length === 0) return result;

  const requeue: JobExecution[] = [];
  await deps.db.transaction(async (tx) => {
    if (!(await takeReaperLock(tx))) {
      result.skipped = true;
      return;
    }
    for (const candidate of lost) {
      const silentMs = now.getTime() - (candidate.heartbeatAt ?? candidate.startedAt).getTime();
      const error = workerLostError(silentMs);
      const [closed] = await tx
        .update(jobAttempts)
        .set({ finishedAt: now, error })
        .where(
          and(
            eq(jobAttempts.id, candidate.attemptId),
            isNull(jobAttempts.finishedAt),
            // Not beaten since it was read: a worker that came back keeps its attempt.
            eq(sql`coalesce(${jobAttempts.heartbeatAt}, ${jobAttempts.startedAt})`, candidate.heartbeatAt ?? candidate.startedAt),
          ),
        )
        .returning({ id: jobAttempts.id });
      if (!closed) continue;

      const definition = deps.registry.forType(candidate.jobType);
      const [losses] = await tx
        .select({ n: count() })
        .from(jobAttempts)
        .where(and(eq(jobAttempts.jobId, candidate.jobId), like(jobAttempts.error, `${WORKER_LOST}%`)));
      const timesLost = losses?.n ?? 1;
      const policy: WorkerLostPolicy = definition ? (definition.onWorkerLost ?? 'retry') : 'fail';
      const retry = policy === 'retry' && timesLost <= candidate.maxRetries;
      const base = { jobId: candidate.jobId, type: candidate.jobType, attempt: candidate.attempt, silentMs, timesLost, policy };

      // Only a job still `processing` (the state its lost attempt set) is moved on.
      const row = await settleLostRun(tx, candidate.jobId, { retry, error, now });
      if (!row) {
        deps.logger.warn('[jobs] Worker lost: attempt closed by the reaper', { ...base, code: WORKER_LOST });
        continue;
      }
      if (retry) {
        requeue.push(row);
        result.requeued.push(row.jobId);
        deps.logger.warn('[jobs] Worker lost: attempt closed by the reaper, job will be re-enqueued', { ...base, code: WORKER_LOST });
      } else {
        result.failed.push(row.jobId);
        deps.logger.error('[jobs] Worker lost: attempt closed by the reaper, job failed', {
          ...base,
          error,
          reason: definition ? (policy === 'fail' ? 'policy fail' : `lost ${timesLost} times, over its ${candidate.maxRetries} retries`) : 'unknown job type',
          event: 'failed',
        });
      }
    }
  });

  for (const reset of requeue) {
    try {
      await requeueJob(deps, reset, '[jobs] Job re-enqueued after its worker was lost');
    } catch (error) {
      // The dispatcher has marked it `failed` with the reason: nothing is left `pending` by us.
      deps.logger.error('[jobs] Re-enqueue after a lost worker failed', { jobId: reset.jobId, error: errorMessage(error) });
    }
  }
  return result;
}

/** The reaper's timer, from {@link startReaper}; `stop` waits for a pass in progress. */
export type Reaper = Periodic;

/** Reaps every `intervalMs`, one pass at a time; errors go to `onError` and the next tick tries again. */
export function startReaper(reap: () => Promise<ReapResult>, options: { intervalMs: number; onError: (error: unknown) => void }): Reaper {
  return startPeriodic(reap, options);
}
