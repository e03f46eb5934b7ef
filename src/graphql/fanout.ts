import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { getOperationAST, GraphQLError, Kind, print, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Logger } from '../logger.js';
import type { GraphQLContext } from './context.js';

/**
 * Subscriptions shared between subscribers: one GraphQL execution per event for every subscriber
 * with the same document, operation name, variables and caller scope, its result serialised once
 * and written to every one of them.
 *
 * Measured before (issue 7): each subscriber was its own execution per event, resolved, serialised
 * and written once per subscriber; at 1,000 SSE subscribers and 20 events/s the p99 was 10.8 s and
 * memory grew to 1.28 GiB behind unbounded queues.
 *
 * Where it sits: an envelop `onSubscribe` replaces the subscribe function for operations whose
 * root fields are all listed as shareable, after Yoga has parsed, validated (graphql-armor's
 * limits), authenticated (useApiKeys' `onSubscribe` runs first and stops the unauthenticated) and
 * built the context. The first subscriber of a key opens the one source (the real subscribe with
 * a context of the key's scope); the others join it. Results are masked once, with the same
 * `maskError` Yoga uses. Over SSE, `onResultProcess` answers with a stream that the source pushes
 * the shared bytes into (Yoga's own SSE format: `event: next` / `event: complete`, which the
 * graphql-sse client reads in distinct connections mode); over WebSocket (graphql-ws) and any other
 * transport the subscriber is an async iterator over the shared results.
 *
 * Bounded buffers: a subscriber whose unsent backlog is over `maxBufferedBytes` when the next
 * event comes is dropped (so one event larger than the limit still goes out): it
 * leaves the source at once, receives what was already queued, then one result with the error
 * `SUBSCRIBER_TOO_SLOW`, then the stream ends. A dropped SSE stream that is not read for
 * `dropGraceMs` more is destroyed, so its backlog cannot pin memory.
 */
export interface FanoutOptions {
  /** Root subscription fields whose results depend only on the document, variables and scope. */
  shareable: readonly string[];
  /** Unsent bytes per subscriber before it is dropped (SSE: the stream's backlog; iterators: the results' serialised size). */
  maxBufferedBytes: number;
  /** Interval of the SSE keep-alive comment (`:`) on idle shared streams; default 12 s, as Yoga's own SSE. */
  keepAliveMs?: number;
  /** How long a dropped SSE stream may take to read its last bytes before it is destroyed. */
  dropGraceMs?: number;
  /** Yoga's `maskedErrors.maskError`: shared results are masked once, the same way. */
  maskError: (error: GraphQLError, message: string) => Error;
  logger: Logger;
}

/** `extensions.code` of the error a dropped subscriber receives last. */
export const SUBSCRIBER_TOO_SLOW = 'SUBSCRIBER_TOO_SLOW';

const MASKED_MESSAGE = 'Unexpected error.';
// Yoga pings every 12 s so that proxies keep an idle stream open; one timer for all streams here.
const DEFAULT_KEEP_ALIVE_MS = 12_000;
const PING = Buffer.from(':\n\n');
const COMPLETE = Buffer.from('event: complete\ndata:\n\n');

/** A result as every subscriber of its source receives it; serialised once, on first need. */
class SharedResult {
  private bytes: Buffer | undefined;
  constructor(readonly result: ExecutionResult) {}

  /** `event: next` with the result as Yoga writes it (no `extensions.http` on errors). */
  get sse(): Buffer {
    return (this.bytes ??= Buffer.from(`event: next\ndata: ${stringifyResult(this.result)}\n\n`));
  }
}

/** Results that go out together: one write of their bytes to each stream. */
class SharedBatch {
  private bytes: Buffer | undefined;
  constructor(readonly results: SharedResult[]) {}

  get sse(): Buffer {
    return (this.bytes ??= this.results.length === 1 ? this.results[0]!.sse : Buffer.concat(this.results.map((r) => r.sse)));
  }
}

