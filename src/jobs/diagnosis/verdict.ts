/**
 * Why a job is where it is: the verdict a diagnosis gives from the evidence jobscope recorded (the
 * job row, its attempts, its publish request) and QStash's own log of the job's messages. A pure
 * function of that evidence (evidence.ts gathers it), so every verdict has one rule, here.
 *
 * The guide's failure scenarios map onto verdicts: "job not enqueueing" (PUBLISH_FAILED),
 * "job stuck in pending" (ENDPOINT_UNREACHABLE, SIGNATURE_INVALID, NOT_DELIVERED_YET),
 * "high failure rate" (HANDLER_ERROR, PAYLOAD_INVALID), "timeout errors" (TIMEOUT); WORKER_LOST
 * is the crash, kill or deploy mid-run.
 */
import type { JobAttempt, JobExecution } from '../../db/schema.js';
import { JobTimeoutError } from '../errors.js';
import { WORKER_LOST } from '../recorder.js';
import { INVALID_PAYLOAD_PREFIX } from '../worker.js';

export const VERDICTS = [
  'HEALTHY',
  'RUNNING',
  'NOT_DELIVERED_YET',
  'RETRYING',
  'CANCELLED',
  'PAYLOAD_INVALID',
  'TIMEOUT',
  'HANDLER_ERROR',
  'WORKER_LOST',
  'ENDPOINT_UNREACHABLE',
  'SIGNATURE_INVALID',
  'PUBLISH_FAILED',
] as const;
export type Verdict = (typeof VERDICTS)[number];

/** What failed an attempt, from its recorded error (each kind's words are defined where the error is made). */
export type AttemptFailure = 'PAYLOAD_INVALID' | 'TIMEOUT' | 'WORKER_LOST' | 'HANDLER_ERROR';

export function attemptFailure(error: string | null): AttemptFailure | undefined {
  if (error === null) return undefined;
  if (error.startsWith(INVALID_PAYLOAD_PREFIX)) return 'PAYLOAD_INVALID';
  if (error.startsWith(JobTimeoutError.PREFIX)) return 'TIMEOUT';
  if (error.startsWith(WORKER_LOST)) return 'WORKER_LOST';
  return 'HANDLER_ERROR';
}

/** One entry of QStash's log for one of the job's messages. */
export interface QStashLogEntry {
  messageId: string;
  state: string;
  time: Date;
  error: string | null;
  responseStatus: number | null;
  /** Where QStash delivered (or tried to deliver) the message. */
  url: string | null;
}

/** Everything a verdict is decided from. */
export interface Evidence {
  job: JobExecution;
  /** Oldest first. */
  attempts: JobAttempt[];
  publish: { state: 'queued' | 'published' | 'failed'; attempts: number; lastError: string | null; notBefore: Date | null; publishedAt: Date | null } | undefined;
  /** The type's definition today; undefined for a type no longer registered. */
  definition: { timeoutSeconds: number; retries: number; endpoint: string } | undefined;
  /** The URL QStash delivers this type to (BASE_URL + base path + endpoint). */
  endpointUrl: string | undefined;
  /** QStash's log for the job's messages, oldest first; undefined when QStash could not be asked (`qstashError`). */
  qstashLog: QStashLogEntry[] | undefined;
  qstashError: string | undefined;
  /** The worker's record of deliveries of the job's messages it rejected for their signature, newest first. */
  signatureFailures: Array<{ at: Date; messageId: string | null; reason: string; checkedUrl: string; signedUrl: string | null }>;
  /** Whether the type's QStash queue is paused (undefined: unknown or queues off). */
  typePaused: boolean | undefined;
  /** Messages waiting their turn in the type's QStash queue (undefined: unknown or queues off). */
  queueLag: number | undefined;
  /** How long past its due time a published job may wait for its first delivery before that is a finding (the policy's stuck threshold). */
  overdueAfterMs: number;
  /** The open attempt's worker is gone (missed its heartbeats), judged by the recorder's rule. */
  openAttemptLost: boolean;
  now: Date;
}

/** The failed deliveries of the job's latest message, as QStash's log tells them. */
export function failedDeliveries(evidence: Evidence): QStashLogEntry[] {
  const latest = evidence.job.messageId;
  return (evidence.qstashLog ?? []).filter((entry) => (entry.state === 'ERROR' || entry.state === 'FAILED') && (latest === null || entry.messageId === latest));
}

/**
 * A published job still `pending` that QStash says it delivered, with no attempt of that message
 * here: the delivery went to another deployment (a BASE_URL that names another host).
 */
export function deliveredElsewhere(evidence: Evidence): QStashLogEntry | undefined {
  const latest = evidence.job.messageId;
  if (latest === null || evidence.attempts.some((attempt) => attempt.messageId === latest)) return undefined;
  return (evidence.qstashLog ?? []).find((entry) => entry.messageId === latest && entry.state === 'DELIVERED');
}

/**
 * How long a published, not delayed job has been waiting past its due time (its publish, or its
 * `notBefore`) with no attempt, when that is longer than `overdueAfterMs` and nothing explains it
 * (its queue paused, messages ahead of it); undefined otherwise. The guide's "stuck in pending".
 */
export function overdueMs(evidence: Evidence): number | undefined {
  const { publish } = evidence;
  if (evidence.job.status !== 'pending' || publish?.state !== 'published' || evidence.attempts.length > 0) return undefined;
  if (evidence.typePaused || (evidence.queueLag ?? 0) > 0) return undefined;
  const due = Math.max(publish.publishedAt?.getTime() ?? evidence.job.createdAt.getTime(), publish.notBefore?.getTime() ?? 0);
  const late = evidence.now.getTime() - due;
  return late > evidence.overdueAfterMs ? late : undefined;
}

/** The verdict: which of the guide's scenarios this job is in (or that it is fine). */
export function decideVerdict(evidence: Evidence): Verdict {
  const { job, attempts } = evidence;
  const last = attempts.at(-1);
  const failures = failedDeliveries(evidence);
  const latest = job.messageId;
  const rejectedUnsigned =
    failures.some((entry) => entry.responseStatus === 401) || evidence.signatureFailures.some((failure) => latest === null || failure.messageId === latest);
  switch (job.status) {
    case 'completed':
      return 'HEALTHY';
    case 'cancelled':
      return 'CANCELLED';
    case 'processing':
      return evidence.openAttemptLost ? 'WORKER_LOST' : 'RUNNING';
    case 'retrying':
      return 'RETRYING';
    case 'pending': {
      if (evidence.publish?.notBefore && evidence.publish.notBefore > evidence.now) return 'NOT_DELIVERED_YET';
      if (rejectedUnsigned) return 'SIGNATURE_INVALID';
      if (failures.length > 0 && attempts.every((attempt) => attempt.finishedAt !== null)) return 'ENDPOINT_UNREACHABLE';
      if (deliveredElsewhere(evidence) || overdueMs(evidence) !== undefined) return 'ENDPOINT_UNREACHABLE';
      return 'NOT_DELIVERED_YET';
    }
    case 'failed': {
      if (last && (job.messageId === null || last.messageId === job.messageId)) return attemptFailure(last.error) ?? 'HANDLER_ERROR';
      // No attempt of its latest message ran: refused at the door, never delivered, or never published.
      if (rejectedUnsigned) return 'SIGNATURE_INVALID';
      if (evidence.publish?.state === 'failed' || job.messageId === null) return 'PUBLISH_FAILED';
      return 'ENDPOINT_UNREACHABLE';
    }
  }
}
