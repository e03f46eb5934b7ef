import type { Receiver } from '@upstash/qstash';
import { PROBE_FIELD, probeNonce } from '../checks/probe.js';
import { isDatabaseUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../db/client.js';
import type { Jobs } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import type { DeliveryOutcome, RecordedOutcome } from '../jobs/worker.js';
import { limitedText } from '../request-body.js';
import { json } from './respond.js';

/** QStash's status for "never retry this": with `Upstash-NonRetryable-Error: true`. */
export const NON_RETRYABLE_STATUS = 489;

/** The status code QStash hears for a recorded outcome: only 2xx is success, 489 stops retries. */
export function answerStatus(outcome: RecordedOutcome): number {
  switch (outcome.kind) {
    case 'completed':
      return 200;
    case 'rejected':
      return NON_RETRYABLE_STATUS;
    case 'failed':
      return outcome.nonRetryable ? NON_RETRYABLE_STATUS : 500;
  }
}

const nonRetryable = { 'Upstash-NonRetryable-Error': 'true' };

/** The answer to QStash for an outcome: status, headers and a JSON body an operator can read. */
export function answerFor(outcome: DeliveryOutcome): Response {
  const { jobId } = outcome;
  switch (outcome.kind) {
    case 'rejected':
      return json(NON_RETRYABLE_STATUS, { error: 'Invalid job payload', jobId, issues: outcome.issues }, nonRetryable);
    case 'settled':
      return json(200, { jobId, status: outcome.status, ...(outcome.reason === 'cancelled' ? { skipped: true } : { duplicate: true }) });
    case 'replay':
      return json(outcome.answeredStatus, { jobId, status: outcome.status, duplicate: true });
    case 'busy':
      return json(409, { jobId, error: 'Job is already running; retry later' }, { 'Retry-After': String(outcome.retryAfterSeconds) });
    case 'completed':
      return json(200, { jobId, status: 'completed' });
    case 'superseded':
      // This delivery's run lost the job to a takeover; the delivery that took it over answers for it.
      return json(200, { jobId, superseded: true });
    case 'failed': {
      const body = { jobId, status: outcome.status, error: outcome.error };
      return outcome.nonRetryable ? json(NON_RETRYABLE_STATUS, body, nonRetryable) : json(500, body);
    }
  }
}

class MissingSignature extends Error {}

export interface WorkerEndpointDeps {
  jobs: Jobs;
  receiver: Receiver;
  /** Public URL of the worker endpoints' root (base URL + base path): signatures name it. */
  publicUrl: () => string;
  logger: Logger;
  /** Largest delivery body read (http.workerMaxBodyKiB); 413 beyond it. */
  maxBodyBytes: number;
}

/**
 * The worker endpoints, one per registered job type, at `path` (the request path below the base
 * path). Answers undefined for paths that are not a worker endpoint, so the router can go on.
 */
export function createWorkerEndpoint(deps: WorkerEndpointDeps) {
  return async function handleWorkerRequest(request: Request, path: string, search: string): Promise<Response | undefined> {
    const definition = deps.jobs.registry.forEndpoint(path);
    if (!definition) return undefined;
    if (request.method !== 'POST') {
      return json(
        405,
        {
          endpoint: path,
          jobType: definition.type,
          message: 'Worker endpoint is up. QStash delivers jobs here with a signed POST.',
        },
        { Allow: 'POST' },
      );
    }

    // The signature covers the raw bytes: read them before anything parses the body. One too large
    // cannot be verified, so nothing is recorded for it: 413, which QStash retries to its DLQ.
    const body = await limitedText(request, deps.maxBodyBytes);
    if (body === 'badLength') return json(400, { error: 'Content-Length header is invalid' });
    if (body === 'tooLarge') {
      deps.logger.warn('[jobs] Delivery body too large', { path, maxBytes: deps.maxBodyBytes, contentLength: request.headers.get('content-length') });
      return json(413, { error: `Delivery body larger than ${deps.maxBodyBytes} bytes (WORKER_MAX_BODY_KIB)` });
    }
    const signature = request.headers.get('upstash-signature');
    const signedUrl = deps.publicUrl() + path + search;
    try {
      if (!signature) throw new MissingSignature();
      await deps.receiver.verify({ signature, body, url: signedUrl });
    } catch (error) {
      const reason = error instanceof MissingSignature ? undefined : error instanceof Error ? error.message : String(error);
      deps.logger.warn('[jobs] Invalid QStash signature', { path, expectedUrl: signedUrl, reason: reason ?? 'missing Upstash-Signature header' });
      // Kept (bounded) for systemCheck and the diagnosis; the answer does not wait for it.
      void deps.jobs.recordSignatureFailure({ messageId: request.headers.get('upstash-message-id'), path, checkedUrl: signedUrl, error: reason });
      return json(401, { error: 'Invalid QStash signature' });
    }

    // systemCheck's signed self-probe (checks/probe.ts): the path from outside in works; no job runs.
    const probe = probeNonce(body);
    if (probe !== undefined) return json(200, { [PROBE_FIELD]: probe, jobType: definition.type });

    const messageId = request.headers.get('upstash-message-id');
    if (!messageId) return json(400, { error: 'Missing Upstash-Message-Id header' });
    const retried = Number.parseInt(request.headers.get('upstash-retried') ?? '0', 10);

    try {
      const outcome = await deps.jobs.deliver({
        definition,
        body,
        messageId,
        scheduleId: request.headers.get('upstash-schedule-id') || undefined,
        retried: Number.isFinite(retried) && retried >= 0 ? retried : 0,
      });
      return answerFor(outcome);
    } catch (error) {
      // Nothing committed for this outcome: a 5xx makes QStash deliver it again; while the database
      // is down, a 503 whose Retry-After spaces QStash's next attempt.
      const unavailable = isDatabaseUnavailable(error);
      deps.logger.error(unavailable ? '[jobs] Delivery not recorded: the database is unavailable' : '[jobs] Recording the delivery failed', {
        jobType: definition.type,
        messageId,
        error: error instanceof Error ? error.message : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
      if (unavailable) {
        return json(503, { error: 'The database is unavailable; QStash will retry' }, { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) });
      }
      return json(500, { error: 'Could not record the job run; QStash will retry' });
    }
  };
}
