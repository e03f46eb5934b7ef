/**
 * QStash's dead-letter queue, read and acted on through the real Client: the messages whose
 * retries ran out, with the last answer they got, each linked to its job by message id.
 */
import type { Client } from '@upstash/qstash';
import { inArray } from 'drizzle-orm';
import { jobAttempts, jobExecutions } from '../../db/schema.js';
import { DeadLetterNotFoundError, InvalidArgumentError, pageSize } from '../errors.js';
import { resetJobForRetry } from '../lifecycle.js';
import { callQStash, type QStashStateDeps } from './qstash.js';

type DlqMessage = Awaited<ReturnType<Client['dlq']['listMessages']>>['messages'][number];

/** One dead letter, as jobscope shows it. */
export interface DeadLetter {
  dlqId: string;
  messageId: string;
  url: string;
  method: string;
  /** The last failed attempt's answer: status, headers and body (base64 when it was not UTF-8). */
  responseStatus: number | null;
  responseHeaders: Record<string, string[]> | null;
  responseBody: string | null;
  /** Why the last attempt got no answer at all (connection refused, timed out), when QStash says. */
  error: string | null;
  /** The retries QStash was asked to make: it gave up after this many + 1 deliveries. */
  maxRetries: number | null;
  /** The message's body as published (the job's envelope for jobscope's jobs). */
  body: string | null;
  createdAt: Date;
  scheduleId: string | null;
  /** The job whose message this is (by `job_executions.message_id` or an attempt's), if jobscope knows it. */
  jobId: string | null;
}

/** Which dead letters to list; every given field narrows (QStash applies them). */
export interface DeadLetterFilter {
  /** Messages to this job type's worker endpoint. */
  jobType?: string | undefined;
  responseStatus?: number | undefined;
  messageId?: string | undefined;
  scheduleId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

export interface ListDeadLetters {
  /** Page size, 1–100 (default 20). */
  first?: number | undefined;
  /** QStash's cursor from the previous page. */
  after?: string | undefined;
  filter?: DeadLetterFilter | undefined;
}

export const DEAD_LETTER_PAGE_MAX = 100;
/** At most this many dead letters per retry or delete (QStash's own bulk page). */
export const DEAD_LETTER_IDS_MAX = 100;

/** Which job each message id belongs to: the job's latest message, else any attempt's (an earlier publish). */
async function jobsByMessageId(deps: QStashStateDeps, messageIds: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (messageIds.length === 0) return found;
  const ids = [...new Set(messageIds)];
  const attempts = await deps.db
    .selectDistinct({ jobId: jobAttempts.jobId, messageId: jobAttempts.messageId })
    .from(jobAttempts)
    .where(inArray(jobAttempts.messageId, ids));
  for (const row of attempts) found.set(row.messageId, row.jobId);
  const latest = await deps.db
    .select({ jobId: jobExecutions.jobId, messageId: jobExecutions.messageId })
    .from(jobExecutions)
    .where(inArray(jobExecutions.messageId, ids));
  for (const row of latest) if (row.messageId) found.set(row.messageId, row.jobId);
  return found;
}

function toDeadLetter(message: DlqMessage, jobs: Map<string, string>): DeadLetter {
  // Not in the SDK's DlqMessage type: what the DLQ keeps of an attempt that got no response.
  const { error } = message as { error?: unknown };
  return {
    dlqId: message.dlqId,
    messageId: message.messageId,
    url: message.url,
    method: message.method ?? 'POST',
    responseStatus: message.responseStatus ?? null,
    responseHeaders: message.responseHeader ?? null,
    responseBody: message.responseBody ?? message.responseBodyBase64 ?? null,
    error: typeof error === 'string' ? error : null,
    maxRetries: message.maxRetries ?? null,
    body: message.body ?? message.bodyBase64 ?? null,
    createdAt: new Date(message.createdAt ?? Date.now()),
    scheduleId: message.scheduleId ?? null,
    jobId: jobs.get(message.messageId) ?? null,
  };
}

async function withJobs(deps: QStashStateDeps, messages: DlqMessage[]): Promise<DeadLetter[]> {
  const jobs = await jobsByMessageId(
    deps,
    messages.map((message) => message.messageId),
  );
  await linkByEnvelope(deps, messages, jobs);
  return messages.map((message) => toDeadLetter(message, jobs));
}

/**
 * Links the messages jobscope has no record of (every delivery failed before an attempt was
 * recorded, and the job has been published again since) by the job id of the envelope they
 * carry, when that job exists. Not a schedule's runs: they all carry one body, and each run is a
 * job of its own, named by its message id.
 */
async function linkByEnvelope(deps: QStashStateDeps, messages: DlqMessage[], jobs: Map<string, string>): Promise<void> {
  const claimed = new Map<string, string>();
  for (const message of messages) {
    if (jobs.has(message.messageId) || message.scheduleId || message.body === undefined) continue;
    const jobId = envelopeJobId(message.body);
    if (jobId !== undefined) claimed.set(message.messageId, jobId);
  }
  if (claimed.size === 0) return;
  const known = await deps.db
    .select({ jobId: jobExecutions.jobId })
    .from(jobExecutions)
    .where(inArray(jobExecutions.jobId, [...new Set(claimed.values())]));
  const exists = new Set(known.map((row) => row.jobId));
  for (const [messageId, jobId] of claimed) if (exists.has(jobId)) jobs.set(messageId, jobId);
}

function envelopeJobId(body: string): string | undefined {
  try {
    const jobId = (JSON.parse(body) as { jobId?: unknown } | null)?.jobId;
    return typeof jobId === 'string' && jobId.length > 0 && !jobId.includes('\u0000') ? jobId : undefined;
  } catch {
    return undefined;
  }
}

/** A page of dead letters, newest first, and QStash's cursor for the next one. */
export async function listDeadLetters(deps: QStashStateDeps, input: ListDeadLetters = {}): Promise<{ deadLetters: DeadLetter[]; cursor: string | undefined }> {
  const first = pageSize(input.first, { fallback: 20, max: DEAD_LETTER_PAGE_MAX });
  const filter = input.filter ?? {};
  const url = filter.jobType === undefined ? undefined : deps.endpointUrl(deps.registry.get(filter.jobType).endpoint);
  const page = await callQStash(() =>
    deps.qstash().dlq.listMessages({
      count: first,
      cursor: input.after,
      filter: {
        ...(url === undefined ? {} : { url }),
        ...(filter.responseStatus === undefined ? {} : { responseStatus: filter.responseStatus }),
        ...(filter.messageId === undefined ? {} : { messageId: filter.messageId }),
        ...(filter.scheduleId === undefined ? {} : { scheduleId: filter.scheduleId }),
        ...(filter.since === undefined ? {} : { fromDate: filter.since.getTime() }),
        ...(filter.until === undefined ? {} : { toDate: filter.until.getTime() }),
      },
    }),
  );
  return { deadLetters: await withJobs(deps, page.messages), cursor: page.cursor || undefined };
}

/** The dead letter of a job's latest message, if it is in the DLQ. */
export async function deadLetterOfMessage(deps: QStashStateDeps, messageId: string): Promise<DeadLetter | undefined> {
  const page = await callQStash(() => deps.qstash().dlq.listMessages({ count: 1, filter: { messageId } }));
  const [first] = await withJobs(deps, page.messages);
  return first;
}

function checkIds(dlqIds: readonly string[]): string[] {
  const ids = [...new Set(dlqIds)];
  if (ids.length === 0) throw new InvalidArgumentError('dlqIds', '"dlqIds" must name at least one dead letter');
  if (ids.length > DEAD_LETTER_IDS_MAX) throw new InvalidArgumentError('dlqIds', `"dlqIds" may name at most ${DEAD_LETTER_IDS_MAX} dead letters`);
  if (ids.some((id) => id.trim() === '' || id.includes('\u0000'))) throw new InvalidArgumentError('dlqIds', '"dlqIds" must be non-empty ids');
  return ids;
}

/** The dead letters these ids name, all of them, or DeadLetterNotFoundError naming the missing ones (nothing is changed). */
async function existing(deps: QStashStateDeps, dlqIds: readonly string[]): Promise<DeadLetter[]> {
  const ids = checkIds(dlqIds);
  const page = await callQStash(() => deps.qstash().dlq.listMessages({ dlqIds: ids, count: ids.length }));
  const found = new Set(page.messages.map((message) => message.dlqId));
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length > 0) throw new DeadLetterNotFoundError(missing);
  return withJobs(deps, page.messages);
}