function stringifyResult(result: ExecutionResult): string {
  if (!result.errors?.length) return JSON.stringify(result);
  const errors = result.errors.map((error) => {
    const json = error.toJSON();
    const { http: _http, unexpected: _unexpected, ...extensions } = json.extensions ?? {};
    return Object.keys(extensions).length > 0 ? { ...json, extensions } : { ...json, extensions: undefined };
  });
  return JSON.stringify({ ...result, errors });
}

function tooSlowResult(limit: number): ExecutionResult {
  return {
    errors: [
      createGraphQLError(`Subscriber too slow: more than ${Math.round(limit / 1024)} KiB of events were waiting to be sent; the subscription ended`, {
        extensions: { code: SUBSCRIBER_TOO_SLOW },
      }),
    ],
  };
}

type Next = IteratorResult<ExecutionResult, undefined>;

/** Where a streaming subscriber's bytes go: a Readable Yoga answers with, or the node response itself. */
interface ByteSink {
  write(bytes: Buffer): void;
  /** Bytes written and not yet handed to the socket. */
  backlog(): number;
  /** Writes the last bytes and ends. */
  finish(bytes: Buffer): void;
  /** Ends at once, unsent bytes lost (a dropped client that stopped reading). */
  destroy(): void;
  /** Calls `listener` once when the client has gone or the stream has ended. */
  onClose(listener: () => void): void;
}

function readableSink(readable: Readable): ByteSink {
  return {
    write: (bytes) => void (readable.destroyed || readable.push(bytes)),
    backlog: () => readable.readableLength,
    finish: (bytes) => {
      if (readable.destroyed) return;
      readable.push(bytes);
      readable.push(null);
    },
    destroy: () => readable.destroy(),
    onClose: (listener) => void readable.once('close', listener),
  };
}

function responseSink(res: ServerResponse): ByteSink {
  return {
    write: (bytes) => void (res.destroyed || res.write(bytes)),
    backlog: () => res.writableLength,
    finish: (bytes) => void (res.destroyed || res.end(bytes)),
    destroy: () => res.destroy(),
    onClose: (listener) => void res.once('close', listener),
  };
}

/** The SSE response headers, as Yoga's own SSE processor sends them. */
export const EVENT_STREAM_HEADERS = {
  'Content-Type': 'text/event-stream',
  Connection: 'keep-alive',
  'Cache-Control': 'no-cache',
  'Content-Encoding': 'none',
} as const;

/**
 * One subscriber of a shared source: an async iterator (WebSocket, and any transport that pulls)
 * until it is given a byte sink (SSE), which the source then writes the shared bytes into.
 */
export class Subscriber implements AsyncIterableIterator<ExecutionResult> {
  private queue: SharedResult[] = [];
  private queuedBytes = 0;
  private waiting: ((next: Next) => void) | undefined;
  private sink: ByteSink | undefined;
  /** No more events from the source: the queue is the last of it. */
  private ended = false;
  private closed = false;
  private last: ExecutionResult | undefined;

  constructor(
    private readonly source: SharedSource,
    private readonly limits: { maxBufferedBytes: number; dropGraceMs: number },
  ) {}

  [Symbol.asyncIterator]() {
    return this;
  }

  deliver(batch: SharedBatch): void {
    if (this.ended) return;
    const sink = this.sink;
    // Dropped when the backlog is already over the limit as the next event comes: one event larger
    // than the limit still goes out, and what waits is at most the limit plus one batch.
    if (sink) {
      if (sink.backlog() > this.limits.maxBufferedBytes) return this.drop();
      sink.write(batch.sse);
      return;
    }
    for (const shared of batch.results) {
      if (this.ended) return;
      if (this.waiting) {
        const resolve = this.waiting;
        this.waiting = undefined;
        resolve({ done: false, value: shared.result });
        continue;
      }
      if (this.queuedBytes > this.limits.maxBufferedBytes) return this.drop();
      this.queue.push(shared);
      this.queuedBytes += shared.sse.length;
    }
  }

