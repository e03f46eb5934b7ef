import type { z } from 'zod';

/** Where in a value an issue is: object keys and array indexes, outermost first (zod's `issue.path`). */
export type PayloadPath = (string | number)[];

/** A problem in one field of a payload, as zod reports it: `{ path: ['to', 1], message: 'Invalid email address' }`. */
export interface PayloadIssue {
  /** Keys and indexes from the payload's root; `[]` for the payload as a whole. */
  path: PayloadPath;
  message: string;
}

/** zod's issues as PayloadIssues, each path under `prefix` (e.g. `['payload']` inside an envelope). */
export function toPayloadIssues(error: z.ZodError, prefix: PayloadPath = []): PayloadIssue[] {
  return error.issues.map((i) => ({
    path: [...prefix, ...i.path.map((key) => (typeof key === 'number' ? key : String(key)))],
    message: i.message,
  }));
}

/** A path as a person reads it: `to[1]`, `payload.items[0].sku`; `''` for the root. */
export function formatPath(path: readonly (string | number)[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

/** The issues in one line, for stored errors and logs: `to: Invalid email address; subject: Too small`. */
export function formatIssues(issues: readonly PayloadIssue[]): string {
  return issues.map((i) => (i.path.length > 0 ? `${formatPath(i.path)}: ${i.message}` : i.message)).join('; ');
}

/**
 * An error a caller is expected to handle: its `code` is what GraphQL's `extensions.code` and the
 * audit log's outcome say. The domain names the code; each surface decides how to answer it.
 */
export abstract class CodedError extends Error {
  abstract readonly code: string;
}

/** The code of a domain error; `INTERNAL_SERVER_ERROR` for anything unexpected. */
export function errorCode(error: unknown): string {
  return error instanceof CodedError ? error.code : 'INTERNAL_SERVER_ERROR';
}

/** No job type of that name is registered. */
export class UnknownJobTypeError extends CodedError {
  override name = 'UnknownJobTypeError';
  readonly code = 'UNKNOWN_JOB_TYPE';
  constructor(readonly jobType: string, readonly known: readonly string[]) {
    super(`Unknown job type "${jobType}" (registered: ${known.join(', ') || 'none'})`);
  }
}

/** The payload fails its job type's zod schema; nothing was written. */
export class InvalidPayloadError extends CodedError {
  override name = 'InvalidPayloadError';
  readonly code = 'INVALID_PAYLOAD';
  constructor(readonly jobType: string, readonly issues: PayloadIssue[]) {
    super(`Invalid job payload for "${jobType}": ${formatIssues(issues)}`);
  }
}

/** The handler ran past its job type's timeout. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
  /** How every timed-out attempt's `error` begins (the diagnosis reads it). */
  static readonly PREFIX = 'Job timed out after';
  constructor(readonly timeoutSeconds: number) {
    super(`${JobTimeoutError.PREFIX} ${timeoutSeconds}s`);
  }
}

/**
 * Thrown by a handler for a failure that can never succeed on retry: the job fails at once and
 * QStash is told not to retry (489 + Upstash-NonRetryable-Error).
 */
export class NonRetryableJobError extends Error {
  override name = 'NonRetryableJobError';
}

/**
 * Whether a handler's error asks for no retry. By name as well as class: a team's config file or
 * handler module may load another copy of jobscope than the server runs (a bundler, a loader).
 */
export function isNonRetryable(error: unknown): boolean {
  return error instanceof NonRetryableJobError || (error instanceof Error && error.name === 'NonRetryableJobError');
}

/** A caller's argument is out of range or malformed (page size, cursor, time window); nothing ran. */
export class InvalidArgumentError extends CodedError {
  override name = 'InvalidArgumentError';
  readonly code = 'BAD_USER_INPUT';
  constructor(readonly argument: string, message: string) {
    super(message);
  }
}

/** A page's size: `first` as given, else the default; InvalidArgumentError outside 1…max. */
export function pageSize(first: number | undefined, { fallback, max }: { fallback: number; max: number }): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) throw new InvalidArgumentError('first', `"first" must be between 1 and ${max}`);
  return size;
}

/** No job has that id. */
export class JobNotFoundError extends CodedError {
  override name = 'JobNotFoundError';
  readonly code = 'JOB_NOT_FOUND';
  constructor(readonly jobId: string) {
    super(`No job with id ${jobId}`);
  }
}

/** The job is in a state a manual retry may not interrupt or repeat (e.g. completed, retrying). */
export class JobNotRetryableError extends CodedError {
  override name = 'JobNotRetryableError';
  readonly code = 'JOB_NOT_RETRYABLE';
  constructor(readonly jobId: string, readonly status: string) {
    super(`Job ${jobId} is ${status} and cannot be retried (only failed, cancelled or stuck jobs can)`);
  }
}

export class JobNotCancellableError extends CodedError {
  override name = 'JobNotCancellableError';
  readonly code = 'JOB_NOT_CANCELLABLE';
  constructor(readonly jobId: string, readonly status: string) {
    super(`Job ${jobId} is ${status} and cannot be cancelled (only pending or retrying jobs can)`);
  }
}

