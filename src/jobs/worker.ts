import { z } from 'zod';
import type { Database } from '../db/client.js';
import type { JobEnvelope } from '../db/schema.js';
import type { Logger } from '../logger.js';
import {
  errorMessage,
  formatIssues,
  JobTimeoutError,
  NonRetryableJobError,
  toPayloadIssues,
  type PayloadIssue,
} from './errors.js';
import { beginAttempt, finishAttempt, recordRejectedDelivery, type DeliveryKey } from './recorder.js';
import type { JobDefinition } from './registry.js';

/** QStash's status for "never retry this": with `Upstash-NonRetryable-Error: true`. */
export const NON_RETRYABLE_STATUS = 489;

const EnvelopeSchema = z.object({
  jobId: z.string().min(1).max(200),
  type: z.string().min(1),
  payload: z.unknown(),
  metadata: z.record(z.string(), z.unknown()).optional().default({}),
});

export interface Delivery extends DeliveryKey {
  definition: JobDefinition;
  /** The request body exactly as received (already signature-checked). */
  body: string;
}

/** What the worker endpoint answers QStash. */
export interface DeliveryAnswer {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
}

/**
 * Runs one verified delivery: validate, record the attempt, run the handler under its timeout,
 * record the outcome. It returns only after the outcome is committed, so a 2xx is never sent
 * for a run the database does not hold.
 */
export async function processDelivery(deps: { db: Database; logger: Logger }, delivery: Delivery): Promise<DeliveryAnswer> {
  const { definition, messageId, retried } = delivery;
  const validated = validateDelivery(delivery);
  const log = deps.logger.child({ jobId: validated.envelope.jobId, jobType: definition.type, messageId });

  if (!validated.ok) {
    const error = `Invalid job payload: ${formatIssues(validated.issues)}`;
    await recordRejectedDelivery(deps.db, {
      envelope: validated.envelope,
      messageId,
      retried,
      maxRetries: definition.retries,
      error,
      httpStatus: NON_RETRYABLE_STATUS,
    });
    log.warn('[jobs] Job processing failed', { jobId: validated.envelope.jobId, type: definition.type, error, event: 'failed' });
    return nonRetryableAnswer({ error: 'Invalid job payload', jobId: validated.envelope.jobId, issues: validated.issues });
  }

  const { envelope, payload } = validated;
  const start = await beginAttempt(deps.db, {
    envelope,
    messageId,
    retried,
    maxRetries: definition.retries,
    timeoutSeconds: definition.timeoutSeconds,
  });
  switch (start.kind) {
    case 'settled':
      if (start.execution.status === 'cancelled') {
        log.info('[jobs] Delivery of a cancelled job acknowledged without running');
        return { status: 200, body: { jobId: envelope.jobId, status: 'cancelled', skipped: true } };
      }
      log.info('[jobs] Duplicate delivery acknowledged without running', { status: start.execution.status });
      return { status: 200, body: { jobId: envelope.jobId, status: start.execution.status, duplicate: true } };
    case 'replay':
      log.info('[jobs] Duplicate delivery answered as before', { httpStatus: start.httpStatus });
      return { status: start.httpStatus, body: { jobId: envelope.jobId, status: start.execution.status, duplicate: true } };
    case 'busy':
      log.info('[jobs] Delivery deferred: another attempt of this job is running');
      return {
        status: 409,
        body: { jobId: envelope.jobId, error: 'Job is already running; retry later' },
        headers: { 'Retry-After': String(start.retryAfterSeconds) },
      };
    case 'run':
      break;
  }

  const maxRetries = start.execution.maxRetries;
  const startedAt = start.execution.startedAt ?? new Date();
  log.info('[jobs] Processing job', { jobId: envelope.jobId, type: envelope.type, attempt: retried, event: 'started' });
  try {
    const result = await runHandler(definition, payload, envelope, { db: deps.db, logger: log });
    await finishAttempt(deps.db, {
      attemptId: start.attemptId,
      jobId: envelope.jobId,
      startedAt,
      httpStatus: 200,
      outcome: { kind: 'completed', result },
    });
    log.info('[jobs] Job processed successfully', {
      jobId: envelope.jobId,
      type: envelope.type,
      durationMs: Date.now() - startedAt.getTime(),
      event: 'completed',
    });
    return { status: 200, body: { jobId: envelope.jobId, status: 'completed' } };
  } catch (thrown) {
    const error = errorMessage(thrown);
    const nonRetryable = thrown instanceof NonRetryableJobError;
    const final = nonRetryable || retried >= maxRetries;
    const httpStatus = nonRetryable ? NON_RETRYABLE_STATUS : 500;
    const recorded = await finishAttempt(deps.db, {
      attemptId: start.attemptId,
      jobId: envelope.jobId,
      startedAt,
      httpStatus,
      outcome: { kind: 'failed', error, final },
    });
    log.error('[jobs] Job processing failed', {
      jobId: envelope.jobId,
      type: envelope.type,
      error,
      attempt: retried,
      willRetry: !final,
      event: recorded.status,
      ...(thrown instanceof Error && !(thrown instanceof JobTimeoutError) ? { stack: thrown.stack } : {}),
    });
    const body = { jobId: envelope.jobId, status: recorded.status, error };
    return nonRetryable ? nonRetryableAnswer(body) : { status: httpStatus, body };
  }
}

type Validated =
  | { ok: true; envelope: JobEnvelope; payload: unknown }
  | { ok: false; envelope: JobEnvelope; issues: PayloadIssue[] };

function validateDelivery({ body, definition, messageId }: Delivery): Validated {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, envelope: fallbackEnvelope(definition, messageId, body), issues: [{ path: [], message: 'body is not JSON' }] };
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
  const jobId =
    body && typeof body === 'object' && typeof (body as { jobId?: unknown }).jobId === 'string' && (body as { jobId: string }).jobId
      ? (body as { jobId: string }).jobId
      : messageId;
  return { jobId, type: definition.type, payload: body ?? null, metadata: {} };
}

async function runHandler(
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


function nonRetryableAnswer(body: Record<string, unknown>): DeliveryAnswer {
  return { status: NON_RETRYABLE_STATUS, body, headers: { 'Upstash-NonRetryable-Error': 'true' } };
}
