import { and, arrayContains, desc, eq, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { auditLog, bulkOperationJobs, type AuditEntry } from '../../db/schema.js';
import type { Logger } from '../../logger.js';
import { actorLabel, type Actor } from '../actor.js';
import { errorCode, errorMessage, pageSize } from '../errors.js';

export type { AuditEntry } from '../../db/schema.js';

/** What an audited command is: who, which verb, with which arguments. */
export interface AuditedAction {
  actor: Actor;
  action: string;
  /** The arguments as the caller gave them (payloads included). */
  args: Record<string, unknown>;
}

/** What a command that ended well touched, for its audit row. */
export interface AuditSummary {
  jobIds?: readonly string[];
  detail?: Record<string, unknown>;
  /** The bulk operation it started or stopped (its jobs are its set). */
  bulkOperationId?: string | undefined;
}

/**
 * Runs `command` and leaves exactly one audit row for it, `ok` with what `summarize` says it touched,
 * or the error code it failed with (the error is then rethrown, unchanged). The row is written
 * after the command, so a failure to write it cannot undo what was done; it is logged instead.
 */
export async function audited<T>(
  deps: { db: Database; logger: Logger },
  action: AuditedAction,
  command: () => Promise<T>,
  summarize: (result: T) => AuditSummary,
): Promise<T> {
  let result: T;
  try {
    result = await command();
  } catch (error) {
    await record(deps, action, { outcome: errorCode(error), jobIds: jobIdsOf(action.args), detail: { message: errorMessage(error) } });
    throw error;
  }
  const summary = summarize(result);
  await record(deps, action, { outcome: 'ok', jobIds: summary.jobIds ?? [], detail: summary.detail, bulkOperationId: summary.bulkOperationId });
  return result;
}

/** A single job named in the arguments (`jobId`), so a failed retry of it shows on that job. */
function jobIdsOf(args: Record<string, unknown>): string[] {
  return typeof args.jobId === 'string' ? [args.jobId] : [];
}

async function record(
  deps: { db: Database; logger: Logger },
  action: AuditedAction,
  entry: { outcome: string; jobIds: readonly string[]; detail?: Record<string, unknown> | undefined; bulkOperationId?: string | undefined },
): Promise<void> {
  try {
    await deps.db.insert(auditLog).values({
      actor: actorLabel(action.actor),
      action: action.action,
      args: action.args,
      jobIds: [...entry.jobIds],
      outcome: entry.outcome,
      detail: entry.detail ?? null,
      bulkOperationId: entry.bulkOperationId ?? null,
    });
  } catch (error) {
    deps.logger.error('[audit] Could not record an action in the audit log', {
      action: action.action,
      actor: actorLabel(action.actor),
      outcome: entry.outcome,
      error: errorMessage(error),
    });
  }
}

/** Which audit rows to read; every field narrows (AND). */
export interface AuditLogFilter {
  /** `api-key:ops-bot`, or the key's name alone (`ops-bot`), `cli`, `system:retention`. */
  actor?: string | undefined;
  action?: string | undefined;
  /** Rows that touched this job. */
  jobId?: string | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

export interface ListAuditLog {
  filter?: AuditLogFilter | undefined;
  /** Page size, 1–500 (default 50). */
  first?: number | undefined;
  /** The `id` of the last row of the previous page: rows before it (newest first). */
  after?: number | undefined;
}

export const AUDIT_PAGE_MAX = 500;

/** The audit log, newest first, a page at a time (keyset on `id`). */
export async function listAuditLog(db: Database, input: ListAuditLog = {}): Promise<{ entries: AuditEntry[]; hasNextPage: boolean }> {
  const first = pageSize(input.first, { fallback: 50, max: AUDIT_PAGE_MAX });
  const conditions = [auditCondition(input.filter ?? {}), input.after !== undefined ? lt(auditLog.id, input.after) : undefined];
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.id))
    .limit(first + 1);
  return { entries: rows.slice(0, first), hasNextPage: rows.length > first };
}

/** The actions on one job, newest first (`JobExecution.auditLog`): its own, and the bulk operations whose set held it. */
export function auditOfJob(db: Database, jobId: string, limit = 100): Promise<AuditEntry[]> {
  return db.select().from(auditLog).where(touchedJob(jobId)).orderBy(desc(auditLog.id)).limit(limit);
}

function touchedJob(jobId: string): SQL {
  return or(
    arrayContains(auditLog.jobIds, [jobId]),
    inArray(auditLog.bulkOperationId, operationsHolding(jobId)),
  )!;
}

/** The bulk operations whose set holds `jobId`. */
function operationsHolding(jobId: string): SQL {
  return sql`(SELECT ${bulkOperationJobs.operationId} FROM ${bulkOperationJobs} WHERE ${bulkOperationJobs.jobId} = ${jobId})`;
}

function auditCondition(filter: AuditLogFilter): SQL | undefined {
  return and(
    filter.actor !== undefined ? or(eq(auditLog.actor, filter.actor), eq(auditLog.actor, sql`'api-key:' || ${filter.actor}::text`)) : undefined,
    filter.action !== undefined ? eq(auditLog.action, filter.action) : undefined,
    filter.jobId !== undefined ? touchedJob(filter.jobId) : undefined,
    filter.since !== undefined ? gte(auditLog.at, filter.since) : undefined,
    filter.until !== undefined ? lte(auditLog.at, filter.until) : undefined,
  );
}
