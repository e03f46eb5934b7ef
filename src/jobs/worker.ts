import { z } from 'zod';
import { isDatabaseUnavailable, withinMs, type Database } from '../db/client.js';
import type { JobEnvelope, JobStatus } from '../db/schema.js';
import type { Logger } from '../logger.js';
import {
  errorMessage,
  formatIssues,
  JobTimeoutError,
  isNonRetryable,
  toPayloadIssues,
  type PayloadIssue,
} from './errors.js';
import { isStorable, storableJson, storableText, UNSTORABLE_TEXT, unstorablePaths } from './storable.js';
import { QSTASH_TIMEOUT_GRACE_SECONDS } from './dispatcher.js';
import {
  beginAttempt,
  finishAttempt,
  recordHeartbeat,
  recordRejectedDelivery,
  type AttemptOutcome,
  type AttemptStart,
  WORKER_LOST,
  type DeliveryKey,
  type Liveness,
} from './recorder.js';
import type { JobDefinition } from './registry.js';

/** The envelope as a delivery must carry it; `JobEnvelope` is the type it parses to. */
const JOB_ID_MAX = 200;

/** `metadata.userId` and `.organizationId` are copied to indexed columns: a btree entry holds ~2.7 kB at most. */
const Metadata = z.record(z.string(), z.unknown()).superRefine((metadata, context) => {
  for (const key of ['userId', 'organizationId']) {
    const value = metadata[key];
    if (typeof value === 'string' && value.length > JOB_ID_MAX) {
      context.addIssue({ code: 'custom', path: [key], message: `must be at most ${JOB_ID_MAX} characters (it is indexed)` });
    }
  }
});

const EnvelopeSchema = z.object({
  jobId: z.string().min(1).max(JOB_ID_MAX),
  type: z.string().min(1),
  payload: z.unknown(),
  metadata: Metadata.optional().default({}),
});

const UNSTORABLE_MESSAGE = `${UNSTORABLE_TEXT}; recorded with U+FFFD in its place`;

export interface Delivery extends DeliveryKey {
  definition: JobDefinition;
  /** The request body exactly as received (already signature-checked). */
  body: string;
  /**
   * The QStash schedule whose run this message is (`Upstash-Schedule-Id`). Every run of a schedule
   * carries the same body, so each run is its own job, named by its message id.
   */
  scheduleId?: string | undefined;
}

/** What became of a delivery; the transport turns it into an answer (status code, headers). */
export type DeliveryOutcome =
  /** The body or payload can never be run: the job is recorded `failed`, no retry should follow. */
  | { kind: 'rejected'; jobId: string; issues: PayloadIssue[] }
  /** Nothing ran: the job is already `completed` (a redelivery) or was `cancelled`. */
  | { kind: 'settled'; jobId: string; status: JobStatus; reason: 'duplicate' | 'cancelled' }
  /** This very delivery was recorded before: answer as it was answered then. */
  | { kind: 'replay'; jobId: string; status: JobStatus; answeredStatus: number }
  /** Another attempt of the job is alive: ask again in `retryAfterSeconds`. */
  | { kind: 'busy'; jobId: string; retryAfterSeconds: number }
  /**
   * The handler ran, but meanwhile its attempt was closed as WORKER_LOST (its heartbeats did not
   * reach the database) and another delivery or the reaper took the job over: nothing recorded.
   */
  | { kind: 'superseded'; jobId: string }
  | { kind: 'completed'; jobId: string }
  /** The handler failed: `retrying` (another delivery follows) or `failed` for good. */
  | { kind: 'failed'; jobId: string; status: 'retrying' | 'failed'; error: string; nonRetryable: boolean };

/** The outcomes after which an attempt is recorded with the status its answer carries. */
export type RecordedOutcome = Extract<DeliveryOutcome, { kind: 'rejected' | 'completed' | 'failed' }>;

export interface DeliveryDeps {
  db: Database;
  logger: Logger;
  /** The status code the transport answers an outcome with; kept on the attempt (`httpStatus`). */
  answerStatus: (outcome: RecordedOutcome) => number;
  /** Heartbeat interval of a running attempt, and the silence after which its worker is lost. */
  liveness: Liveness;
}

/**
 * Longest a delivery waits in place for another open attempt of its job to end or be declared
 * lost, instead of answering 409 at once: QStash counts every non-2xx answer against the
 * message's retries, while a wait costs none. Half the grace QStash is given beyond a handler's
 * timeout (`Upstash-Timeout`), so a wait and then a full run still end before QStash gives up.
 */
