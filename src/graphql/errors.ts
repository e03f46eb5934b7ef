import { GraphQLError } from 'graphql';
import {
  InvalidArgumentError,
  InvalidPayloadError,
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
  | 'PUBLISH_FAILED';

export function expectedError(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}

export function badUserInput(message: string, argument?: string): GraphQLError {
  return expectedError('BAD_USER_INPUT', message, argument ? { argument } : {});
}

/**
 * The typed domain errors as GraphQL errors with a code; anything else is returned unchanged, so
 * Yoga masks it as an unexpected error.
 */
export function toGraphQLError(error: unknown): unknown {
  if (error instanceof InvalidArgumentError) return badUserInput(error.message, error.argument);
  if (error instanceof UnknownJobTypeError) {
    return expectedError('UNKNOWN_JOB_TYPE', error.message, { jobType: error.jobType, knownJobTypes: error.known });
  }
  if (error instanceof InvalidPayloadError) {
    return expectedError('INVALID_PAYLOAD', error.message, { jobType: error.jobType, issues: error.issues });
  }
  if (error instanceof JobNotFoundError) return expectedError('JOB_NOT_FOUND', error.message, { jobId: error.jobId });
  if (error instanceof JobNotRetryableError) {
    return expectedError('JOB_NOT_RETRYABLE', error.message, { jobId: error.jobId, status: error.status.toUpperCase() });
  }
  if (error instanceof JobNotCancellableError) {
    return expectedError('JOB_NOT_CANCELLABLE', error.message, { jobId: error.jobId, status: error.status.toUpperCase() });
  }
  if (error instanceof PublishError) return expectedError('PUBLISH_FAILED', error.message, { jobId: error.jobId });
  return error;
}

/** Runs a domain call, turning its typed errors into coded GraphQL errors. */
export async function domain<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toGraphQLError(error);
  }
}
