/**
 * `reconciliation(since)`: QStash's message log (the real Client's `logs`) joined with jobscope's
 * rows by message id, listing every place the two disagree, with both sides. Only messages to
 * this deployment's worker endpoints count (matched by path, so a message sent to another host for
 * the same path, a BASE_URL mismatch, shows up too).
 */
import { QstashError } from '@upstash/qstash';
import { and, eq, gte, inArray, isNotNull } from 'drizzle-orm';
import { jobAttempts, jobExecutions, type JobStatus } from '../../db/schema.js';
import { callQStash } from '../ops/qstash.js';
import type { DiagnosisDeps } from './index.js';

export const MISMATCH_KINDS = ['DELIVERED_NOT_RECORDED', 'RETRYING_BUT_COMPLETED', 'FAILED_WITHOUT_ROW', 'PENDING_NOT_IN_QSTASH'] as const;
export type MismatchKind = (typeof MISMATCH_KINDS)[number];

export interface Mismatch {
  kind: MismatchKind;
  messageId: string;
  jobId: string | null;
  /** QStash's latest state of the message (null: QStash does not have it). */
  qstashState: string | null;
  /** The row's status (null: no row). */
  jobStatus: JobStatus | null;
  detail: string;
}

export interface Reconciliation {
  since: Date;
  /** Messages to the worker endpoints that QStash logged since then. */
  messagesChecked: number;
  /** Rows joined with them, plus pending rows checked for a message QStash no longer has. */
  jobsChecked: number;
  mismatches: Mismatch[];
  /** QStash's log had more than the pages read (`MAX_LOG_PAGES`): the oldest part was not checked. */
  truncated: boolean;
}

const PAGE_SIZE = 1000;
const MAX_LOG_PAGES = 10;
/** Pending rows whose message is looked up one by one, at most. */
const MAX_PENDING_LOOKUPS = 100;

/** Message states after which QStash does no more with a message. */
const FINAL = new Set(['DELIVERED', 'FAILED', 'CANCELLED']);

export async function reconcile(deps: DiagnosisDeps, since: Date): Promise<Reconciliation> {
  const paths = new Set(deps.registry.list().map((definition) => new URL(deps.endpointUrl(definition.endpoint)).pathname));
  const latest = new Map<string, { state: string; time: number; error: string | null }>();
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await callQStash(() => deps.qstash().logs({ count: PAGE_SIZE, filter: { fromDate: since }, ...(cursor ? { cursor } : {}) }));
    for (const entry of page.logs) {
      let path: string;
      try {
        path = new URL(entry.url).pathname;
      } catch {
        continue;
      }
      if (!paths.has(path)) continue;
      // Newest first, page after page: the first entry of a message is its latest state.
      if (!latest.has(entry.messageId)) latest.set(entry.messageId, { state: entry.state, time: entry.time, error: entry.error ?? null });
    }
    cursor = page.cursor ? String(page.cursor) : undefined;
    pages++;
  } while (cursor && pages < MAX_LOG_PAGES);

  const messageIds = [...latest.keys()];
  const rows = messageIds.length === 0 ? new Map<string, never>() : await rowsByMessage(deps, messageIds);
  const mismatches: Mismatch[] = [];
  for (const [messageId, qstash] of latest) {
    const row = rows.get(messageId);
    if (!row) {
      if (qstash.state === 'FAILED') {
        mismatches.push({
          kind: 'FAILED_WITHOUT_ROW',
          messageId,
          jobId: null,
          qstashState: qstash.state,
          jobStatus: null,
          detail: `QStash gave up on this message${qstash.error ? ` (${qstash.error})` : ''} and jobscope has no job for it: the worker never recorded it (signature rejected, BASE_URL mismatch, or the database away).`,
        });
      }
      continue;
    }
    // Only the job's latest message speaks for its current state.
    if (row.latestMessageId !== messageId) continue;
    if (qstash.state === 'DELIVERED' && (row.status === 'processing' || row.status === 'pending' || row.status === 'retrying')) {
      mismatches.push({
        kind: 'DELIVERED_NOT_RECORDED',
        messageId,
        jobId: row.jobId,
        qstashState: qstash.state,
        jobStatus: row.status,
        detail: `QStash says it delivered the message, but the job is still ${row.status}: its outcome was not kept (a restore from an older backup, or a write lost).`,
      });
    } else if (row.status === 'pending' && (qstash.state === 'CANCELLED' || qstash.state === 'FAILED')) {
      mismatches.push(pendingNotInQStash(row.jobId, messageId, qstash.state));
    } else if (!FINAL.has(qstash.state) && row.status === 'completed') {
      mismatches.push({
        kind: 'RETRYING_BUT_COMPLETED',
        messageId,
        jobId: row.jobId,
        qstashState: qstash.state,
        jobStatus: row.status,
        detail: `The job is completed, but QStash is still working on its message (${qstash.state}): it will be delivered again and acknowledged without running.`,
      });
    }
  }

  // Pending rows (created since then) whose message QStash does not have: nothing will deliver them.
  const pending = await deps.db
    .select({ jobId: jobExecutions.jobId, messageId: jobExecutions.messageId })
    .from(jobExecutions)
    .where(and(eq(jobExecutions.status, 'pending'), isNotNull(jobExecutions.messageId), gte(jobExecutions.createdAt, since)))
    .limit(MAX_PENDING_LOOKUPS);
  for (const row of pending) {
    const messageId = row.messageId!;
    // One QStash logged since then is judged above (or is on its way).
    if (latest.has(messageId)) continue;
    if (await qstashHas(deps, messageId)) continue;
    mismatches.push(pendingNotInQStash(row.jobId, messageId, null));
  }
  return { since, messagesChecked: latest.size, jobsChecked: rows.size + pending.length, mismatches, truncated: cursor !== undefined };
}

