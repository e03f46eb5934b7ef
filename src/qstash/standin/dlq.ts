/** The dead-letter queue: messages whose retries ran out, with the last answer they got. */
import { randomId } from '../signing.js';
import { ApiError, json, readJson, type RequestContext, withCursor } from './api.js';
import { type Filterable, matchesFilters, paginate } from './paging.js';
import { parseSettings, splitHeaders } from './publish-spec.js';
import type { LiveMessage, Outcome, PublishResult, PublishSpec } from './types.js';
import { messagePayload, outcomeFields } from './wire.js';

export interface DlqEntry {
  seq: number;
  dlqId: string;
  message: LiveMessage;
  failedAt: number;
  outcome: Outcome;
}

export interface DeadLetterQueue {
  /** Stores a failed message; returns its DLQ id. */
  add(message: LiveMessage, outcome: Outcome): string;
  get(dlqId: string): DlqEntry | undefined;
  delete(dlqId: string): boolean;
  /**
   * The entries a call (`dlqIds=…`, filters, or all) targets, newest first, paged. An unknown id
   * is a 404 for `strict` callers (retry, delete) and simply not listed otherwise.
   */
  select(query: URLSearchParams, ids: string[], strict?: boolean): { entries: DlqEntry[]; cursor: string | undefined };
  /** The entry as `GET /v2/dlq` answers it. */
  payload(entry: DlqEntry): Record<string, unknown>;
}

function filterable(entry: DlqEntry): Filterable {
  return {
    messageId: entry.message.id,
    url: entry.message.spec.url,
    labels: entry.message.spec.labels,
    scheduleId: entry.message.spec.scheduleId,
    queueName: entry.message.spec.queueName,
    time: entry.failedAt,
    ...(entry.outcome.kind === 'response' ? { responseStatus: entry.outcome.status } : {}),
  };
}

export function createDeadLetterQueue(): DeadLetterQueue {
  const entries = new Map<string, DlqEntry>();
  let sequence = 0;
  return {
    add(message, outcome) {
      const dlqId = `${Date.now()}-${randomId(10)}`;
      entries.set(dlqId, { seq: ++sequence, dlqId, message, failedAt: Date.now(), outcome });
      return dlqId;
    },
    get: (dlqId) => entries.get(dlqId),
    delete: (dlqId) => entries.delete(dlqId),
    select(query, ids, strict = true) {
      const wanted = [...query.getAll('dlqIds'), ...ids];
      if (wanted.length > 0) {
        const found = wanted.flatMap((id) => {
          const entry = entries.get(id);
          if (!entry && strict) throw new ApiError(404, `dlq message not found: ${id}`);
          return entry ? [entry] : [];
        });
        return { entries: found, cursor: undefined };
      }
      const matching = [...entries.values()].filter((entry) => matchesFilters(filterable(entry), query));
      const { page, cursor } = paginate(matching, query);
      return { entries: page, cursor };
    },
    payload(entry) {
      return { ...messagePayload(entry.message), dlqId: entry.dlqId, ...outcomeFields(entry.outcome) };
    },
  };
}

/** `/v2/dlq`: list, get, delete (one or many) and retry. */
export async function dlqRoute(
  { request, method, id, extra, query, notAllowed }: RequestContext,
  dlq: DeadLetterQueue,
  /** The engine's publish, for a retry: a new message from the dead one. */
  publish: (spec: PublishSpec, isCallback?: boolean) => PublishResult,
): Promise<Response> {
  if (id === 'retry') {
    if (method !== 'POST') return notAllowed();
    const body = await readJson(request);
    const bodyIds = typeof body === 'object' && body !== null && Array.isArray((body as { dlqIds?: unknown }).dlqIds) ? (body as { dlqIds: unknown[] }).dlqIds.map(String) : [];
    // Configuration headers on the retry request override the original message's (the docs' `Upstash-Retries: 0`).
    const now = Date.now();
    const overrides = parseSettings(splitHeaders(request.headers).settings, now);
    const { entries, cursor } = dlq.select(query, [...bodyIds, ...(extra === undefined ? [] : [extra])]);
    const responses = entries.map((entry) => {
      const fresh = { notBefore: now, delayed: false, deduplicationId: undefined, contentBasedDeduplication: false };
      const result = publish({ ...entry.message.spec, ...fresh, ...overrides }, entry.message.isCallback);
      dlq.delete(entry.dlqId);
      return result;
    });
    // `POST /v2/dlq/retry/{dlqId}` answers the one new message; the bulk form a list of them.
    if (extra !== undefined) return json(200, responses[0]);
    return json(200, withCursor({ responses }, cursor));
  }
  if (id === undefined) {
    if (method === 'GET') {
      const { entries, cursor } = dlq.select(query, [], false);
      return json(200, withCursor({ messages: entries.map((entry) => dlq.payload(entry)) }, cursor));
    }
    if (method === 'DELETE') {
      const { entries, cursor } = dlq.select(query, []);
      for (const entry of entries) dlq.delete(entry.dlqId);
      return json(200, withCursor({ deleted: entries.length }, cursor));
    }
    return notAllowed();
  }
  const entry = dlq.get(id);
  if (!entry) throw new ApiError(404, `dlq message not found: ${id}`);
  if (method === 'GET') return json(200, dlq.payload(entry));
  if (method === 'DELETE') {
    dlq.delete(id);
    return json(200, { deleted: 1 });
  }
  return notAllowed();
}
