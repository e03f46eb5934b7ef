import { GraphQLError } from 'graphql';
import { maskError as defaultMaskError, type MaskError } from 'graphql-yoga';
import { isDatabaseUnavailable, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../db/client.js';
import {
  InvalidArgumentError,
  InvalidPayloadError,
  JobEventsBehindError,
  JobEventsLostError,
  JobNotFoundError,
  JobNotCancellableError,
  JobNotRetryableError,
  UnknownJobTypeError,
  BulkOperationNotFoundError,
  BulkTooLargeError,
  DeadLetterNotFoundError,
  QStashRequestError,
  QueuesDisabledError,
  ScheduleNotFoundError,
  AlertRuleNotFoundError,
  AlertEventNotFoundError,
  DefaultAlertRuleError,
} from '../jobs/errors.js';

/** `extensions.code` of the errors a client is expected to handle. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNKNOWN_JOB_TYPE'
  | 'INVALID_PAYLOAD'
  | 'JOB_NOT_FOUND'
  | 'JOB_NOT_RETRYABLE'
  | 'JOB_NOT_CANCELLABLE'
  | 'EVENTS_BEHIND'
  | 'SERVICE_UNAVAILABLE'
  | 'EVENTS_LOST'
  | 'BULK_OPERATION_NOT_FOUND'
  | 'BULK_TOO_LARGE'
  | 'DEAD_LETTER_NOT_FOUND'
  | 'SCHEDULE_NOT_FOUND'
  | 'QSTASH_ERROR'
  | 'QUEUES_DISABLED'
  | 'ALERT_RULE_NOT_FOUND'
  | 'ALERT_EVENT_NOT_FOUND'
  | 'DEFAULT_ALERT_RULE';

/** The database could not be reached: HTTP 503 with Retry-After, the driver's words left to the log. */
export function serviceUnavailable(): GraphQLError {
  return new GraphQLError('The database is unavailable; try again later', {
    extensions: {
      code: 'SERVICE_UNAVAILABLE',
      http: { status: 503, headers: { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) } },
    },
  });
}

export function expectedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export function badUserInput(message: string, argument?: string): GraphQLError {
  return expectedError('BAD_USER_INPUT', message, argument ? { argument } : {});
}

/** The `extensions` of a typed domain error, or undefined for anything else (which stays masked). */
function codedExtensions(error: unknown): { code: ErrorCode; [key: string]: unknown } | undefined {
  if (error instanceof InvalidArgumentError) return { code: error.code, argument: error.argument };
  if (error instanceof UnknownJobTypeError) return { code: error.code, jobType: error.jobType, knownJobTypes: error.known };
  if (error instanceof InvalidPayloadError) return { code: error.code, jobType: error.jobType, issues: error.issues };
  if (error instanceof JobNotFoundError) return { code: error.code, jobId: error.jobId };
  if (error instanceof JobNotRetryableError) return { code: error.code, jobId: error.jobId, status: error.status.toUpperCase() };
  if (error instanceof JobNotCancellableError) {
    return { code: error.code, jobId: error.jobId, status: error.status.toUpperCase() };
  }
  if (error instanceof JobEventsBehindError) return { code: error.code, queued: error.queued };
  if (error instanceof JobEventsLostError) return { code: error.code, gapSeconds: Math.round(error.gapMs / 1000) };
  if (error instanceof BulkOperationNotFoundError) return { code: error.code, operationId: error.operationId };
  if (error instanceof BulkTooLargeError) return { code: error.code, matched: error.matched, maxJobs: error.maxJobs };
  if (error instanceof DeadLetterNotFoundError) return { code: error.code, dlqIds: error.dlqIds };
  if (error instanceof ScheduleNotFoundError) return { code: error.code, scheduleId: error.scheduleId };
  if (error instanceof QStashRequestError) return { code: error.code, status: error.status ?? null };
  if (error instanceof QueuesDisabledError) return { code: error.code };
  if (error instanceof AlertRuleNotFoundError) return { code: error.code, ruleId: error.ruleId };
  if (error instanceof AlertEventNotFoundError) return { code: error.code, eventId: error.eventId };
  if (error instanceof DefaultAlertRuleError) return { code: error.code, ruleId: error.ruleId };
  return undefined;
}

/**
 * An error graphql-js raised itself without a code: variable coercion (an invalid DateTime, an
 * unknown enum value, a wrong type, null for a non-null variable) and argument coercion while
 * executing. Validation and parse errors arrive coded by Yoga. Request-level ones (no path: nothing
 * ran) get HTTP 400 under `application/graphql-response+json`, as Yoga does for validation errors.
 */
function uncodedGraphQLError(error: unknown): GraphQLError | undefined {
  if (!(error instanceof GraphQLError) || error.extensions?.code !== undefined) return undefined;
  const original = error.originalError;
  if (original !== undefined && !(original instanceof GraphQLError && original.extensions?.code === undefined)) return undefined;
  const http = (error.extensions?.http ?? (error.path ? undefined : { spec: true, status: 400 })) as unknown;
  // Yoga's own request errors without a code (a missing query, a wrong method) carry a 4xx status.
  const code = error.extensions?.http && !error.path ? 'BAD_REQUEST' : 'BAD_USER_INPUT';
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { ...error.extensions, code, ...(http ? { http } : {}) },
  });
}

/**
 * Yoga's `maskedErrors.maskError`: the one place errors become coded GraphQL errors (message and
 * `extensions.code` kept, location and path too): typed domain errors, graphql-js's own uncoded
 * input errors (BAD_USER_INPUT), a database that cannot be reached (SERVICE_UNAVAILABLE, 503).
 * GraphQLErrors thrown on purpose pass through; anything else is masked as "Unexpected error.".
 */
export const maskError: MaskError = (error, message, isDev) => {
  const uncoded = uncodedGraphQLError(error);
  if (uncoded) return uncoded;
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (isDatabaseUnavailable(original)) {
    const unavailable = serviceUnavailable();
    return error instanceof GraphQLError
      ? new GraphQLError(unavailable.message, { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path, extensions: unavailable.extensions })
      : unavailable;
  }
  const extensions = codedExtensions(original);
  if (!extensions || !(original instanceof Error)) return defaultMaskError(error, message, isDev);
  return new GraphQLError(original.message, {
    ...(error instanceof GraphQLError ? { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path } : {}),
    extensions,
  });
};
