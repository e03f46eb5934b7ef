/**
 * An in-memory stand-in for the QStash v2 HTTP API, for development and tests only.
 *
 * It speaks the protocol the real `@upstash/qstash` `Client` and `Receiver` use (see
 * /work/shared/QSTASH.md): publish and batch, signed deliveries with retries and backoff,
 * `489` non-retryable failures, timeouts, delays, deduplication, callbacks, cancel, the DLQ,
 * the event log and the signing keys. Queues, schedules, URL groups and flow control are not
 * implemented and answer 501.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { randomId, signDelivery } from './signing.js';
import { compileRetryDelay, defaultBackoffMs, parseDuration, parseRetryAfter } from './timing.js';

export interface QStashStandInOptions {
  /** Bearer token the API accepts (Authorization: Bearer <token>); others get 401. */
  token: string;
  currentSigningKey: string;
  nextSigningKey: string;
  /** Path prefix the stand-in is mounted under, e.g. "/qstash" (default ""): it answers `${basePath}/v2/...`. */
  basePath?: string;
  /** Multiplies the QStash backoff formula min(86400, e^(2.5·n)) seconds; default 1. Tests pass e.g. 0.0001 so retries take milliseconds. A Retry-After answer header is scaled the same way. */
  retryDelayFactor?: number;
  /** Optional winston-like logger ({ info, warn, error, debug }(message, meta)); default: silent. */
  logger?: {
    info(msg: string, meta?: object): void;
    warn(msg: string, meta?: object): void;
    error(msg: string, meta?: object): void;
    debug(msg: string, meta?: object): void;
  };
}

export interface QStashStandIn {
  /** Fetch-API handler for the stand-in's HTTP API (answers 404 JSON for paths outside basePath/v2). */
  fetch(request: Request): Promise<Response>;
  /**
   * Resolves when no delivery is in flight or scheduled to run within `withinMs` (default: any
   * scheduled). Useful in tests.
   */
  idle(withinMs?: number): Promise<void>;
  /** Stops timers, aborts in-flight deliveries, rejects new publishes. */
  close(): Promise<void>;
}

/** States a message goes through in the event log. */
export type MessageState =
  | 'CREATED'
  | 'ACTIVE'
  | 'DELIVERED'
  | 'RETRY'
  | 'ERROR'
  | 'FAILED'
  | 'CANCEL_REQUESTED'
  | 'CANCELLED';

const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
const DEFAULT_RETRIES = 3;
/** Cap on one attempt when the publisher sets no Upstash-Timeout. */
const DEFAULT_TIMEOUT_MS = 15 * 60_000;
const DEDUPLICATION_WINDOW_MS = 10 * 60_000;
const MAX_BODY_BYTES = 10 * 1024 * 1024;
const MAX_EVENTS = 10_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
/** Headers a destination request may not carry even when the publisher asks to forward them. */
const UNFORWARDABLE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
  'proxy-connection',
  'expect',
]);
/** Filters the real API knows but that never match here (no URL groups, schedules, queues…). */
const UNSUPPORTED_FILTERS = ['topicName', 'urlGroup', 'scheduleId', 'queueName', 'flowControlKey', 'callerIp', 'api', 'endpointName', 'workflowRunId'];
const UNSUPPORTED_ROUTES = new Set(['enqueue', 'queues', 'schedules', 'topics', 'flowControl', 'globalParallelism', 'workflows', 'llm']);

/** An API answer other than 2xx, surfaced as `{ "error": message }`. */
class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Everything a publish asked for, after validation. */
interface PublishSpec {
  url: string;
  method: string;
  contentType: string | undefined;
  /** Headers delivered to the destination (the `Upstash-Forward-` prefix already removed). */
  forwardHeaders: Array<[string, string]>;
  body: Uint8Array<ArrayBuffer>;
  maxRetries: number;
  retryDelayExpression: string | undefined;
  timeoutMs: number | undefined;
  callback: string | undefined;
  failureCallback: string | undefined;
  /** Epoch ms before which no delivery happens. */
  notBefore: number;
  /** Set when the publisher asked for a delay or a not-before time. */
  delayed: boolean;
  deduplicationId: string | undefined;
  contentBasedDeduplication: boolean;
  labels: string[];
}

type Outcome =
  | { kind: 'response'; status: number; headers: Headers; body: Uint8Array }
  | { kind: 'error'; error: string };

