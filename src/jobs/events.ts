import type { DatabaseHandle } from '../db/client.js';
import type { JobStatus } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { JobEventsBehindError } from './errors.js';

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

type Listener = (event: JobEvent) => void;

/**
 * One LISTEN per process, fanned out to in-process subscribers. Every instance sharing the
 * database hears every change, whichever instance (or operator) recorded it.
 */
export class JobEventBus {
  private readonly listeners = new Set<Listener>();
  private stop: (() => Promise<void>) | undefined;

  constructor(
    private readonly handle: DatabaseHandle,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.stop) return;
    this.stop = await this.handle.listen(JOB_EVENTS_CHANNEL, (payload) => this.dispatch(payload));
  }

  /** Calls `listener` for every event from now on; returns the function that unsubscribes. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Events as an async iterator, ending when `signal` aborts (GraphQL subscriptions use this).
   * At most `maxQueued` events wait for the consumer: past that it throws JobEventsBehindError,
   * so a stalled consumer costs a bounded amount of memory.
   */
  async *iterate(signal?: AbortSignal, filter: (e: JobEvent) => boolean = () => true, maxQueued = 10_000): AsyncGenerator<JobEvent> {
    const queue: JobEvent[] = [];
    let wake: (() => void) | undefined;
    let overflowed = false;
    const unsubscribe = this.subscribe((event) => {
      if (!filter(event) || overflowed) return;
      if (queue.length >= maxQueued) {
        overflowed = true;
        unsubscribe();
      } else {
        queue.push(event);
      }
      wake?.();
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
        if (overflowed) throw new JobEventsBehindError(maxQueued);
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async close(): Promise<void> {
    const stop = this.stop;
    this.stop = undefined;
    this.listeners.clear();
    try {
      await stop?.();
    } catch (error) {
      // The database may already be gone (closed, or its server down): nothing left to unlisten.
      this.logger.warn('[jobs] Stopping the job event listener failed', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  private dispatch(payload: string): void {
    let event: JobEvent;
    try {
      const raw = JSON.parse(payload) as Omit<JobEvent, 'occurredAt'> & { occurredAt: string };
      event = { ...raw, occurredAt: new Date(raw.occurredAt) };
    } catch (error) {
      this.logger.warn('[jobs] Ignoring malformed job event', { payload, error });
      return;
    }
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.error('[jobs] Job event listener failed', { error });
      }
    }
  }
}
