import type { DatabaseHandle, ListenSession } from '../db/client.js';
import type { JobStatus } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { errorMessage, JobEventsBehindError, JobEventsLostError } from './errors.js';

/**
 * The lifecycle vocabulary, shared by the recorder, the logs and the `jobEvents` subscription.
 * The database trigger in drizzle/*_job_events emits exactly these, one per recorded change.
 */
export const JOB_EVENT_TYPES = ['enqueued', 'requeued', 'started', 'retrying', 'completed', 'failed', 'cancelled'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/** NOTIFY channel of the job event trigger. */
export const JOB_EVENTS_CHANNEL = 'jobscope_job_events';

export interface JobEvent {
  type: JobEventType;
  jobId: string;
  jobType: string;
  status: JobStatus;
  retryCount: number;
  error: string | null;
  occurredAt: Date;
}

/** An event as the log and the NOTIFY payload carry it: with its log id and transaction. */
interface LoggedEvent {
  id: number;
  tx: string;
  event: JobEvent;
}

interface Listener {
  onEvent(event: JobEvent): void;
  /** The bus was deaf longer than the event log keeps events: some may be lost for good. */
  onGap?(error: JobEventsLostError): void;
}

export interface JobEventBusOptions {
  /**
   * How often the listening connection is checked (a statement on it, which must answer within
   * the same time) and the replay horizon moves on; default 5 s. A dead connection that the
   * network did not report is noticed within two of these.
   */
  heartbeatMs?: number;
  /** Reconnection backoff: the first delay, doubled per failed attempt up to `reconnectMaxMs`. */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /**
   * How long the event log keeps events, so the longest outage whose events are replayed; a
   * longer one ends every subscriber with EVENTS_LOST. Default 1 hour.
   */
  retentionMs?: number;
  /** How often the log is pruned (one instance at a time); default 1 minute. */
  pruneEveryMs?: number;
}

/** Pruning the log: one instance at a time (a transaction-level advisory lock, taken once per statement; others skip). */
const PRUNE_LOCK = 0x6a6f6265; // 'jobe'

/**
 * The events of transactions at or after `horizon` (an xid8; undefined: the statement's own
 * snapshot xmin), in id order, with the xmin of the statement's snapshot: every transaction below
 * it had finished when the rows were read.
 */
export async function readEventLog(
  query: ListenSession['query'],
  horizon: string | undefined,
): Promise<{ horizon: string; events: LoggedEvent[] }> {
  const [row] = await query<{ horizon: string; events: string }>(
    `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon,
       coalesce((SELECT json_agg(json_build_object('id', e.id, 'tx', e.tx::text, 'type', e.type, 'jobId', e.job_id,
                   'jobType', e.job_type, 'status', e.status, 'retryCount', e.retry_count, 'error', e.error,
                   'occurredAt', e.occurred_at) ORDER BY e.id)
                 FROM job_events e WHERE e.tx >= coalesce($1::text::xid8, pg_snapshot_xmin(pg_current_snapshot()))),
                '[]'::json)::text AS events`,
    [horizon ?? null],
  );
  const events = (JSON.parse(row!.events) as RawEvent[]).map(parseEvent);
  return { horizon: row!.horizon, events };
}

/** The xmin of a fresh snapshot: every transaction below it has finished. */
async function currentHorizon(query: ListenSession['query']): Promise<string> {
  const [row] = await query<{ horizon: string }>(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`);
  return row!.horizon;
}

/** Deletes events older than `retentionMs`, unless another instance is doing it; returns how many. */
export async function pruneEventLog(handle: Pick<DatabaseHandle, 'query'>, retentionMs: number): Promise<number> {
  const rows = await handle.query<{ n: string }>(
    `WITH pruned AS (
       DELETE FROM job_events WHERE occurred_at < clock_timestamp() - $1::int8 * interval '1 millisecond'
         AND (SELECT pg_try_advisory_xact_lock(${PRUNE_LOCK})) RETURNING 1)
     SELECT count(*)::text AS n FROM pruned`,
    [Math.round(retentionMs)],
  );
  return Number(rows[0]?.n ?? 0);
}

type RawEvent = Omit<JobEvent, 'occurredAt'> & { id: number; tx: string; occurredAt: string };

function parseEvent(raw: RawEvent): LoggedEvent {
  const { id, tx, occurredAt, ...rest } = raw;
  return { id, tx, event: { ...rest, occurredAt: new Date(occurredAt) } };
}

/**
 * One LISTEN per process, fanned out to in-process subscribers. Every instance sharing the
 * database hears every change, whichever instance (or operator) recorded it.
 *
 * It survives connection loss: the listening connection is its own, checked by a heartbeat;
 * when it goes, the bus logs it, listens again with backoff, and replays from the event log
 * (`job_events`) what was recorded while it was deaf, in id order, never an event twice.
 *
 * Which events a replay reads, given that transactions commit out of order (an id below the
 * highest one seen may still commit): `horizon` is an xid8 such that every transaction below it
 * finished while the bus was listening (or before a replay that read it), so each of their
 * events has been delivered. A replay reads the events of transactions at or above it, after
 * LISTEN is in place, and skips those already delivered (`seen`, by id); the xmin of its snapshot
 * becomes the next horizon. The heartbeat moves the horizon to the xmin read one heartbeat
 * earlier (so that notifications in flight at that read have arrived), and `seen` keeps only the
 * events at or above it: about two heartbeats' worth.
 */
export class JobEventBus {
  private readonly listeners = new Set<Listener>();
  private readonly options: Required<JobEventBusOptions>;
  private session: ListenSession | undefined;
  private closed = false;
  private started = false;
  private horizon: string | undefined;
  /** An xmin read while listening; becomes the horizon at the next heartbeat if still listening. */
  private nextHorizon: string | undefined;
  /** Ids of delivered events at or above the horizon, with their transaction. */
  private readonly seen = new Map<number, bigint>();
  /** Live payloads that arrive while a replay runs: delivered after it, de-duplicated. */
  private buffered: string[] | undefined;
  /** The last instant the bus knew it had heard everything (a heartbeat or a replay). */
  private healthyAt = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private pruner: NodeJS.Timeout | undefined;
  private retry: { timer: NodeJS.Timeout; wake: () => void } | undefined;

  constructor(
    private readonly handle: DatabaseHandle,
    private readonly logger: Logger,
    options: JobEventBusOptions = {},
  ) {
    this.options = {
      heartbeatMs: options.heartbeatMs ?? 5_000,
      reconnectMinMs: options.reconnectMinMs ?? 100,
      reconnectMaxMs: options.reconnectMaxMs ?? 5_000,
      retentionMs: options.retentionMs ?? 60 * 60_000,
      pruneEveryMs: options.pruneEveryMs ?? 60_000,
    };
  }

  /** Listens (the first time must succeed: start-up fails otherwise); later losses reconnect on their own. */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    this.started = true;
    try {
      await this.connect(false);
    } catch (error) {
      this.started = false;
      throw error;
    }
    this.pruner = setInterval(() => void this.prune(), this.options.pruneEveryMs);
    this.pruner.unref();
  }

  /** Whether the bus is listening now (false while it reconnects). */
  get listening(): boolean {
    return this.session !== undefined;
  }

  /** Calls `listener` for every event from now on; returns the function that unsubscribes. */
  subscribe(listener: ((event: JobEvent) => void) | Listener): () => void {
    const entry: Listener = typeof listener === 'function' ? { onEvent: listener } : listener;
    this.listeners.add(entry);
    return () => this.listeners.delete(entry);
  }

  /**
   * Events as an async iterator, ending when `signal` aborts (GraphQL subscriptions use this).
   * At most `maxQueued` events wait for the consumer: past that it throws JobEventsBehindError,
   * so a stalled consumer costs a bounded amount of memory. After an outage longer than the event
   * log keeps, it throws JobEventsLostError once the queued events are read.
   */
  async *iterate(signal?: AbortSignal, filter: (e: JobEvent) => boolean = () => true, maxQueued = 10_000): AsyncGenerator<JobEvent> {
    const queue: JobEvent[] = [];
    let wake: (() => void) | undefined;
    let failure: Error | undefined;
    const unsubscribe = this.subscribe({
      onEvent: (event) => {
        if (!filter(event) || failure) return;
        if (queue.length >= maxQueued) {
          failure = new JobEventsBehindError(maxQueued);
          unsubscribe();
        } else {
          queue.push(event);
        }
        wake?.();
      },
      onGap: (error) => {
        failure ??= error;
        unsubscribe();
        wake?.();
      },
    });
    const onAbort = () => wake?.();
    signal?.addEventListener('abort', onAbort);
    try {
      while (!signal?.aborted) {
        const next = queue.shift();
        if (next) {
          yield next;
          continue;
        }
        if (failure) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearInterval(this.pruner);
    if (this.retry) {
      clearTimeout(this.retry.timer);
      this.retry.wake();
    }
    const session = this.session;
    this.session = undefined;
    this.listeners.clear();
    try {
      await session?.stop();
    } catch (error) {
      // The database may already be gone (closed, or its server down): nothing left to unlisten.
      this.logger.warn('[events] Stopping the job event listener failed', { error: errorMessage(error) });
    }
  }

  /** LISTEN on a new session, then replay (or, the first time, only take note of) what the log holds. */
  private async connect(replay: boolean): Promise<number> {
    // Live payloads wait from the moment LISTEN may be in place, not from when `listen` has
    // resolved: a notification can come in the same socket read as LISTEN's answer and be handed
    // over before this function goes on. Delivered then, it came ahead of the older events the
    // replay delivers next (seen once in CI: one event early, with a single writer).
    this.buffered = [];
    let session: ListenSession;
    try {
      session = await this.handle.listen(JOB_EVENTS_CHANNEL, (payload) => this.onPayload(payload));
    } catch (error) {
      this.buffered = undefined;
      throw error;
    }
    if (this.closed) {
      this.buffered = undefined;
      await session.stop();
      return 0;
    }
    let replayed = 0;
    try {
      const gapMs = Date.now() - this.healthyAt;
      if (replay && gapMs > this.options.retentionMs) {
        // Some of what happened may be pruned already: say so instead of replaying a part.
        const error = new JobEventsLostError(gapMs, this.options.retentionMs);
        this.logger.error(`[events] ${error.message}`, { gapMs, retentionMs: this.options.retentionMs });
        this.horizon = undefined;
        this.seen.clear();
        for (const listener of [...this.listeners]) listener.onGap?.(error);
      }
      const log = await readEventLog(session.query, this.horizon);
      for (const logged of log.events) {
        if (this.remember(logged) && replay) {
          this.deliver(logged.event);
          replayed++;
        }
      }
      this.horizon ??= log.horizon;
      this.nextHorizon = log.horizon;
    } catch (error) {
      this.buffered = undefined;
      await session.stop().catch(() => {});
      throw error;
    }
    const buffered = this.buffered;
    this.buffered = undefined;
    if (this.closed) {
      await session.stop().catch(() => {});
      return 0;
    }
    this.session = session;
    this.healthyAt = Date.now();
    for (const payload of buffered) this.onPayload(payload);
    void session.lost.then((error) => this.onLost(session, error));
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => void this.beat(session), this.options.heartbeatMs);
    this.heartbeat.unref();
    return replayed;
  }

  /** Checks the listening connection and moves the horizon on. */
  private async beat(session: ListenSession): Promise<void> {
    if (this.session !== session) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      const read = currentHorizon(session.query);
      // PGlite is one in-process connection: a slow answer there is a busy database, not a lost one.
      const horizon = session.canBeLost
        ? await Promise.race([
            read,
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${this.options.heartbeatMs} ms`)), this.options.heartbeatMs);
            }),
          ])
        : await read;
      if (this.session !== session) return;
      if (this.nextHorizon !== undefined) {
        this.horizon = this.nextHorizon;
        const below = BigInt(this.horizon);
        for (const [id, tx] of this.seen) if (tx < below) this.seen.delete(id);
      }
      this.nextHorizon = horizon;
      this.healthyAt = Date.now();
    } catch (error) {
      if (this.session === session) this.onLost(session, error instanceof Error ? error : new Error(String(error)));
    } finally {
      clearTimeout(timer);
    }
  }

  private onLost(session: ListenSession, error: Error): void {
    if (this.session !== session || this.closed) return;
    this.session = undefined;
    // Notifications in flight when it went may never have arrived: that xmin is not to be trusted.
    this.nextHorizon = undefined;
    clearInterval(this.heartbeat);
    void session.stop().catch(() => {});
    this.logger.warn('[events] Job event listener lost its database connection; reconnecting', { error: error.message });
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    const since = Date.now();
    const backoff = (attempt: number) => Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** (attempt - 1));
    for (let attempt = 1; !this.closed; attempt++) {
      const base = backoff(attempt);
      const delay = Math.round(base / 2 + (Math.random() * base) / 2);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.retry = { timer, wake: resolve };
      });
      this.retry = undefined;
      if (this.closed) return;
      try {
        const replayed = await this.connect(true);
        this.logger.info('[events] Job event listener is listening again', { attempt, downMs: Date.now() - since, replayed });
        return;
      } catch (error) {
        this.logger.warn('[events] Job event listener could not reconnect; trying again', {
          attempt,
          retryInMs: backoff(attempt + 1),
          error: errorMessage(error),
        });
      }
    }
  }

  private async prune(): Promise<void> {
    try {
      const pruned = await pruneEventLog(this.handle, this.options.retentionMs);
      if (pruned > 0) this.logger.debug('[events] Pruned the job event log', { pruned });
    } catch (error) {
      this.logger.warn('[events] Pruning the job event log failed', { error: errorMessage(error) });
    }
  }

  private onPayload(payload: string): void {
    if (this.buffered) {
      this.buffered.push(payload);
      return;
    }
    let logged: LoggedEvent;
    try {
      logged = parseEvent(JSON.parse(payload) as RawEvent);
    } catch (error) {
      this.logger.warn('[events] Ignoring malformed job event', { payload, error });
      return;
    }
    if (this.remember(logged)) this.deliver(logged.event);
  }

  /** Whether the event is new (not delivered before); notes it as delivered. */
  private remember(logged: LoggedEvent): boolean {
    if (this.seen.has(logged.id)) return false;
    this.seen.set(logged.id, BigInt(logged.tx));
    return true;
  }

  private deliver(event: JobEvent): void {
    for (const listener of this.listeners) {
      try {
        listener.onEvent(event);
      } catch (error) {
        this.logger.error('[events] Job event listener failed', { error });
      }
    }
  }
}
