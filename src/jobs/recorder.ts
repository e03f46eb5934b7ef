import { and, desc, eq, getColumns, isNull, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { jobAttempts, jobExecutions, type JobEnvelope, type JobExecution } from '../db/schema.js';

/** Identifies one QStash delivery: the message and its `Upstash-Retried` count. */
export interface DeliveryKey {
  messageId: string;
  retried: number;
}

/** What `beginAttempt` decided. */
export type AttemptStart =
  /** Run the handler; the attempt and the `processing` state are committed. */
  | { kind: 'run'; attemptId: number; execution: JobExecution }
  /** The job already completed (or was cancelled): acknowledge without running. */
  | { kind: 'settled'; execution: JobExecution }
  /** This very delivery was already recorded: answer as it was answered then. */
  | { kind: 'replay'; execution: JobExecution; httpStatus: number }
  /** Another attempt of the job is running now: ask QStash to come back later. */
  | { kind: 'busy'; execution: JobExecution; retryAfterSeconds: number };

export interface BeginAttempt extends DeliveryKey {
  envelope: JobEnvelope;
  maxRetries: number;
  timeoutSeconds: number;
}

/** An attempt still open after this long without an outcome is taken as abandoned (worker died). */
const ABANDON_GRACE_SECONDS = 30;

/**
 * Records the start of a delivery attempt, idempotently on (message id, retried). A job never
 * seen before (published straight to QStash) is recorded on arrival. Runs in one short
 * transaction holding the job row's lock, so concurrent duplicates are decided one at a time.
 * Round trips, as they are the cost of a delivery (each one a write and a wait): a job seen for
 * the first time takes BEGIN, its insert, the attempt with the `processing` state in one
 * statement, COMMIT; a known job adds its locked read and one read of its attempts.
 */
export async function beginAttempt(db: Database, input: BeginAttempt): Promise<AttemptStart> {
  const { envelope, messageId, retried } = input;
  return db.transaction(async (tx) => {
    const now = new Date();
    // A row this statement inserted is ours alone until commit, and has no attempts yet.
    const [arrived] = await tx
      .insert(jobExecutions)
      .values({ ...arrivalRow(envelope, input.maxRetries), messageId })
      .onConflictDoNothing({ target: jobExecutions.jobId })
      .returning({ jobId: jobExecutions.jobId });
    if (!arrived) {
      const [execution] = await tx
        .select()
        .from(jobExecutions)
        .where(eq(jobExecutions.jobId, envelope.jobId))
        .for('update');
      if (!execution) throw new Error(`job ${envelope.jobId} vanished while recording its attempt`);

      // This very delivery, and any attempt of the job still open, in one read.
      const attempts = await tx
        .select()
        .from(jobAttempts)
        .where(
          and(
            eq(jobAttempts.jobId, envelope.jobId),
            or(and(eq(jobAttempts.messageId, messageId), eq(jobAttempts.attempt, retried)), isNull(jobAttempts.finishedAt)),
          ),
        )
        .orderBy(desc(jobAttempts.id));
      const same = attempts.find((a) => a.messageId === messageId && a.attempt === retried);
      if (same) {
        return same.finishedAt === null
          ? { kind: 'busy', execution, retryAfterSeconds: input.timeoutSeconds }
          : { kind: 'replay', execution, httpStatus: same.httpStatus ?? 200 };
      }
      if (execution.status === 'completed' || execution.status === 'cancelled') return { kind: 'settled', execution };

      const open = attempts.find((a) => a.finishedAt === null);
      if (open) {
        const ageSeconds = (now.getTime() - open.startedAt.getTime()) / 1000;
        const limit = input.timeoutSeconds + ABANDON_GRACE_SECONDS;
        if (ageSeconds < limit) {
          return { kind: 'busy', execution, retryAfterSeconds: Math.max(1, Math.ceil(limit - ageSeconds)) };
        }
        await tx
          .update(jobAttempts)
          .set({ finishedAt: now, error: 'Abandoned: no outcome was recorded (the worker stopped mid-run?)' })
          .where(eq(jobAttempts.id, open.id));
      }
    }

    // The attempt and the job's `processing` state in one statement (a data-modifying WITH).
    const attempt = tx
      .$with('started_attempt')
      .as(tx.insert(jobAttempts).values({ jobId: envelope.jobId, attempt: retried, messageId, startedAt: now }).returning({ id: jobAttempts.id }));
    const [started] = await tx
      .with(attempt)
      .update(jobExecutions)
      .set({ status: 'processing', startedAt: now, completedAt: null, retryCount: retried, messageId, updatedAt: now })
      .where(eq(jobExecutions.jobId, envelope.jobId))
      .returning({ ...getColumns(jobExecutions), attemptId: sql<number>`(select "id" from "started_attempt")`.mapWith(Number) });
    const { attemptId, ...execution } = started!;
    return { kind: 'run', attemptId, execution };
  });
}

export type AttemptOutcome =
  | { kind: 'completed'; result: unknown }
  /** `final`: no retry follows (last attempt, or non-retryable): the job is `failed`. */
  | { kind: 'failed'; error: string; final: boolean };

/**
 * Records an attempt's outcome and the job's resulting state in one statement (the attempt's
 * update as a data-modifying WITH): atomic without a transaction, one round trip instead of four.
 */
export async function finishAttempt(
  db: Database,
  input: { attemptId: number; jobId: string; startedAt: Date; httpStatus: number; outcome: AttemptOutcome },
): Promise<JobExecution> {
  const now = new Date();
  const { outcome } = input;
  const attempt = db.$with('finished_attempt').as(
    db
      .update(jobAttempts)
      .set({
        finishedAt: now,
        durationMs: now.getTime() - input.startedAt.getTime(),
        httpStatus: input.httpStatus,
        error: outcome.kind === 'failed' ? outcome.error : null,
      })
      .where(eq(jobAttempts.id, input.attemptId))
      .returning({ id: jobAttempts.id }),
  );
  const [row] = await db
    .with(attempt)
    .update(jobExecutions)
    .set(
      outcome.kind === 'completed'
        ? { status: 'completed', error: null, result: toJson(outcome.result), completedAt: now, updatedAt: now }
        : {
            status: outcome.final ? 'failed' : 'retrying',
            error: outcome.error,
            completedAt: outcome.final ? now : null,
            updatedAt: now,
          },
    )
    .where(eq(jobExecutions.jobId, input.jobId))
    .returning();
  return row!;
}

/**
 * Records a delivery that can never run (its envelope or payload fails validation): the job is
 * `failed` with the reason, and the delivery is kept as an attempt answered with `httpStatus`.
 */
export async function recordRejectedDelivery(
  db: Database,
  input: DeliveryKey & { envelope: JobEnvelope; maxRetries: number; error: string; httpStatus: number },
): Promise<JobExecution> {
  const now = new Date();
  const { envelope } = input;
  return db.transaction(async (tx) => {
    const failed = {
      status: 'failed' as const,
      error: input.error,
      retryCount: input.retried,
      messageId: input.messageId,
      startedAt: now,
      completedAt: now,
      updatedAt: now,
    };
    const [row] = await tx
      .insert(jobExecutions)
      .values({ ...arrivalRow(envelope, input.maxRetries), ...failed })
      .onConflictDoUpdate({ target: jobExecutions.jobId, set: failed })
      .returning();
    await tx
      .insert(jobAttempts)
      .values({
        jobId: envelope.jobId,
        attempt: input.retried,
        messageId: input.messageId,
        startedAt: now,
        finishedAt: now,
        durationMs: 0,
        httpStatus: input.httpStatus,
        error: input.error,
      })
      .onConflictDoNothing();
    return row!;
  });
}

function arrivalRow(envelope: JobEnvelope, maxRetries: number) {
  const metadata = envelope.metadata ?? {};
  return {
    jobId: envelope.jobId,
    jobType: envelope.type,
    status: 'pending' as const,
    payload: envelope,
    maxRetries,
    userId: typeof metadata.userId === 'string' ? metadata.userId : null,
    organizationId: typeof metadata.organizationId === 'string' ? metadata.organizationId : null,
  };
}

/** Handler results are stored as JSON; anything JSON cannot hold is recorded as such. */
function toJson(value: unknown): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(value)) as unknown;
  } catch {
    return { unserializable: String(value) };
  }
}
