import { and, desc, eq, getColumns, isNull, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { jobAttempts, jobExecutions, type JobAttempt, type JobEnvelope, type JobExecution } from '../db/schema.js';
import { finishedState, mayTransition, startedState } from './lifecycle.js';

/** Identifies one QStash delivery: the message and its `Upstash-Retried` count. */
export interface DeliveryKey {
  messageId: string;
  retried: number;
}

/** The QStash schedule that created a job, recorded when the job is first seen. */
interface FromSchedule {
  scheduleId?: string | undefined;
}

/** What `beginAttempt` decided. */
export type AttemptStart =
  /** Run the handler; the attempt and the `processing` state are committed. */
  | { kind: 'run'; attemptId: number; execution: JobExecution; tookOver: LostAttempt | undefined }
  /** The job already completed (or was cancelled): acknowledge without running. */
  | { kind: 'settled'; execution: JobExecution }
  /** This very delivery was already recorded: answer as it was answered then. */
  | { kind: 'replay'; execution: JobExecution; httpStatus: number }
  /**
   * Another attempt of the job is alive (its heartbeat is recent). `lostInMs`: when it would count
   * as lost if it stopped beating now; `endsInMs`: when it must have recorded an outcome (its
   * timeout, plus grace), by which time it has either ended or stopped beating.
   */
  | { kind: 'busy'; execution: JobExecution; lostInMs: number; endsInMs: number };

/** An open attempt closed because its worker stopped: who it was and how long it had been silent. */
export interface LostAttempt {
  attemptId: number;
  messageId: string;
  attempt: number;
  silentMs: number;
}

/** How running attempts show they are alive: a heartbeat every `intervalMs`, lost after `lostAfterMs` of silence. */
export interface Liveness {
  intervalMs: number;
  lostAfterMs: number;
}

export interface BeginAttempt extends DeliveryKey, FromSchedule {
  envelope: JobEnvelope;
  maxRetries: number;
  timeoutSeconds: number;
  liveness: Liveness;
}

/**
 * An attempt without heartbeats (recorded before they existed) is taken as abandoned this long
 * past its timeout, the rule before heartbeats; and every attempt has ended, one way or another,
 * by its timeout plus this.
 */
const ABANDON_GRACE_SECONDS = 30;

/** The code an attempt closed for a lost worker carries, at the start of its `error`. */
export const WORKER_LOST = 'WORKER_LOST';

/** The `error` of an attempt closed because its worker stopped beating. */
export function workerLostError(silentMs: number): string {
  return `${WORKER_LOST}: no heartbeat for ${(silentMs / 1000).toFixed(1)} s (the worker stopped mid-run)`;
}

/** The `error` of an attempt whose request QStash saw end (it delivered the next one) without an outcome recorded. */
export function answeredWithoutOutcomeError(attempt: number): string {
  return `${WORKER_LOST}: QStash delivered attempt ${attempt + 1}, so attempt ${attempt} had ended without recording an outcome`;
}

/** Whether an open attempt still has its worker, judged from its last heartbeat (or start, before heartbeats). */
export function attemptLiveness(
  open: Pick<JobAttempt, 'startedAt' | 'heartbeatAt'>,
  now: Date,
  { timeoutSeconds, lostAfterMs }: { timeoutSeconds: number; lostAfterMs: number },
): { lost: boolean; silentMs: number; lostInMs: number; endsInMs: number } {
  const endsAt = open.startedAt.getTime() + (timeoutSeconds + ABANDON_GRACE_SECONDS) * 1000;
  const lastSign = open.heartbeatAt ?? open.startedAt;
  const silentMs = now.getTime() - lastSign.getTime();
  const lostAt = open.heartbeatAt ? lastSign.getTime() + lostAfterMs : endsAt;
  return { lost: now.getTime() >= lostAt, silentMs, lostInMs: Math.max(0, lostAt - now.getTime()), endsInMs: Math.max(0, endsAt - now.getTime()) };
}

/**
 * Records the start of a delivery attempt, idempotently on (message id, retried). A job never
 * seen before (published straight to QStash) is recorded on arrival. Runs in one short
 * transaction holding the job row's lock, so concurrent duplicates are decided one at a time.
 * An open attempt of the job whose heartbeat has gone silent for `liveness.lostAfterMs` lost its
 * worker: it is closed as WORKER_LOST and this delivery takes the job over at once.
 * Round trips, as they are the cost of a delivery (each one a write and a wait): a job seen for
 * the first time takes one statement, {@link startFirstSight}; a known job takes that one (which
 * writes nothing), then BEGIN, its locked read, one read of its attempts, the attempt with the
 * `processing` state in one statement, COMMIT.
 */
export async function beginAttempt(db: Database, input: BeginAttempt): Promise<AttemptStart> {
  const { envelope, messageId, retried } = input;
  const first = await startFirstSight(db, input, new Date());
  if (first) return { kind: 'run', ...first, tookOver: undefined };
  return db.transaction(async (tx) => {
    const now = new Date();
    let tookOver: LostAttempt | undefined;
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
      if (same.finishedAt !== null) return { kind: 'replay', execution, httpStatus: same.httpStatus ?? 200 };
      // The very same delivery again while it is open: its key is taken, so it cannot take
      // itself over; the reaper closes it if its worker is gone.
      const live = attemptLiveness(same, now, { timeoutSeconds: input.timeoutSeconds, lostAfterMs: input.liveness.lostAfterMs });
      return { kind: 'busy', execution, lostInMs: Math.max(live.lostInMs, input.liveness.intervalMs), endsInMs: live.endsInMs };
    }
    if (execution.status === 'completed' || execution.status === 'cancelled') return { kind: 'settled', execution };

    const open = attempts.find((a) => a.finishedAt === null);
    if (open) {
      // QStash sends delivery n+1 of a message only once attempt n's request has ended (answered
      // or timed out): an open earlier attempt of this very message will record nothing more
      // (its worker answered without recording, the database being away, or died). Taken over
      // at once: waiting for its heartbeats to lapse would answer 409 and spend a retry.
      const answered = open.messageId === messageId && open.attempt < retried;
      const live = attemptLiveness(open, now, { timeoutSeconds: input.timeoutSeconds, lostAfterMs: input.liveness.lostAfterMs });
      if (!live.lost && !answered) return { kind: 'busy', execution, lostInMs: live.lostInMs, endsInMs: live.endsInMs };
      await tx
        .update(jobAttempts)
        .set({ finishedAt: now, error: live.lost ? workerLostError(live.silentMs) : answeredWithoutOutcomeError(open.attempt) })
        .where(eq(jobAttempts.id, open.id));
      tookOver = { attemptId: open.id, messageId: open.messageId, attempt: open.attempt, silentMs: live.silentMs };
    }

    // The attempt and the job's `processing` state in one statement (a data-modifying WITH).
    const attempt = tx.$with('started_attempt').as(
      tx
        .insert(jobAttempts)
        .values({ jobId: envelope.jobId, attempt: retried, messageId, startedAt: now, heartbeatAt: now })
        .returning({ id: jobAttempts.id }),
    );
    const [started] = await tx
      .with(attempt)
      .update(jobExecutions)
      .set(startedState(now, { retried, messageId }))
      .where(and(eq(jobExecutions.jobId, envelope.jobId), mayTransition('start', 0)))
      .returning({ ...getColumns(jobExecutions), attemptId: sql<number>`(select "id" from "started_attempt")`.mapWith(Number) });
    const { attemptId, ...row } = started!;
    return { kind: 'run', attemptId, execution: row, tookOver };
  });
}