/** A retried dead letter: the new message QStash delivers, and the job it belongs to. */
export interface RetriedDeadLetter {
  dlqId: string;
  messageId: string;
  jobId: string | null;
}

/**
 * Retries dead letters as QStash does (a new message with the same body, retried from 0; the entry
 * leaves the DLQ). A linked job that may be retried (TRANSITIONS.retry) goes back to `pending` with
 * the new message id, so its row says what is happening before the delivery arrives.
 */
export async function retryDeadLetters(
  deps: QStashStateDeps & { stuckAfterMinutes: number },
  dlqIds: readonly string[],
): Promise<RetriedDeadLetter[]> {
  const letters = await existing(deps, dlqIds);
  const ids = letters.map((letter) => letter.dlqId);
  const { responses } = await callQStash(() => deps.qstash().dlq.retry(ids));
  const retried = letters.map((letter, index) => ({ dlqId: letter.dlqId, messageId: responses[index]?.messageId ?? '', jobId: letter.jobId }));
  for (const [index, entry] of retried.entries()) {
    if (entry.jobId === null || entry.messageId === '') continue;
    const redelivery = { from: letters[index]!.messageId, to: entry.messageId };
    await resetJobForRetry(deps.db, entry.jobId, { stuckAfterMinutes: deps.stuckAfterMinutes, redelivery });
  }
  deps.logger.info('[jobs] Dead letters retried', { dlqIds: ids, messageIds: retried.map((entry) => entry.messageId) });
  return retried;
}

/** Deletes dead letters (all named ones exist, or nothing is deleted); answers the ones deleted. */
export async function deleteDeadLetters(deps: QStashStateDeps, dlqIds: readonly string[]): Promise<DeadLetter[]> {
  const letters = await existing(deps, dlqIds);
  await callQStash(() => deps.qstash().dlq.delete(letters.map((letter) => letter.dlqId)));
  deps.logger.info('[jobs] Dead letters deleted', { dlqIds: letters.map((letter) => letter.dlqId) });
  return letters;
}