function pendingNotInQStash(jobId: string, messageId: string, qstashState: string | null): Mismatch {
  const why = qstashState === 'FAILED' ? 'QStash gave up on it (it is in the DLQ)' : qstashState === 'CANCELLED' ? 'it was cancelled in QStash' : 'cancelled, expired, or in another QStash account';
  return {
    kind: 'PENDING_NOT_IN_QSTASH',
    messageId,
    jobId,
    qstashState,
    jobStatus: 'pending',
    detail: `The job is pending, but QStash will not deliver its message (${why}): retryJob publishes it again.`,
  };
}

/** The job of each message id (its latest message or any attempt's), with its status and latest message. */
async function rowsByMessage(deps: DiagnosisDeps, messageIds: string[]): Promise<Map<string, { jobId: string; status: JobStatus; latestMessageId: string | null }>> {
  const byMessage = new Map<string, { jobId: string; status: JobStatus; latestMessageId: string | null }>();
  const direct = await deps.db
    .select({ jobId: jobExecutions.jobId, status: jobExecutions.status, messageId: jobExecutions.messageId })
    .from(jobExecutions)
    .where(inArray(jobExecutions.messageId, messageIds));
  for (const row of direct) byMessage.set(row.messageId!, { jobId: row.jobId, status: row.status, latestMessageId: row.messageId });
  const viaAttempts = await deps.db
    .select({ messageId: jobAttempts.messageId, jobId: jobExecutions.jobId, status: jobExecutions.status, latest: jobExecutions.messageId })
    .from(jobAttempts)
    .innerJoin(jobExecutions, eq(jobExecutions.jobId, jobAttempts.jobId))
    .where(inArray(jobAttempts.messageId, messageIds));
  for (const row of viaAttempts) if (!byMessage.has(row.messageId)) byMessage.set(row.messageId, { jobId: row.jobId, status: row.status, latestMessageId: row.latest });
  return byMessage;
}

async function qstashHas(deps: DiagnosisDeps, messageId: string): Promise<boolean> {
  try {
    await deps.qstash().messages.get(messageId);
    return true;
  } catch (error) {
    if (error instanceof QstashError && error.status === 404) return false;
    throw error;
  }
}