/**
 * An error's message followed by its causes' (`fetch failed (connect ECONNREFUSED …)`), so that a
 * stored or logged error says what actually went wrong.
 */
export function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return typeof error === 'string' ? error : JSON.stringify(error);
  const cause = error.cause instanceof Error ? errorMessage(error.cause) : undefined;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}

/** A listener of the event bus fell so far behind that its queue reached its bound; it was ended. */
export class JobEventsBehindError extends CodedError {
  override name = 'JobEventsBehindError';
  readonly code = 'EVENTS_BEHIND';
  constructor(readonly queued: number) {
    super(`Job events arrived faster than they could be handled: ${queued} were waiting; the subscription ended`);
  }
}

/**
 * The event bus was deaf (its database connection lost) for longer than the event log keeps
 * events, so some events of that time may never be delivered; the subscription ended.
 */
export class JobEventsLostError extends CodedError {
  override name = 'JobEventsLostError';
  readonly code = 'EVENTS_LOST';
  constructor(readonly gapMs: number, readonly retentionMs: number) {
    super(
      `Job events may have been lost: the event stream was disconnected from the database for ${Math.round(gapMs / 1000)} s, ` +
        `longer than the event log keeps events (${Math.round(retentionMs / 1000)} s); the subscription ended, subscribe again`,
    );
  }
}

/** No bulk operation has that id. */
export class BulkOperationNotFoundError extends CodedError {
  override name = 'BulkOperationNotFoundError';
  readonly code = 'BULK_OPERATION_NOT_FOUND';
  constructor(readonly operationId: string) {
    super(`No bulk operation with id ${operationId}`);
  }
}

/** A bulk operation would name more jobs than `bulk.maxJobs` allows; nothing was started. */
export class BulkTooLargeError extends CodedError {
  override name = 'BulkTooLargeError';
  readonly code = 'BULK_TOO_LARGE';
  constructor(readonly matched: number, readonly maxJobs: number) {
    super(
      `The filter matches ${matched} jobs, more than one bulk operation may act on (${maxJobs}, JOBSCOPE_BULK_MAX_JOBS); ` +
        'narrow the filter (e.g. by createdAfter/createdBefore) and run several',
    );
  }
}

/** No dead letter (QStash DLQ message) has one of these ids; nothing was changed. */
export class DeadLetterNotFoundError extends CodedError {
  override name = 'DeadLetterNotFoundError';
  readonly code = 'DEAD_LETTER_NOT_FOUND';
  constructor(readonly dlqIds: readonly string[]) {
    super(`No dead letter with id ${dlqIds.join(', ')}`);
  }
}

/** No QStash schedule has that id. */
export class ScheduleNotFoundError extends CodedError {
  override name = 'ScheduleNotFoundError';
  readonly code = 'SCHEDULE_NOT_FOUND';
  constructor(readonly scheduleId: string) {
    super(`No schedule with id ${scheduleId}`);
  }
}

/** QStash refused a request about its own state (DLQ, schedules) or could not be reached. */
export class QStashRequestError extends CodedError {
  override name = 'QStashRequestError';
  readonly code = 'QSTASH_ERROR';
  constructor(readonly status: number | undefined, options: { cause: unknown }) {
    super(`QStash answered ${status ?? 'nothing'}: ${errorMessage(options.cause)}`, options);
  }
}

/** Per-type queues are off (`queues.enabled: false`): job types publish straight to their endpoints. */
export class QueuesDisabledError extends CodedError {
  override name = 'QueuesDisabledError';
  readonly code = 'QUEUES_DISABLED';
  constructor() {
    super('Per-type QStash queues are off (queues.enabled: false, JOBSCOPE_QUEUES=off), so a job type cannot be paused or resumed');
  }
}

/** No alert rule has that id. */
export class AlertRuleNotFoundError extends CodedError {
  override name = 'AlertRuleNotFoundError';
  readonly code = 'ALERT_RULE_NOT_FOUND';
  constructor(readonly ruleId: string) {
    super(`No alert rule with id ${ruleId}`);
  }
}

/** No alert event has that id. */
export class AlertEventNotFoundError extends CodedError {
  override name = 'AlertEventNotFoundError';
  readonly code = 'ALERT_EVENT_NOT_FOUND';
  constructor(readonly eventId: string) {
    super(`No alert event with id ${eventId}`);
  }
}

/** The guide's two alerts follow the configuration: they are disabled or muted, not deleted. */
export class DefaultAlertRuleError extends CodedError {
  override name = 'DefaultAlertRuleError';
  readonly code = 'DEFAULT_ALERT_RULE';
  constructor(readonly ruleId: string) {
    super(`Alert rule ${ruleId} is one of the default rules (the guide's two alerts, written from the configuration): turn it off with updateAlertRule(enabled: false) or muteAlertRule instead of deleting it`);
  }
}