/**
 * A job seen for the first time (published straight to QStash), recorded with its attempt in one
 * statement, atomic without a transaction: the row inserted in the `processing` state (created and
 * started now) and, by data-modifying WITHs, the attempt only if the row was inserted. Against an
 * insert as `pending` and then the start, the job's row is written once instead of twice, and so
 * are its rollups and its event (`started`: it was never enqueued here): PostgreSQL's CPU per
 * delivery 3.28 -> 2.87 ms (bench/deliveries.ts). Undefined when the job was there already.
 */
async function startFirstSight(db: Database, input: BeginAttempt, now: Date): Promise<{ attemptId: number; execution: JobExecution } | undefined> {
  const { envelope, messageId, retried } = input;
  const arrived = db.$with('arrived').as(
    db
      .insert(jobExecutions)
      .values({ ...arrivalRow(envelope, input.maxRetries, input.scheduleId), ...startedState(now, { retried, messageId }), createdAt: now })
      .onConflictDoNothing({ target: jobExecutions.jobId })
      .returning(),
  );
  const column = (c: { name: string }) => sql.identifier(c.name);
  const at = sql`${now.toISOString()}::timestamptz`;
  const attempt = db.$with('started_attempt', { id: jobAttempts.id }).as(
    sql`insert into ${jobAttempts} (${column(jobAttempts.jobId)}, ${column(jobAttempts.attempt)}, ${column(jobAttempts.messageId)}, ${column(jobAttempts.startedAt)}, ${column(jobAttempts.heartbeatAt)})
        select ${column(jobExecutions.jobId)}, ${retried}, ${messageId}, ${at}, ${at} from ${arrived} returning ${column(jobAttempts.id)}`,
  );
  const [started] = await db
    .with(arrived, attempt)
    .select({ ...arrived._.selectedFields, attemptId: sql<number>`(select ${column(jobAttempts.id)} from ${attempt})`.mapWith(Number) })
    .from(arrived);
  if (!started) return undefined;
  const { attemptId, ...execution } = started;
  return { attemptId, execution };
}

