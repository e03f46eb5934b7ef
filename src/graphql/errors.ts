import { GraphQLError } from 'graphql';
import { maskError as defaultMaskError, type MaskError } from 'graphql-yoga';
import {
  InvalidArgumentError,
  InvalidPayloadError,
  JobEventsBehindError,
  JobEventsLostError,
  JobNotFoundError,
  JobNotCancellableError,
  JobNotRetryableError,
  PublishError,
  UnknownJobTypeError,
} from '../jobs/errors.js';

/** `extensions.code` of the errors a client is expected to handle. */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNKNOWN_JOB_TYPE'
  | 'INVALID_PAYLOAD'
  | 'JOB_NOT_FOUND'
  | 'JOB_NOT_RETRYABLE'
  | 'JOB_NOT_CANCELLABLE'
  | 'PUBLISH_FAILED'
  | 'EVENTS_BEHIND'
  | 'EVENTS_LOST';

export function expectedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export function badUserInput(message: string, argument?: string): GraphQLError {
  return expectedError('BAD_USER_INPUT', message, argument ? { argument } : {});
}

/** The `extensions` of a typed domain error, or undefined for anything else (which stays masked). */
function codedExtensions(error: unknown): { code: ErrorCode; [key: string]: unknown } | undefined {
  if (error instanceof InvalidArgumentError) return { code: 'BAD_USER_INPUT', argument: error.argument };
  if (error instanceof UnknownJobTypeError) return { code: 'UNKNOWN_JOB_TYPE', jobType: error.jobType, knownJobTypes: error.known };
  if (error instanceof InvalidPayloadError) return { code: 'INVALID_PAYLOAD', jobType: error.jobType, issues: error.issues };
  if (error instanceof JobNotFoundError) return { code: 'JOB_NOT_FOUND', jobId: error.jobId };
  if (error instanceof JobNotRetryableError) return { code: 'JOB_NOT_RETRYABLE', jobId: error.jobId, status: error.status.toUpperCase() };
  if (error instanceof JobNotCancellableError) {
    return { code: 'JOB_NOT_CANCELLABLE', jobId: error.jobId, status: error.status.toUpperCase() };
  }
  if (error instanceof PublishError) return { code: 'PUBLISH_FAILED', jobId: error.jobId };
  if (error instanceof JobEventsBehindError) return { code: 'EVENTS_BEHIND', queued: error.queued };
  if (error instanceof JobEventsLostError) return { code: 'EVENTS_LOST', gapSeconds: Math.round(error.gapMs / 1000) };
  return undefined;
}

/**
 * Yoga's `maskedErrors.maskError`: the one place typed domain errors become coded GraphQL errors
 * (message and `extensions.code` kept, location and path too). GraphQLErrors thrown on purpose
 * pass through; anything else is masked as "Unexpected error." by Yoga's default.
 */
export const maskError: MaskError = (error, message, isDev) => {
  const original = error instanceof GraphQLError ? error.originalError : error;
  const extensions = codedExtensions(original);
  if (!extensions || !(original instanceof Error)) return defaultMaskError(error, message, isDev);
  return new GraphQLError(original.message, {
    ...(error instanceof GraphQLError ? { nodes: error.nodes, source: error.source, positions: error.positions, path: error.path } : {}),
    extensions,
  });
};