/** A message still in the system: scheduled, waiting for a retry, or being delivered. */
interface LiveMessage {
  id: string;
  spec: PublishSpec;
  createdAt: number;
  /** Retries made so far (the `Upstash-Retried` of the next attempt). */
  retried: number;
  retryDelay: ((retried: number) => number) | undefined;
  /** Callback messages trigger no callbacks of their own. */
  isCallback: boolean;
  dueAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  abort: AbortController | undefined;
  cancelRequested: boolean;
}

interface DlqEntry {
  seq: number;
  dlqId: string;
  message: LiveMessage;
  failedAt: number;
  outcome: Outcome;
}

interface LogEvent {
  seq: number;
  time: number;
  messageId: string;
  state: MessageState;
  url: string;
  labels: string[];
  payload: Record<string, unknown>;
}

interface PublishResult {
  messageId: string;
  url: string;
  deduplicated?: boolean;
}

const SILENT_LOGGER: NonNullable<QStashStandInOptions['logger']> = {
  info() {},
  warn() {},
  error() {},
  debug() {},
};

function json(status: number, data: unknown): Response {
  return new Response(JSON.stringify(data), { status, headers: { 'content-type': 'application/json' } });
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `{ body }` when the bytes are valid UTF-8, else `{ bodyBase64 }`, as the message API answers. */
function bodyFields(bytes: Uint8Array, prefix: 'body' | 'responseBody'): Record<string, string> {
  try {
    return { [prefix]: strictUtf8.decode(bytes) };
  } catch {
    return { [`${prefix}Base64`]: toBase64(bytes) };
  }
}

function canonicalHeaderName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

function headersToRecord(entries: Iterable<[string, string]>): Record<string, string[]> {
  const record: Record<string, string[]> = {};
  for (const [name, value] of entries) {
    const key = canonicalHeaderName(name.toLowerCase());
    (record[key] ??= []).push(value);
  }
  return record;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** The raw path and query of a request URL, untouched by URL normalisation. */
function rawPathAndQuery(requestUrl: string): string {
  const schemeEnd = requestUrl.indexOf('//');
  const pathStart = requestUrl.indexOf('/', schemeEnd < 0 ? 0 : schemeEnd + 2);
  if (pathStart < 0) return '/';
  const hash = requestUrl.indexOf('#', pathStart);
  return requestUrl.slice(pathStart, hash < 0 ? undefined : hash);
}

/** Takes the raw text after `/v2/publish/` as the destination (the Client does not encode it). */
function normaliseDestination(raw: string): string {
  let destination = raw;
  if (/^https?%3A/i.test(destination)) {
    try {
      destination = decodeURIComponent(destination);
    } catch {
      throw new ApiError(400, `invalid destination: ${raw}`);
    }
  }
  // Some proxies collapse `//` in paths; QStash destinations always carry a scheme and host.
  return destination.replace(/^(https?):\/(?!\/)/i, '$1://');
}

function parseNonNegativeInteger(name: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new ApiError(400, `invalid ${name} header: ${value}`);
  return Number(value.trim());
}

/**
 * Validates a publish (destination, headers, body) into a `PublishSpec`; throws a 400
 * `ApiError` naming the first bad header.
 */
function parsePublish(rawDestination: string, headers: Iterable<[string, string]>, body: Uint8Array<ArrayBuffer>, now: number): PublishSpec {
  const url = normaliseDestination(rawDestination);
  if (!isHttpUrl(url)) {
    throw new ApiError(400, `invalid destination: "${rawDestination}" (the stand-in only delivers to http(s) URLs; URL groups and APIs are not supported)`);
  }
  const lower = new Map<string, string>();
  const forwardHeaders: Array<[string, string]> = [];
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (key.startsWith('upstash-forward-')) {
      const forwarded = key.slice('upstash-forward-'.length);
      if (forwarded !== '' && !UNFORWARDABLE.has(forwarded)) forwardHeaders.push([forwarded, value]);
    } else {
      lower.set(key, value);
    }
  }

  const method = (lower.get('upstash-method') ?? 'POST').trim().toUpperCase();
  if (!HTTP_METHODS.has(method)) throw new ApiError(400, `invalid Upstash-Method header: ${method}`);

  const retriesHeader = lower.get('upstash-retries');
  const maxRetries = retriesHeader === undefined ? DEFAULT_RETRIES : parseNonNegativeInteger('Upstash-Retries', retriesHeader);

  const retryDelayExpression = lower.get('upstash-retry-delay')?.trim() || undefined;
  if (retryDelayExpression !== undefined) {
    try {
      compileRetryDelay(retryDelayExpression)(0);
    } catch (error) {
      throw new ApiError(400, `invalid Upstash-Retry-Delay header: ${retryDelayExpression} (${(error as Error).message})`);
    }
  }

  let timeoutMs: number | undefined;
  const timeoutHeader = lower.get('upstash-timeout');
  if (timeoutHeader !== undefined) {
    timeoutMs = parseDuration(timeoutHeader);
    if (timeoutMs === undefined || timeoutMs <= 0) throw new ApiError(400, `invalid Upstash-Timeout header: ${timeoutHeader}`);
  }

  let notBefore = now;
  let delayed = false;
  const notBeforeHeader = lower.get('upstash-not-before');
  const delayHeader = lower.get('upstash-delay');
  if (notBeforeHeader !== undefined) {
    // Upstash-Not-Before (unix seconds) takes precedence over Upstash-Delay.
    notBefore = Math.max(now, parseNonNegativeInteger('Upstash-Not-Before', notBeforeHeader) * 1000);
    delayed = true;
  } else if (delayHeader !== undefined) {
    const delayMs = parseDuration(delayHeader);
    if (delayMs === undefined) throw new ApiError(400, `invalid Upstash-Delay header: ${delayHeader}`);
    notBefore = now + delayMs;
    delayed = true;
  }

  const callback = lower.get('upstash-callback')?.trim() || undefined;
  if (callback !== undefined && !isHttpUrl(callback)) throw new ApiError(400, `invalid Upstash-Callback header: ${callback}`);
  const failureCallback = lower.get('upstash-failure-callback')?.trim() || undefined;
  if (failureCallback !== undefined && !isHttpUrl(failureCallback)) {
    throw new ApiError(400, `invalid Upstash-Failure-Callback header: ${failureCallback}`);
  }

  const contentBasedHeader = lower.get('upstash-content-based-deduplication');
  const labels = (lower.get('upstash-label') ?? '')
    .split(',')
    .map((label) => label.trim())
    .filter((label) => label !== '');

  return {
    url,
    method,
    contentType: lower.get('content-type'),
    forwardHeaders,
    body,
    maxRetries,
    retryDelayExpression,
    timeoutMs,
    callback,
    failureCallback,
    notBefore,
    delayed,
    deduplicationId: lower.get('upstash-deduplication-id')?.trim() || undefined,
    contentBasedDeduplication: contentBasedHeader?.trim().toLowerCase() === 'true',
    labels,
  };
}

function deduplicationKey(spec: PublishSpec): string | undefined {
  if (spec.deduplicationId !== undefined) return `id:${spec.deduplicationId}`;
  if (!spec.contentBasedDeduplication) return undefined;
  const hash = createHash('sha256');
  hash.update(JSON.stringify([spec.url, spec.method, spec.contentType ?? '', [...spec.forwardHeaders].sort()]));
  hash.update(spec.body);
  return `content:${hash.digest('hex')}`;
}

/** The message as `GET /v2/messages/{id}` and the DLQ describe it. */
function messagePayload(message: LiveMessage): Record<string, unknown> {
  const { spec } = message;
  return {
    messageId: message.id,
    url: spec.url,
    method: spec.method,
    header: messageHeaderRecord(spec),
    ...bodyFields(spec.body, 'body'),
    maxRetries: spec.maxRetries,
    ...(spec.retryDelayExpression === undefined ? {} : { retryDelayExpression: spec.retryDelayExpression }),
    notBefore: spec.notBefore,
    createdAt: message.createdAt,
    ...(spec.callback === undefined ? {} : { callback: spec.callback }),
    ...(spec.failureCallback === undefined ? {} : { failureCallback: spec.failureCallback }),
    ...(spec.labels.length === 0 ? {} : { label: spec.labels[0], labels: spec.labels }),
  };
}

function messageHeaderRecord(spec: PublishSpec): Record<string, string[]> {
  const entries: Array<[string, string]> = [...spec.forwardHeaders];
  if (spec.contentType !== undefined) entries.push(['content-type', spec.contentType]);
  return headersToRecord(entries);
}

function pageSize(query: URLSearchParams): number {
  const count = Number(query.get('count') ?? DEFAULT_PAGE_SIZE);
  return Number.isInteger(count) && count > 0 ? Math.min(count, MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
}

/** Newest-first page of `items` (each with a growing `seq`), continuing below `cursor`. */
function paginate<T extends { seq: number }>(items: T[], query: URLSearchParams): { page: T[]; cursor: string | undefined } {
  const cursor = Number(query.get('cursor') ?? Number.POSITIVE_INFINITY);
  const below = Number.isFinite(cursor) ? items.filter((item) => item.seq < cursor) : items;
  const sorted = below.sort((a, b) => b.seq - a.seq);
  const size = pageSize(query);
  const page = sorted.slice(0, size);
  const last = page.at(-1);
  return { page, cursor: sorted.length > size && last ? String(last.seq) : undefined };
}

interface Filterable {
  messageId: string;
  url: string;
  labels: string[];
  time: number;
  state?: string;
  responseStatus?: number;
}

/** Whether an item matches the filter query parameters the Client sends (values OR, fields AND). */
function matchesFilters(item: Filterable, query: URLSearchParams): boolean {
  for (const key of UNSUPPORTED_FILTERS) if (query.has(key)) return false;
  const anyOf = (key: string, value: string | undefined): boolean => {
    const wanted = query.getAll(key);
    return wanted.length === 0 || (value !== undefined && wanted.includes(value));
  };
  if (!anyOf('messageId', item.messageId) || !anyOf('url', item.url) || !anyOf('state', item.state)) return false;
  if (!anyOf('responseStatus', item.responseStatus === undefined ? undefined : String(item.responseStatus))) return false;
  const labels = query.getAll('label');
  if (labels.length > 0 && !labels.some((label) => item.labels.includes(label))) return false;
  const from = query.get('fromDate');
  if (from !== null && item.time < Number(from)) return false;
  const to = query.get('toDate');
  if (to !== null && item.time > Number(to)) return false;
  return true;
}

export function createQStashStandIn(options: QStashStandInOptions): QStashStandIn {
  const logger = options.logger ?? SILENT_LOGGER;
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  const retryDelayFactor = options.retryDelayFactor ?? 1;
  const expectedAuthorization = Buffer.from(`Bearer ${options.token}`);

  const live = new Map<string, LiveMessage>();
  const scheduled = new Set<LiveMessage>();
  const inFlight = new Set<Promise<void>>();
  const deduplication = new Map<string, { result: PublishResult; expiresAt: number }>();
  const dlq = new Map<string, DlqEntry>();
  const events: LogEvent[] = [];
  const idleWaiters = new Set<{ withinMs: number; resolve: () => void }>();
  let sequence = 0;
  let closed = false;

  function isIdle(withinMs: number): boolean {
    if (inFlight.size > 0) return false;
    const horizon = Date.now() + withinMs;
    for (const message of scheduled) if ((message.dueAt ?? 0) <= horizon) return false;
    return true;
  }

  function checkIdle(): void {
    for (const waiter of [...idleWaiters]) {
      if (closed || isIdle(waiter.withinMs)) {
        idleWaiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  function record(message: LiveMessage, state: MessageState, extra: Record<string, unknown> = {}): void {
    const time = Date.now();
    const { spec } = message;
    events.push({
      seq: ++sequence,
      time,
      messageId: message.id,
      state,
      url: spec.url,
      labels: spec.labels,
      payload: {
        time,
        state,
        messageId: message.id,
        url: spec.url,
        header: messageHeaderRecord(spec),
        body: toBase64(spec.body),
        ...(spec.labels.length === 0 ? {} : { label: spec.labels[0], labels: spec.labels }),
        ...extra,
      },
    });
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
  }

  function publish(spec: PublishSpec, isCallback = false): PublishResult {
    if (closed) throw new ApiError(503, 'the QStash stand-in is closed');
    const now = Date.now();
    const key = deduplicationKey(spec);
    if (key !== undefined) {
      const existing = deduplication.get(key);
      if (existing && existing.expiresAt > now) {
        logger.debug('qstash stand-in: deduplicated publish', { messageId: existing.result.messageId });
        return { ...existing.result, deduplicated: true };
      }
    }
    const message: LiveMessage = {
      id: `msg_${randomId()}`,
      spec,
      createdAt: now,
      retried: 0,
      retryDelay: spec.retryDelayExpression === undefined ? undefined : compileRetryDelay(spec.retryDelayExpression),
      isCallback,
      dueAt: undefined,
      timer: undefined,
      abort: undefined,
      cancelRequested: false,
    };
    const result: PublishResult = { messageId: message.id, url: spec.url };
    if (key !== undefined) {
      for (const [k, entry] of deduplication) if (entry.expiresAt <= now) deduplication.delete(k);
      deduplication.set(key, { result, expiresAt: now + DEDUPLICATION_WINDOW_MS });
    }
    live.set(message.id, message);
    record(message, 'CREATED', spec.delayed ? { nextDeliveryTime: spec.notBefore } : {});
    logger.info('qstash stand-in: message published', { messageId: message.id, url: spec.url, notBefore: spec.notBefore });
    schedule(message, spec.notBefore);
    return result;
  }

  function schedule(message: LiveMessage, at: number): void {
    message.dueAt = at;
    scheduled.add(message);
    const wait = Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS);
    message.timer = setTimeout(() => {
      message.timer = undefined;
      if (at - Date.now() > 1) schedule(message, at);
      else start(message);
    }, wait);
    message.timer.unref();
  }

  function unschedule(message: LiveMessage): void {
    if (message.timer) clearTimeout(message.timer);
    message.timer = undefined;
    message.dueAt = undefined;
    scheduled.delete(message);
  }

  function start(message: LiveMessage): void {
    scheduled.delete(message);
    message.dueAt = undefined;
    const attempt = runAttempt(message)
      .catch((error: unknown) => {
        logger.error('qstash stand-in: delivery crashed', { messageId: message.id, error: String(error) });
      })
      .finally(() => {
        inFlight.delete(attempt);
        checkIdle();
      });
    inFlight.add(attempt);
  }

  async function runAttempt(message: LiveMessage): Promise<void> {
    record(message, 'ACTIVE');
    const outcome = await deliver(message);
    message.abort = undefined;
    if (closed) return;
    settle(message, outcome);
  }

  async function deliver(message: LiveMessage): Promise<Outcome> {
    const { spec } = message;
    const controller = new AbortController();
    message.abort = controller;
    const timeoutMs = spec.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    const headers = new Headers();
    for (const [name, value] of spec.forwardHeaders) headers.append(name, value);
    if (spec.contentType !== undefined) headers.set('content-type', spec.contentType);
    headers.set('user-agent', 'Upstash-QStash');
    headers.set('upstash-message-id', message.id);
    headers.set('upstash-retried', String(message.retried));
    // A GET carries no body, so its signature covers the empty body the destination receives.
    const sendsBody = spec.method !== 'GET';
    const body = sendsBody ? spec.body : new Uint8Array();
    headers.set('upstash-signature', signDelivery({ signingKey: options.currentSigningKey, url: spec.url, body }));
    logger.debug('qstash stand-in: delivering', { messageId: message.id, url: spec.url, retried: message.retried });
    try {
      const response = await fetch(spec.url, {
        method: spec.method,
        headers,
        body: sendsBody ? body : undefined,
        signal: controller.signal,
        redirect: 'manual',
      });
      const answer = new Uint8Array(await response.arrayBuffer());
      return { kind: 'response', status: response.status, headers: response.headers, body: answer };
    } catch (error) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : error;
      const cause = (error as { cause?: unknown }).cause;
      const detail = reason instanceof Error ? reason.message : String(reason);
      return { kind: 'error', error: cause instanceof Error && !controller.signal.aborted ? `${detail}: ${cause.message}` : detail };
    } finally {
      clearTimeout(timer);
    }
  }

  function outcomeFields(outcome: Outcome): Record<string, unknown> {
    if (outcome.kind === 'error') return { error: outcome.error };
    return {
      responseStatus: outcome.status,
      responseHeader: headersToRecord(outcome.headers),
      ...bodyFields(outcome.body, 'responseBody'),
    };
  }

  function settle(message: LiveMessage, outcome: Outcome): void {
    const { spec } = message;
    const delivered = outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300;
    if (delivered) {
      record(message, 'DELIVERED', outcomeFields(outcome));
      logger.info('qstash stand-in: message delivered', { messageId: message.id, status: outcome.status, retried: message.retried });
      live.delete(message.id);
      sendCallback(message, outcome, spec.callback);
      return;
    }
    if (message.cancelRequested) {
      record(message, 'CANCELLED');
      live.delete(message.id);
      return;
    }
    const nonRetryable =
      outcome.kind === 'response' && outcome.status === 489 && outcome.headers.get('upstash-nonretryable-error')?.toLowerCase() === 'true';
    const error = outcome.kind === 'error' ? outcome.error : `endpoint answered ${outcome.status}`;
    record(message, 'ERROR', { ...outcomeFields(outcome), error });
    sendCallback(message, outcome, spec.callback);
    if (!nonRetryable && message.retried < spec.maxRetries) {
      message.retried++;
      const delayMs = retryDelayMs(message, outcome);
      const nextDeliveryTime = Date.now() + delayMs;
      record(message, 'RETRY', { nextDeliveryTime, error });
      logger.warn('qstash stand-in: delivery failed, will retry', { messageId: message.id, error, retried: message.retried, delayMs });
      schedule(message, nextDeliveryTime);
      return;
    }
    const dlqId = `${Date.now()}-${randomId(10)}`;
    dlq.set(dlqId, { seq: ++sequence, dlqId, message, failedAt: Date.now(), outcome });
    live.delete(message.id);
    record(message, 'FAILED', { ...outcomeFields(outcome), error, dlqId });
    logger.warn('qstash stand-in: message failed, moved to the DLQ', { messageId: message.id, dlqId, error, nonRetryable });
    sendCallback(message, outcome, spec.failureCallback, dlqId);
  }

  function retryDelayMs(message: LiveMessage, outcome: Outcome): number {
    const retryAfter = outcome.kind === 'response' ? parseRetryAfter(outcome.headers.get('retry-after')) : undefined;
    const base = retryAfter ?? (message.retryDelay ? message.retryDelay(message.retried - 1) : defaultBackoffMs(message.retried));
    return base * retryDelayFactor;
  }

  /** Publishes the (failure) callback for an attempt as a signed JSON POST, like QStash does. */
  function sendCallback(message: LiveMessage, outcome: Outcome, url: string | undefined, dlqId?: string): void {
    if (url === undefined || message.isCallback) return;
    const { spec } = message;
    const payload = {
      status: outcome.kind === 'response' ? outcome.status : 0,
      header: outcome.kind === 'response' ? headersToRecord(outcome.headers) : {},
      body: outcome.kind === 'response' ? toBase64(outcome.body) : '',
      ...(outcome.kind === 'error' ? { error: outcome.error } : {}),
      retried: message.retried,
      maxRetries: spec.maxRetries,
      sourceMessageId: message.id,
      url: spec.url,
      method: spec.method,
      sourceHeader: messageHeaderRecord(spec),
      sourceBody: toBase64(spec.body),
      notBefore: spec.notBefore,
      createdAt: message.createdAt,
      ...(dlqId === undefined ? {} : { dlqId }),
    };
    try {
      publish(
        {
          url,
          method: 'POST',
          contentType: 'application/json',
          forwardHeaders: [],
          body: Buffer.from(JSON.stringify(payload)),
          maxRetries: DEFAULT_RETRIES,
          retryDelayExpression: undefined,
          timeoutMs: undefined,
          callback: undefined,
          failureCallback: undefined,
          notBefore: Date.now(),
          delayed: false,
          deduplicationId: undefined,
          contentBasedDeduplication: false,
          labels: [],
        },
        true,
      );
    } catch (error) {
      logger.warn('qstash stand-in: could not publish callback', { messageId: message.id, url, error: String(error) });
    }
  }

  /** Cancels a live message; false when it is unknown or already cancelling. */
  function cancel(message: LiveMessage): boolean {
    if (message.cancelRequested) return false;
    message.cancelRequested = true;
    record(message, 'CANCEL_REQUESTED');
    if (message.abort === undefined) {
      unschedule(message);
      live.delete(message.id);
      record(message, 'CANCELLED');
    }
    logger.info('qstash stand-in: message cancelled', { messageId: message.id });
    return true;
  }

  function republish(entry: DlqEntry): PublishResult {
    const result = publish({ ...entry.message.spec, notBefore: Date.now(), delayed: false, deduplicationId: undefined, contentBasedDeduplication: false }, entry.message.isCallback);
    dlq.delete(entry.dlqId);
    return result;
  }

  function dlqPayload(entry: DlqEntry): Record<string, unknown> {
    const outcome = entry.outcome;
    return {
      ...messagePayload(entry.message),
      dlqId: entry.dlqId,
      ...(outcome.kind === 'response'
        ? { responseStatus: outcome.status, responseHeader: headersToRecord(outcome.headers), ...bodyFields(outcome.body, 'responseBody') }
        : { error: outcome.error }),
    };
  }

  function dlqFilterable(entry: DlqEntry): Filterable {
    return {
      messageId: entry.message.id,
      url: entry.message.spec.url,
      labels: entry.message.spec.labels,
      time: entry.failedAt,
      ...(entry.outcome.kind === 'response' ? { responseStatus: entry.outcome.status } : {}),
    };
  }

  /** The DLQ entries a bulk call (`dlqIds=…`, filters, or all) targets, newest first, paged. */
  function selectDlq(query: URLSearchParams, bodyIds: string[]): { entries: DlqEntry[]; cursor: string | undefined } {
    const ids = [...query.getAll('dlqIds'), ...bodyIds];
    if (ids.length > 0) {
      const entries = ids.map((id) => {
        const entry = dlq.get(id);
        if (!entry) throw new ApiError(404, `dlq message not found: ${id}`);
        return entry;
      });
      return { entries, cursor: undefined };
    }
    const matching = [...dlq.values()].filter((entry) => matchesFilters(dlqFilterable(entry), query));
    const { page, cursor } = paginate(matching, query);
    return { entries: page, cursor };
  }

  async function readBody(request: Request): Promise<Uint8Array<ArrayBuffer>> {
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.byteLength > MAX_BODY_BYTES) throw new ApiError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    return body;
  }

  async function readJson(request: Request): Promise<unknown> {
    const text = Buffer.from(await readBody(request)).toString('utf8');
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new ApiError(400, 'request body is not valid JSON');
    }
  }

  function authorized(request: Request): boolean {
    const given = Buffer.from(request.headers.get('authorization') ?? '');
    return given.length === expectedAuthorization.length && timingSafeEqual(given, expectedAuthorization);
  }

  async function handleBatch(request: Request): Promise<Response> {
    const items = await readJson(request);
    if (!Array.isArray(items)) throw new ApiError(400, 'batch body must be a JSON array');
    const now = Date.now();
    const specs = items.map((item: unknown, index) => {
      if (typeof item !== 'object' || item === null) throw new ApiError(400, `batch item ${index} is not an object`);
      const { destination, headers, body } = item as { destination?: unknown; headers?: unknown; body?: unknown };
      if (typeof destination !== 'string') throw new ApiError(400, `batch item ${index} has no destination`);
      const headerEntries: Array<[string, string]> = [];
      if (typeof headers === 'object' && headers !== null) {
        for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
          if (typeof value === 'string') headerEntries.push([name, value]);
          else if (Array.isArray(value)) for (const v of value) headerEntries.push([name, String(v)]);
        }
      }
      const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body === undefined || body === null ? new Uint8Array() : Buffer.from(JSON.stringify(body));
      return parsePublish(destination, headerEntries, bytes, now);
    });
    return json(200, specs.map((spec) => publish(spec)));
  }

  async function route(request: Request): Promise<Response> {
    const pathAndQuery = rawPathAndQuery(request.url);
    const queryStart = pathAndQuery.indexOf('?');
    const rawPath = queryStart < 0 ? pathAndQuery : pathAndQuery.slice(0, queryStart);
    if (!rawPath.startsWith(`${basePath}/v2/`)) throw new ApiError(404, `not found: ${rawPath}`);
    if (!authorized(request)) throw new ApiError(401, 'unauthorized: missing or invalid bearer token');

    const rest = pathAndQuery.slice(basePath.length);
    const method = request.method.toUpperCase();
    if (rest.startsWith('/v2/publish/')) {
      if (method !== 'POST') throw new ApiError(405, `method ${method} not allowed`);
      const spec = parsePublish(rest.slice('/v2/publish/'.length), request.headers, await readBody(request), Date.now());
      const result = publish(spec);
      return json(result.deduplicated ? 202 : 200, result);
    }

    const query = new URL(request.url).searchParams;
    const segments = rawPath
      .slice(basePath.length + '/v2/'.length)
      .split('/')
      .filter((segment) => segment !== '')
      .map((segment) => decodeURIComponent(segment));
    const [resource, id, extra] = segments;
    const notAllowed = (): never => {
      throw new ApiError(405, `method ${method} not allowed on ${rawPath}`);
    };

    switch (resource) {
      case 'batch':
        if (method !== 'POST' || id !== undefined) return notAllowed();
        return handleBatch(request);

      case 'keys':
        if (method !== 'GET') return notAllowed();
        return json(200, { current: options.currentSigningKey, next: options.nextSigningKey });

      case 'messages': {
        if (id === undefined) {
          if (method !== 'DELETE') return notAllowed();
          const ids = query.getAll('messageIds');
          const targets =
            ids.length > 0
              ? ids.map((messageId) => live.get(messageId)).filter((message) => message !== undefined)
              : [...live.values()].filter((message) =>
                  matchesFilters({ messageId: message.id, url: message.spec.url, labels: message.spec.labels, time: message.createdAt }, query),
                );
          return json(200, { cancelled: targets.filter((message) => cancel(message)).length });
        }
        const message = live.get(id);
        if (method === 'GET') {
          if (!message || message.cancelRequested) throw new ApiError(404, `message not found: ${id}`);
          return json(200, messagePayload(message));
        }
        if (method === 'DELETE') {
          if (!message || !cancel(message)) throw new ApiError(404, `message not found: ${id}`);
          return json(200, { cancelled: 1 });
        }
        return notAllowed();
      }

      case 'dlq': {
        if (id === 'retry') {
          if (method !== 'POST') return notAllowed();
          const body = await readJson(request);
          const bodyIds = typeof body === 'object' && body !== null && Array.isArray((body as { dlqIds?: unknown }).dlqIds) ? (body as { dlqIds: unknown[] }).dlqIds.map(String) : [];
          const singleId = extra === undefined ? [] : [extra];
          const { entries, cursor } = selectDlq(query, [...bodyIds, ...singleId]);
          const responses = entries.map((entry) => republish(entry));
          return json(200, cursor === undefined ? { responses } : { responses, cursor });
        }
        if (id === undefined) {
          if (method === 'GET') {
            const { entries, cursor } = selectDlq(query, []);
            const messages = entries.map((entry) => dlqPayload(entry));
            return json(200, cursor === undefined ? { messages } : { messages, cursor });
          }
          if (method === 'DELETE') {
            const { entries, cursor } = selectDlq(query, []);
            for (const entry of entries) dlq.delete(entry.dlqId);
            return json(200, cursor === undefined ? { deleted: entries.length } : { deleted: entries.length, cursor });
          }
          return notAllowed();
        }
        const entry = dlq.get(id);
        if (!entry) throw new ApiError(404, `dlq message not found: ${id}`);
        if (method === 'GET') return json(200, dlqPayload(entry));
        if (method === 'DELETE') {
          dlq.delete(id);
          return json(200, { deleted: 1 });
        }
        return notAllowed();
      }

      case 'events':
      case 'logs': {
        if (method !== 'GET' || id !== undefined) return notAllowed();
        const messageIds = query.getAll('messageIds');
        const matching = events.filter(
          (event) => (messageIds.length === 0 || messageIds.includes(event.messageId)) && matchesFilters(event, query),
        );
        const { page, cursor } = paginate(matching, query);
        const payload = page.map((event) => event.payload);
        return json(200, cursor === undefined ? { events: payload } : { events: payload, cursor });
      }

      default:
        if (resource !== undefined && UNSUPPORTED_ROUTES.has(resource)) {
          throw new ApiError(501, `/v2/${resource} is not supported by the local QStash stand-in`);
        }
        throw new ApiError(404, `not found: ${rawPath}`);
    }
  }

  return {
    async fetch(request) {
      try {
        return await route(request);
      } catch (error) {
        if (error instanceof ApiError) {
          if (error.status >= 500) logger.warn('qstash stand-in: request refused', { url: request.url, error: error.message });
          else logger.debug('qstash stand-in: bad request', { url: request.url, status: error.status, error: error.message });
          return json(error.status, { error: error.message });
        }
        logger.error('qstash stand-in: internal error', { url: request.url, error: String(error) });
        return json(500, { error: 'internal error in the QStash stand-in' });
      }
    },

    idle(withinMs = Number.POSITIVE_INFINITY) {
      return new Promise<void>((resolve) => {
        idleWaiters.add({ withinMs, resolve });
        checkIdle();
      });
    },

    async close() {
      closed = true;
      for (const message of [...scheduled]) unschedule(message);
      for (const message of live.values()) message.abort?.abort(new Error('the QStash stand-in closed'));
      await Promise.allSettled([...inFlight]);
      checkIdle();
    },
  };
}