/**
 * A running attempt's heartbeat: one UPDATE by primary key, of `job_attempts` only (no trigger
 * fires). Resolves to false when the attempt is no longer open: a takeover or the reaper closed it.
 */
export async function recordHeartbeat(db: Database, attemptId: number): Promise<boolean> {
  const rows = await db
    .update(jobAttempts)
    // The app's clock, as every other time of an attempt (started, finished) is.
    .set({ heartbeatAt: new Date() })
    .where(and(eq(jobAttempts.id, attemptId), isNull(jobAttempts.finishedAt)))
    .returning({ id: jobAttempts.id });
  return rows.length > 0;
}

export type AttemptOutcome =
  | { kind: 'completed'; result: unknown }
  /** `final`: no retry follows (last attempt, or non-retryable): the job is `failed`. */
  | { kind: 'failed'; error: string; final: boolean };

/**
 * Records an attempt's outcome and the job's resulting state in one statement (the attempt's
 * update as a data-modifying WITH): atomic without a transaction, one round trip instead of four.
 * Only an attempt still open is finished: one already closed as WORKER_LOST (its worker was
 * taken for lost and another delivery or the reaper took the job over) changes nothing, and this
 * resolves to undefined, so a late outcome never overwrites the state the new owner set.
 */
export async function finishAttempt(
  db: Database,
  input: { attemptId: number; jobId: string; startedAt: Date; httpStatus: number; outcome: AttemptOutcome },
): Promise<JobExecution | undefined> {
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
      .where(and(eq(jobAttempts.id, input.attemptId), isNull(jobAttempts.finishedAt)))
      .returning({ id: jobAttempts.id }),
  );
  const [row] = await db
    .with(attempt)
    .update(jobExecutions)
    .set(finishedState(now, outcome.kind === 'completed' ? { kind: 'completed', result: toJson(outcome.result) } : outcome))
    .where(and(eq(jobExecutions.jobId, input.jobId), sql`exists (select 1 from "finished_attempt")`))
    .returning();
  return row;
}

/**
 * Records a delivery that can never run (its envelope or payload fails validation): the job is
 * `failed` with the reason, and the delivery is kept as an attempt answered with `httpStatus`.
 */
export async function recordRejectedDelivery(
  db: Database,
  input: DeliveryKey & FromSchedule & { envelope: JobEnvelope; maxRetries: number; error: string; httpStatus: number },
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
      .values({ ...arrivalRow(envelope, input.maxRetries, input.scheduleId), ...failed })
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

function arrivalRow(envelope: JobEnvelope, maxRetries: number, scheduleId: string | undefined) {
  const metadata = envelope.metadata ?? {};
  return {
    jobId: envelope.jobId,
    jobType: envelope.type,
    status: 'pending' as const,
    payload: envelope,
    maxRetries,
    userId: typeof metadata.userId === 'string' ? metadata.userId : null,
    organizationId: typeof metadata.organizationId === 'string' ? metadata.organizationId : null,
    scheduleId: scheduleId ?? null,
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
