/**
 * The delivery engine: accepts publishes, holds them until due, delivers each signed attempt,
 * retries with QStash's backoff, sends callbacks, cancels, and hands exhausted messages to the DLQ.
 * A message published to a queue waits for its queue's turn (queues.ts) before its first attempt.
 */
import { randomId, signDelivery } from '../signing.js';
import { compileRetryDelay, defaultBackoffMs, parseRetryAfter } from '../timing.js';
import { ApiError } from './api.js';
import type { DeadLetterQueue } from './dlq.js';
import type { EventLog } from './event-log.js';
import { deduplicationKey, jsonPostSpec } from './publish-spec.js';
import { createQueueStore, type QueueStore } from './queues.js';
import type { LiveMessage, Outcome, PublishResult, PublishSpec, StandInLogger } from './types.js';
import { headersToRecord, messageHeaderRecord, outcomeFields, toBase64 } from './wire.js';

/** Cap on one attempt when the publisher sets no Upstash-Timeout. */
const DEFAULT_TIMEOUT_MS = 15 * 60_000;
const DEDUPLICATION_WINDOW_MS = 10 * 60_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface EngineDeps {
  signingKey: string;
  retryDelayFactor: number;
  logger: StandInLogger;
  events: EventLog;
  dlq: DeadLetterQueue;
}

export interface Engine {
  /** Accepts a message (or answers the earlier one for a duplicate); 503 once closed. */
  publish(spec: PublishSpec, isCallback?: boolean): PublishResult;
  /** The message still in the system under `id`. */
  get(id: string): LiveMessage | undefined;
  /** Live messages, in publish order. */
  messages(): IterableIterator<LiveMessage>;
  /** Cancels a live message; false when it is already cancelling. */
  cancel(message: LiveMessage): boolean;
  /** The queues messages wait their turn in. */
  readonly queues: QueueStore;
  /** Calls `listener` once each message leaves the system: delivered, or failed into the DLQ, or cancelled. */
  onSettled(listener: (message: LiveMessage, delivered: boolean) => void): void;
  idle(withinMs: number): Promise<void>;
  close(): Promise<void>;
}

export function createEngine(deps: EngineDeps): Engine {
  const { logger, events, dlq, retryDelayFactor } = deps;
  const live = new Map<string, LiveMessage>();
  const scheduled = new Set<LiveMessage>();
  const inFlight = new Set<Promise<void>>();
  const deduplication = new Map<string, { result: PublishResult; expiresAt: number }>();
  const idleWaiters = new Set<{ withinMs: number; resolve: () => void }>();
  const settledListeners: Array<(message: LiveMessage, delivered: boolean) => void> = [];
  let closed = false;
  const queues = createQueueStore({ logger, start: (message) => start(message) });

  function finish(message: LiveMessage, delivered: boolean): void {
    live.delete(message.id);
    queues.leave(message);
    for (const listener of settledListeners) listener(message, delivered);
  }

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
    if (spec.queueName !== undefined) queues.published(spec.queueName);
    events.record(message, 'CREATED', spec.delayed ? { nextDeliveryTime: spec.notBefore } : {});
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
      else due(message);
    }, wait);
    message.timer.unref();
  }

  function unschedule(message: LiveMessage): void {
    if (message.timer) clearTimeout(message.timer);
    message.timer = undefined;
    message.dueAt = undefined;
    scheduled.delete(message);
  }

  /** A message fell due: a queued one without a turn yet joins its queue's line, any other starts. */
  function due(message: LiveMessage): void {
    if (message.spec.queueName === undefined || queues.holdsTurn(message)) {
      start(message);
      return;
    }
    scheduled.delete(message);
    message.dueAt = undefined;
    queues.arrive(message);
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
    events.record(message, 'ACTIVE');
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
    if (spec.scheduleId !== undefined) headers.set('upstash-schedule-id', spec.scheduleId);
    // A GET carries no body, so its signature covers the empty body the destination receives.
    const sendsBody = spec.method !== 'GET';
    const body = sendsBody ? spec.body : new Uint8Array();
    headers.set('upstash-signature', signDelivery({ signingKey: deps.signingKey, url: spec.url, body }));
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

  function settle(message: LiveMessage, outcome: Outcome): void {
    const { spec } = message;
    const delivered = outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300;
    if (delivered) {
      events.record(message, 'DELIVERED', outcomeFields(outcome));
      logger.info('qstash stand-in: message delivered', { messageId: message.id, status: outcome.status, retried: message.retried });
      finish(message, true);
      sendCallback(message, outcome, spec.callback);
      return;
    }
    if (message.cancelRequested) {
      events.record(message, 'CANCELLED');
      finish(message, false);
      return;
    }
    const nonRetryable =
      outcome.kind === 'response' && outcome.status === 489 && outcome.headers.get('upstash-nonretryable-error')?.toLowerCase() === 'true';
    const error = outcome.kind === 'error' ? outcome.error : `endpoint answered ${outcome.status}`;
    events.record(message, 'ERROR', { ...outcomeFields(outcome), error });
    sendCallback(message, outcome, spec.callback);
    if (!nonRetryable && message.retried < spec.maxRetries) {
      message.retried++;
      const delayMs = retryDelayMs(message, outcome);
      const nextDeliveryTime = Date.now() + delayMs;
      events.record(message, 'RETRY', { nextDeliveryTime, error });
      logger.warn('qstash stand-in: delivery failed, will retry', { messageId: message.id, error, retried: message.retried, delayMs });
      schedule(message, nextDeliveryTime);
      return;
    }
    const dlqId = dlq.add(message, outcome);
    finish(message, false);
    events.record(message, 'FAILED', { ...outcomeFields(outcome), error, dlqId });
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
      publish(jsonPostSpec(url, payload, Date.now()), true);
    } catch (error) {
      logger.warn('qstash stand-in: could not publish callback', { messageId: message.id, url, error: String(error) });
    }
  }

  return {
    publish,
    queues,
    get: (id) => live.get(id),
    messages: () => live.values(),

    cancel(message) {
      if (message.cancelRequested) return false;
      message.cancelRequested = true;
      events.record(message, 'CANCEL_REQUESTED');
      if (message.abort === undefined) {
        unschedule(message);
        finish(message, false);
        events.record(message, 'CANCELLED');
      }
      logger.info('qstash stand-in: message cancelled', { messageId: message.id });
      return true;
    },

    onSettled(listener) {
      settledListeners.push(listener);
    },

    idle(withinMs) {
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