export const HOLD_MAX_MS = (QSTASH_TIMEOUT_GRACE_SECONDS / 2) * 1000;
/**
 * The longest the start of an attempt may take to record (one short transaction: milliseconds
 * when the database answers): the grace jobscope adds to `Upstash-Timeout`, past which the run
 * would eat into the time QStash waits for it.
 */
const RECORD_START_MAX_MS = QSTASH_TIMEOUT_GRACE_SECONDS * 1000;
/** Past the moment the open attempt counts as lost, so the second look sees it lost. */
const HOLD_MARGIN_MS = 50;

/** How the `error` of a delivery refused by validation begins (the diagnosis reads it). */
export const INVALID_PAYLOAD_PREFIX = 'Invalid job payload: ';

/**
 * Runs one verified delivery: validate, record the attempt, run the handler under its timeout,
 * record the outcome. It returns only after the outcome is committed, so a success is never
 * answered for a run the database does not hold.
 */
export async function processDelivery(deps: DeliveryDeps, delivery: Delivery): Promise<DeliveryOutcome> {
  const { definition, messageId, retried } = delivery;
  const validated = validateDelivery(delivery);
  const jobId = validated.envelope.jobId;
  // `attempt` files the job's log lines (job_logs) under the delivery they were written in.
  const log = deps.logger.child({ jobId, jobType: definition.type, messageId, attempt: retried });

  if (!validated.ok) {
    const outcome: RecordedOutcome = { kind: 'rejected', jobId, issues: validated.issues };
    const error = `${INVALID_PAYLOAD_PREFIX}${formatIssues(validated.issues)}`;
    await recordRejectedDelivery(deps.db, {
      envelope: validated.envelope,
      messageId,
      scheduleId: delivery.scheduleId,
      retried,
      maxRetries: definition.retries,
      error,
      httpStatus: deps.answerStatus(outcome),
    });
    log.warn('[jobs] Job processing failed', { jobId, type: definition.type, error, event: 'failed' });
    return outcome;
  }

  const { envelope, payload } = validated;
  // Bounded: a recording that never answers would hold the delivery until QStash's timeout, and a
  // timed-out attempt waits QStash's full backoff; a 503 asks for the next try in 5 s. Should the
  // stalled transaction commit later, its attempt stays open without a runner, and the next
  // delivery of the message takes it over at once (recorder.ts).
  const begin = () =>
    withinMs(beginAttempt(deps.db, {
      envelope,
      messageId,
      scheduleId: delivery.scheduleId,
      retried,
      maxRetries: definition.retries,
      timeoutSeconds: definition.timeoutSeconds,
      liveness: deps.liveness,
    }), RECORD_START_MAX_MS, 'recording the start of the attempt');
  let start: AttemptStart = await begin();
  let held = false;
  if (start.kind === 'busy' && start.lostInMs <= Math.min(HOLD_MAX_MS, deps.liveness.lostAfterMs)) {
    // The open attempt either ends or counts as lost within the wait: waiting spends none of
    // QStash's retries, a 409 would spend one.
    const waitMs = start.lostInMs + HOLD_MARGIN_MS;
    log.info('[jobs] Delivery held: another attempt of this job is open; waiting until it ends or counts as lost', { waitMs });
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    start = await begin();
    held = true;
  }
  switch (start.kind) {
    case 'settled': {
      const cancelled = start.execution.status === 'cancelled';
      log.info(
        cancelled
          ? '[jobs] Delivery of a cancelled job acknowledged without running'
          : '[jobs] Duplicate delivery acknowledged without running',
        { status: start.execution.status },
      );
      return { kind: 'settled', jobId, status: start.execution.status, reason: cancelled ? 'cancelled' : 'duplicate' };
    }
    case 'replay':
      log.info('[jobs] Duplicate delivery answered as before', { httpStatus: start.httpStatus });
      return { kind: 'replay', jobId, status: start.execution.status, answeredStatus: start.httpStatus };
    case 'busy': {
      // Before a wait: come back exactly when a takeover becomes possible, should the open
      // attempt's worker be gone. After one, the attempt kept beating through it, so it is alive:
      // come back when it must have ended (its timeout) or stopped beating, whichever is later,
      // so a duplicate of a live run spends at most one more retry.
      const waitMs = held ? Math.max(start.lostInMs, start.endsInMs) : start.lostInMs;
      const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
      log.info('[jobs] Delivery deferred: another attempt of this job is running', { retryAfterSeconds, held });
      return { kind: 'busy', jobId, retryAfterSeconds };
    }
    case 'run':
      if (start.tookOver) {
        log.warn('[jobs] Worker lost: took over the job from an attempt that stopped beating', {
          jobId,
          type: envelope.type,
          lostAttempt: start.tookOver.attempt,
          lostMessageId: start.tookOver.messageId,
          silentMs: start.tookOver.silentMs,
          code: WORKER_LOST,
        });
      }
      break;
  }

  const maxRetries = start.execution.maxRetries;
  const startedAt = start.execution.startedAt ?? new Date();
  log.info('[jobs] Processing job', { jobId, type: envelope.type, attempt: retried, event: 'started' });
  // When QStash stops waiting for this request's answer (the attempt's Upstash-Timeout), less a second to answer in.
  const answerBy = Date.now() + (Math.ceil(definition.timeoutSeconds) + QSTASH_TIMEOUT_GRACE_SECONDS - 1) * 1000;
  const heartbeat = startHeartbeat(deps, start.attemptId, log);
  const superseded = (): DeliveryOutcome => {
    log.warn('[jobs] Outcome discarded: the attempt was closed as WORKER_LOST and the job taken over meanwhile', {
      jobId,
      type: envelope.type,
      attempt: retried,
    });
    return { kind: 'superseded', jobId };
  };
  // The handler's outcome, then its recording: a failure to record is not the handler's failure.
  let ran: { ok: true; result: unknown } | { ok: false; thrown: unknown };
  try {
    ran = { ok: true, result: await runHandler(definition, payload, envelope, { db: deps.db, logger: log }).finally(heartbeat.stop) };
  } catch (thrown) {
    ran = { ok: false, thrown };
  }
  const record = (outcome: RecordedOutcome, attemptOutcome: AttemptOutcome) =>
    untilRecorded(answerBy, log, () =>
      finishAttempt(deps.db, { attemptId: start.attemptId, jobId, startedAt, httpStatus: deps.answerStatus(outcome), outcome: attemptOutcome }),
    );
  if (ran.ok) {
    const outcome: RecordedOutcome = { kind: 'completed', jobId };
    if (!(await record(outcome, { kind: 'completed', result: ran.result }))) return superseded();
    log.info('[jobs] Job processed successfully', {
      jobId,
      type: envelope.type,
      durationMs: Date.now() - startedAt.getTime(),
      event: 'completed',
    });
    return outcome;
  }
  const { thrown } = ran;
  const error = errorMessage(thrown);
  const nonRetryable = isNonRetryable(thrown);
  const final = nonRetryable || retried >= maxRetries;
  const outcome: RecordedOutcome = { kind: 'failed', jobId, status: final ? 'failed' : 'retrying', error, nonRetryable };
  if (!(await record(outcome, { kind: 'failed', error, final }))) return superseded();
  log.error('[jobs] Job processing failed', {
    jobId,
    type: envelope.type,
    error,
    attempt: retried,
    willRetry: !final,
    event: outcome.status,
    ...(thrown instanceof Error && !(thrown instanceof JobTimeoutError) ? { stack: thrown.stack } : {}),
  });
  return outcome;
}

