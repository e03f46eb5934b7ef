/**
 * The reaper's second question: jobs waiting for a delivery QStash will never make. When every
 * delivery of a message fails before the worker can record anything (the database away, the
 * endpoint unreachable, a 5xx in front of it), QStash dead-letters the message and the job would
 * read `pending` (or `retrying`) for good. The reaper asks QStash's DLQ about jobs that have waited
 * long with no attempt open, and fails the dead-lettered ones as DEAD_LETTERED.
 */
import { and, asc, eq, inArray, isNotNull, isNull, lt, notExists, notInArray, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { jobAttempts, jobExecutions, jobPublishes } from '../../db/schema.js';
import type { Logger } from '../../logger.js';
import { markJobDeadLettered, TRANSITIONS } from '../lifecycle.js';
import type { DeadLetter } from './dead-letters.js';
// Under the reaper's own lock: one instance reaps at a time, lost attempts and dead letters alike.
import { askQStash, takeReaperLock } from './reaper.js';

/** The code a job failed for a dead-lettered message carries, at the start of its `error`. */
export const DEAD_LETTERED = 'DEAD_LETTERED';

/** How much of the last answer's body the error keeps. */
const BODY_EXCERPT_CHARS = 200;

export interface UndeliveredDeps {
  db: Database;
  /** Names the reaper as the actor (`system:reaper`). */
  logger: Logger;
  /** QStash's dead letter of a message, if it is in the DLQ (ops/dead-letters.ts, through the real Client). */
  deadLetterOf: (messageId: string) => Promise<DeadLetter | undefined>;
  /** A job waiting this long with no attempt open is asked about (`reaper.undeliveredAfterSeconds`). */
  afterMs: number;
  /**
   * When each job still waiting was last asked about, kept by the caller across passes: a job
   * QStash still holds is asked again only `afterMs` later, and others get their turn meanwhile.
   */
  asked: Map<string, number>;
}

/** Jobs asked about per pass: bounded QStash calls per pass; the next pass takes the rest. */
export const UNDELIVERED_BATCH = 20;
/** Job ids remembered as asked about, at most (the SQL excludes them, one parameter each). */
const ASKED_MAX = 1_000;

interface Waiting {
  jobId: string;
  jobType: string;
  messageId: string;
  maxRetries: number;
}

/**
 * Jobs that wait for a delivery (TRANSITIONS.deadLettered.from) with their message published
 * (the relay is done with them, or QStash was handed the message some other way), no attempt
 * open, nothing changed for `afterMs`, and not asked about recently; oldest first.
 */
async function findWaiting(db: Database, now: Date, afterMs: number, skip: string[], limit: number): Promise<Waiting[]> {
  const cutoff = new Date(now.getTime() - afterMs);
  return db
    .select({ jobId: jobExecutions.jobId, jobType: jobExecutions.jobType, messageId: sql<string>`${jobExecutions.messageId}`, maxRetries: jobExecutions.maxRetries })
    .from(jobExecutions)
    .leftJoin(jobPublishes, eq(jobPublishes.jobId, jobExecutions.jobId))
    .where(
      and(
        inArray(jobExecutions.status, [...TRANSITIONS.deadLettered.from]),
        isNotNull(jobExecutions.messageId),
        lt(jobExecutions.updatedAt, cutoff),
        or(isNull(jobPublishes.jobId), and(eq(jobPublishes.state, 'published'), lt(jobPublishes.publishedAt, cutoff))),
        // A delayed job is not late before its time.
        or(isNull(jobPublishes.notBefore), lt(jobPublishes.notBefore, cutoff)),
        notExists(
          db
            .select({ one: jobAttempts.id })
            .from(jobAttempts)
            .where(and(eq(jobAttempts.jobId, jobExecutions.jobId), isNull(jobAttempts.finishedAt))),
        ),
        skip.length > 0 ? notInArray(jobExecutions.jobId, skip) : undefined,
      ),
    )
    .orderBy(asc(jobExecutions.createdAt))
    .limit(limit);
}

/** The stored `error` of a job whose message QStash dead-lettered. */
export function deadLetteredError(letter: DeadLetter, maxRetries: number): string {
  const deliveries = (letter.maxRetries ?? maxRetries) + 1;
  const body = (letter.responseBody ?? '').replace(/\s+/g, ' ').trim();
  const excerpt = body.length > BODY_EXCERPT_CHARS ? `${body.slice(0, BODY_EXCERPT_CHARS)}…` : body;
  const last =
    letter.responseStatus !== null && letter.responseStatus !== 0
      ? `last response ${letter.responseStatus}${excerpt ? ` ${excerpt}` : ''}`
      : `last attempt got no response${letter.error ? ` (${letter.error})` : ''}`;
  return (
    `${DEAD_LETTERED}: QStash gave up delivering this job after ${deliveries} ${deliveries === 1 ? 'attempt' : 'attempts'}; ${last}; ` +
    `retry it with retryDeadLetters (dlqId ${letter.dlqId}) or retryJob`
  );
}

/**
 * One pass: asks QStash's DLQ (outside any transaction) about each waiting job's message, then,
 * under the reaper's lock, fails the dead-lettered ones through the lifecycle's transition (a
 * `failed` job event, a `[jobs]` line). A job QStash does not have in its DLQ is left alone: it
 * still holds the message (a long backoff) or will deliver it. Resolves to the jobs failed and
 * whether another instance held the lock.
 */
export async function failDeadLetteredJobs(
  deps: UndeliveredDeps,
  options: { now?: Date; limit?: number } = {},
): Promise<{ skipped: boolean; failed: string[] }> {
  const now = options.now ?? new Date();
  for (const [jobId, at] of deps.asked) if (now.getTime() - at >= deps.afterMs) deps.asked.delete(jobId);
  const waiting = await findWaiting(deps.db, now, deps.afterMs, [...deps.asked.keys()].slice(0, ASKED_MAX), options.limit ?? UNDELIVERED_BATCH);

  const dead: { job: Waiting; letter: DeadLetter }[] = [];
  for (const job of waiting) {
    const asked = await askQStash(deps.logger, 'whether a waiting job was dead-lettered', job, () => deps.deadLetterOf(job.messageId));
    if (!asked) continue;
    const letter = asked.answer;
    if (letter) dead.push({ job, letter });
    else deps.asked.set(job.jobId, now.getTime());
  }
  const result = { skipped: false, failed: [] as string[] };
  if (dead.length === 0) return result;

  await deps.db.transaction(async (tx) => {
    if (!(await takeReaperLock(tx))) {
      result.skipped = true;
      return;
    }
    for (const { job, letter } of dead) {
      const error = deadLetteredError(letter, job.maxRetries);
      const row = await markJobDeadLettered(tx, job.jobId, { messageId: job.messageId, error });
      if (!row) continue;
      result.failed.push(row.jobId);
      deps.logger.error('[jobs] Job dead-lettered by QStash before any attempt was recorded: failed', {
        jobId: row.jobId,
        type: row.jobType,
        messageId: job.messageId,
        dlqId: letter.dlqId,
        responseStatus: letter.responseStatus,
        code: DEAD_LETTERED,
        error,
        event: 'failed',
      });
    }
  });
  return result;
}