  /** The source ended (or failed: then `last` is its error result). */
  end(last?: ExecutionResult): void {
    if (this.ended) return;
    this.ended = true;
    this.last = last;
    if (this.sink) return this.finishStream();
    if (this.waiting && this.queue.length === 0) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve(this.takeLast());
    }
  }

  next(): Promise<Next> {
    const shared = this.queue.shift();
    if (shared) {
      this.queuedBytes -= shared.sse.length;
      return Promise.resolve({ done: false, value: shared.result });
    }
    if (this.ended || this.closed) return Promise.resolve(this.takeLast());
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<Next> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  throw(error: unknown): Promise<Next> {
    this.close();
    return Promise.reject(error);
  }

  /** The subscriber as a Readable of SSE bytes, for a Response built by Yoga's `onResultProcess`. */
  stream(): Readable {
    const readable = new Readable({ read() {} });
    this.attach(readableSink(readable));
    return readable;
  }

  /** Writes straight to a node response: headers, then the shared bytes of every event. */
  respond(res: ServerResponse): void {
    // The client may have gone while it subscribed: then no 'close' is still to come.
    if (res.destroyed || !res.socket || res.socket.destroyed) return this.close();
    res.writeHead(200, EVENT_STREAM_HEADERS);
    this.attach(responseSink(res));
  }

  ping(): void {
    // Only an idle stream needs the keep-alive; a backlog means bytes are on their way anyway.
    if (this.sink && !this.ended && this.sink.backlog() === 0) this.sink.write(PING);
  }

  /** What was queued since it subscribed goes first; the client going away leaves the source. */
  private attach(sink: ByteSink): void {
    this.sink = sink;
    sink.onClose(() => this.close());
    // Always a first ping: some browsers do not show the stream before bytes arrive (as Yoga does).
    sink.write(this.queue.length > 0 ? Buffer.concat([PING, ...this.queue.map((shared) => shared.sse)]) : PING);
    this.queue = [];
    this.queuedBytes = 0;
    if (this.ended) this.finishStream();
  }

  private takeLast(): Next {
    const last = this.last;
    this.last = undefined;
    return last ? { done: false, value: last } : { done: true, value: undefined };
  }

  /** Too far behind: no more events, the error after what is already queued, then the end. */
  private drop(): void {
    this.source.leave(this);
    this.source.dropped(this);
    this.end(tooSlowResult(this.limits.maxBufferedBytes));
    // An iterator keeps the backlog it has (bounded) and then the error. A stream that is not read
    // to its end within the grace period is cut, so that its backlog cannot pin memory.
    const sink = this.sink;
    if (!sink) return;
    const timer = setTimeout(() => sink.destroy(), this.limits.dropGraceMs);
    timer.unref();
    sink.onClose(() => clearTimeout(timer));
  }

  private finishStream(): void {
    const last = this.takeLast();
    this.sink!.finish(last.done ? COMPLETE : Buffer.concat([new SharedResult(last.value).sse, COMPLETE]));
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.leave(this);
    this.queue = [];
    this.queuedBytes = 0;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ done: true, value: undefined });
    }
  }
}