/** The first wait before recording an outcome again while the database cannot be reached; doubled per try, at most 1 s. */
const RECORD_RETRY_MIN_MS = 50;

/**
 * Records a run's outcome, trying again while the database cannot be reached, until `answerBy`.
 * The handler has run: answering 5xx now would make QStash deliver it again and run it twice, so
 * a short outage (a restart, a cut connection) is waited out inside the request QStash still holds
 * open. Past `answerBy` QStash has given up on the request: the error goes up (the worker answers
 * 503) and the attempt is left to the heartbeat takeover or the reaper.
 */
async function untilRecorded<T>(answerBy: number, log: Logger, write: () => Promise<T>): Promise<T> {
  for (let wait = RECORD_RETRY_MIN_MS, tries = 1; ; wait = Math.min(1_000, wait * 2), tries++) {
    try {
      const written = await write();
      if (tries > 1) log.info('[jobs] Outcome recorded once the database answered again', { tries });
      return written;
    } catch (error) {
      if (!isDatabaseUnavailable(error) || Date.now() + wait >= answerBy) throw error;
      if (tries === 1) log.warn('[jobs] Recording the outcome failed: the database is unavailable; trying again', { error: errorMessage(error) });
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

type Validated =
  | { ok: true; envelope: JobEnvelope; payload: unknown }
  | { ok: false; envelope: JobEnvelope; issues: PayloadIssue[] };

function validateDelivery({ body, definition, messageId, scheduleId }: Delivery): Validated {
  let json: unknown;
  try {
    json = JSON.parse(body);
    if (scheduleId !== undefined && json !== null && typeof json === 'object' && !Array.isArray(json)) json = { ...json, jobId: messageId };
  } catch {
    const issues: PayloadIssue[] = [{ path: [], message: 'body is not JSON' }];
    if (!isStorable(body)) issues.push({ path: [], message: `the body ${UNSTORABLE_MESSAGE}` });
    return { ok: false, envelope: fallbackEnvelope(definition, messageId, storableText(body)), issues };
  }
  // What PostgreSQL refuses would fail the statement that records the delivery, and QStash would
  // retry a delivery that can never be recorded: it is rejected, and recorded with U+FFFD instead.
  const unstorable = unstorablePaths(json);
  if (unstorable.length > 0) {
    const storable = storableJson(json);
    const parsed = EnvelopeSchema.safeParse(storable);
    return {
      ok: false,
      envelope: parsed.success ? { ...parsed.data, type: definition.type } : fallbackEnvelope(definition, messageId, storable),
      // Paths as stored too: a key may be what holds the NUL.
      issues: unstorable.map((path) => ({ path: path.map((key) => (typeof key === 'string' ? storableText(key) : key)), message: UNSTORABLE_MESSAGE })),
    };
  }
  const envelope = EnvelopeSchema.safeParse(json);
  if (!envelope.success) {
    return { ok: false, envelope: fallbackEnvelope(definition, messageId, json), issues: toPayloadIssues(envelope.error) };
  }
  const parsedEnvelope: JobEnvelope = envelope.data;
  if (parsedEnvelope.type !== definition.type) {
    return {
      ok: false,
      envelope: { ...parsedEnvelope, type: definition.type },
      issues: [{ path: ['type'], message: `expected "${definition.type}" at ${definition.endpoint}, got "${parsedEnvelope.type}"` }],
    };
  }
  const payload = definition.schema.safeParse(parsedEnvelope.payload);
  if (!payload.success) {
    return { ok: false, envelope: parsedEnvelope, issues: toPayloadIssues(payload.error, ['payload']) };
  }
  return { ok: true, envelope: parsedEnvelope, payload: payload.data };
}

/** A body too broken to name its job is recorded under its QStash message id. */
function fallbackEnvelope(definition: JobDefinition, messageId: string, body: unknown): JobEnvelope {
  const given = body && typeof body === 'object' ? (body as { jobId?: unknown }).jobId : undefined;
  // Only an id the envelope would accept: a longer one does not fit the primary key's index.
  const jobId = typeof given === 'string' && given.length > 0 && given.length <= JOB_ID_MAX ? given : messageId;
  return { jobId, type: definition.type, payload: body ?? null, metadata: {} };
}

/**
 * Beats every `liveness.intervalMs` while the handler runs: one UPDATE of the attempt's row by
 * primary key. A failed beat is logged and the next one tried (a database blip must not fail the
 * run); a beat that finds the attempt closed means it was taken for lost, and beating stops.
 */
function startHeartbeat(deps: DeliveryDeps, attemptId: number, log: Logger): { stop: () => void } {
  let beating: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (beating) return;
    beating = recordHeartbeat(deps.db, attemptId)
      .then((open) => {
        // A beat that lands after the outcome was recorded finds the attempt closed by us.
        if (open || stopped) return;
        clearInterval(timer);
        log.warn('[jobs] Heartbeat found the attempt closed: it was taken for lost while still running', { attemptId });
      })
      .catch((error: unknown) => {
        log.warn('[jobs] Heartbeat failed', { attemptId, error: errorMessage(error) });
      })
      .finally(() => (beating = undefined));
  }, deps.liveness.intervalMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** Runs a handler under its type's timeout (JobTimeoutError, and its signal aborted, past it): the worker's run and testJob's. */
export async function runHandler(
  definition: JobDefinition,
  payload: unknown,
  envelope: JobEnvelope,
  context: { db: Database; logger: Logger },
): Promise<unknown> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new JobTimeoutError(definition.timeoutSeconds);
      controller.abort(error);
      reject(error);
    }, definition.timeoutSeconds * 1000);
  });
  try {
    return await Promise.race([definition.handler(payload, envelope, { ...context, signal: controller.signal }), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