/** One execution stream per key, multicast to its subscribers. */
class SharedSource {
  readonly subscribers = new Set<Subscriber>();
  private closed = false;
  private pending: SharedResult[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  /** How long writing a batch to every subscriber took lately, ms (a moving average). */
  private flushMs = 0;

  constructor(
    private readonly hub: Fanout,
    readonly key: string,
    private readonly results: AsyncIterator<ExecutionResult>,
  ) {}

  /** Pulls results for as long as anyone listens; one at a time, as graphql-js executes them. */
  async run(): Promise<void> {
    let last: ExecutionResult | undefined;
    try {
      for (;;) {
        const next = await this.results.next();
        if (next.done || this.closed) break;
        this.publish(new SharedResult(this.hub.mask(next.value)));
      }
    } catch (error) {
      last = this.hub.mask({ errors: [error instanceof GraphQLError ? error : new GraphQLError(String(error), { originalError: toError(error) })] });
    } finally {
      this.flush();
      this.hub.forget(this);
      for (const subscriber of this.subscribers) subscriber.end(last);
      this.subscribers.clear();
    }
  }

  /**
   * Sends a result now, or with the others that arrive within a short window while writing to
   * every subscriber takes a while: each write to a socket costs a system call and the client a
   * read, whatever its size, and at 1,000 subscribers × 100 events/s one write per event per
   * subscriber took this 2-core machine's loopback to its limit (the bare server too). The window
   * is 1.6 times as long as the last writes to all of them took (a moving average), up to 100 ms:
   * writing then takes at most about 40 % of the time, and an event waits little more than one
   * write of all subscribers before its own. At 5,000 subscribers × 100 events/s (bench/fanout.ts)
   * p99 was 191 ms with 1.6, 214 with 1, 302 with 2.5, and 281 ms with a window fixed by the count
   * (1 ms per 40 subscribers, 100 ms from 4,000), most of it waiting in the window.
   */
  private publish(shared: SharedResult): void {
    this.pending.push(shared);
    if (this.flushTimer) return;
    const windowMs = Math.min(100, Math.round(this.flushMs * 1.6));
    if (windowMs === 0) return this.flush();
    this.flushTimer = setTimeout(() => this.flush(), windowMs);
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = new SharedBatch(this.pending);
    this.pending = [];
    const started = performance.now();
    for (const subscriber of this.subscribers) subscriber.deliver(batch);
    this.flushMs = 0.7 * this.flushMs + 0.3 * (performance.now() - started);
  }

  leave(subscriber: Subscriber): void {
    if (!this.subscribers.delete(subscriber) || this.subscribers.size > 0 || this.closed) return;
    // The last one left: stop the source (the bus unsubscribes) and let the next subscriber open a new one.
    this.closed = true;
    this.hub.forget(this);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.pending = [];
    void this.results.return?.().catch(() => {});
  }

  dropped(_subscriber: Subscriber): void {
    this.hub.logger.warn('[graphql] Dropped a subscriber that could not keep up', { key: this.hub.describe(this.key) });
  }
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The shared sources of one GraphQL server, and the Yoga plugin that routes subscriptions to them. */
export class Fanout {
  private readonly sources = new Map<string, SharedSource>();
  private readonly shareable: ReadonlySet<string>;
  private readonly printed = new WeakMap<DocumentNode, string>();
  /** SSE requests whose subscription is shared, until their result is processed. */
  private readonly byRequest = new WeakMap<Request, Subscriber>();
  /** Subscribers by their subscriber's context, for a transport that writes the bytes itself (`claim`). */
  private readonly byContext = new WeakMap<object, Subscriber>();
  private readonly limits: { maxBufferedBytes: number; dropGraceMs: number };
  private pinger: NodeJS.Timeout | undefined;
  readonly logger: Logger;

  constructor(private readonly options: FanoutOptions) {
    this.shareable = new Set(options.shareable);
    this.limits = { maxBufferedBytes: options.maxBufferedBytes, dropGraceMs: options.dropGraceMs ?? 30_000 };
    this.logger = options.logger;
  }

  /** Open sources and their subscribers, for tests and diagnostics. */
  stats(): { sources: number; subscribers: number } {
    let subscribers = 0;
    for (const source of this.sources.values()) subscribers += source.subscribers.size;
    return { sources: this.sources.size, subscribers };
  }

  plugin(): Plugin<GraphQLContext> {
    return {
      onSubscribe: ({ args, subscribeFn, setSubscribeFn }) => {
        if (!this.isShareable(args)) return;
        setSubscribeFn((subscribeArgs) => this.join(subscribeArgs, subscribeFn));
      },
      onResultProcess: ({ request, setResultProcessor }) => {
        const subscriber = this.byRequest.get(request);
        if (!subscriber) return;
        this.byRequest.delete(request);
        if (!acceptsEventStream(request)) return;
        setResultProcessor((_result, fetchAPI) => {
          const readable = subscriber.stream();
          // Not every server cancels a Response body when its client goes away (Hono's node server
          // did not, in test/adapters): the request's signal says so too.
          if (request.signal.aborted) readable.destroy();
          else request.signal.addEventListener('abort', () => readable.destroy(), { once: true });
          // On node (the ponyfill) the Readable is piped to the socket as it is; a native fetch API
          // (Next.js, Deno, Bun) gets a web stream over it.
          const body = fetchAPI.ReadableStream === globalThis.ReadableStream ? (Readable.toWeb(readable) as ReadableStream) : new fetchAPI.ReadableStream(readable as never);
          return new fetchAPI.Response(body, { status: 200, headers: EVENT_STREAM_HEADERS });
        }, 'text/event-stream');
      },
    };
  }

  /** Masks a result's errors once, for every subscriber, as Yoga masks any other result. */
  mask(result: ExecutionResult): ExecutionResult {
    if (!result.errors?.length) return result;
    return {
      ...result,
      errors: result.errors.map((error) => {
        const masked = this.options.maskError(error, MASKED_MESSAGE);
        if (masked !== error) this.logger.error('[graphql] Subscription error', { error: error.message });
        return masked as GraphQLError;
      }),
    };
  }

  forget(source: SharedSource): void {
    if (this.sources.get(source.key) === source) this.sources.delete(source.key);
    if (this.sources.size === 0 && this.pinger) {
      clearInterval(this.pinger);
      this.pinger = undefined;
    }
  }

  /** A key for log lines: the operation without variables (they may name jobs). */
  describe(key: string): string {
    return key.split('\u0000')[2]?.replace(/\s+/g, ' ').slice(0, 200) ?? '';
  }

  /**
   * The shared subscriber that subscribing with `contextValue` joined, for a transport that writes
   * its bytes itself (src/http/event-stream.ts); once.
   */
  claim(contextValue: object): Subscriber | undefined {
    const subscriber = this.byContext.get(contextValue);
    this.byContext.delete(contextValue);
    return subscriber;
  }

  /** Whether the operation is a subscription to shareable root fields only. */
  isShareable(args: Pick<ExecutionArgs, 'document' | 'operationName'>): boolean {
    const operation = getOperationAST(args.document, args.operationName);
    if (operation?.operation !== 'subscription') return false;
    return operation.selectionSet.selections.every((s) => s.kind === Kind.FIELD && this.shareable.has(s.name.value));
  }

  private keyOf(args: ExecutionArgs): string {
    const context = args.contextValue as GraphQLContext;
    let document = this.printed.get(args.document);
    if (document === undefined) {
      document = print(args.document);
      this.printed.set(args.document, document);
    }
    return [context.scope ?? '', args.operationName ?? '', document, JSON.stringify(args.variableValues ?? {})].join('\u0000');
  }

  private async join(args: ExecutionArgs, subscribe: (args: ExecutionArgs) => unknown): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
    const context = args.contextValue as GraphQLContext & { request?: Request };
    const key = this.keyOf(args);
    let source = this.sources.get(key);
    if (!source) {
      // The source outlives its first subscriber: its context is the key's (scope and the domain),
      // not that subscriber's request.
      const shared: GraphQLContext = { jobs: context.jobs, alerts: context.alerts, systemCheck: context.systemCheck, actor: context.actor, scope: context.scope };
      const opened = (await subscribe({ ...args, contextValue: shared })) as AsyncIterable<ExecutionResult> | ExecutionResult;
      if (!isAsyncIterable(opened)) return opened; // bad arguments and the like: this subscriber's error alone
      source = this.sources.get(key);
      if (source) {
        // Another subscriber opened the same key while this one waited: join theirs.
        void opened[Symbol.asyncIterator]().return?.();
      } else {
        source = new SharedSource(this, key, opened[Symbol.asyncIterator]());
        this.sources.set(key, source);
        void source.run();
        this.pinger ??= setInterval(() => this.ping(), this.options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS).unref();
      }
    }
    const subscriber = new Subscriber(source, this.limits);
    source.subscribers.add(subscriber);
    if (context.request) this.byRequest.set(context.request, subscriber);
    this.byContext.set(context, subscriber);
    return subscriber;
  }

  private ping(): void {
    for (const source of this.sources.values()) for (const subscriber of source.subscribers) subscriber.ping();
  }
}

function isAsyncIterable(value: unknown): value is AsyncIterable<ExecutionResult> {
  return value !== null && typeof value === 'object' && Symbol.asyncIterator in value;
}

function acceptsEventStream(request: Request): boolean {
  return (request.headers.get('accept') ?? '').includes('text/event-stream');
}
