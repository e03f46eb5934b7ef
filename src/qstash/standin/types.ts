/** The stand-in's public options and handle, and the shapes its parts share. */

/** A winston-like logger ({ info, warn, error, debug }(message, meta)). */
export interface StandInLogger {
  info(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
  debug(msg: string, meta?: object): void;
}

export interface QStashStandInOptions {
  /** Bearer token the API accepts (Authorization: Bearer <token>); others get 401. */
  token: string;
  currentSigningKey: string;
  nextSigningKey: string;
  /** Path prefix the stand-in is mounted under, e.g. "/qstash" (default ""): it answers `${basePath}/v2/...`. */
  basePath?: string;
  /** Multiplies the QStash backoff formula min(86400, e^(2.5·n)) seconds; default 1. Tests pass e.g. 0.0001 so retries take milliseconds. A Retry-After answer header is scaled the same way. */
  retryDelayFactor?: number;
  /**
   * Speeds up the schedule clock (1 = real time): at 600 a `* * * * *` schedule runs every 100 ms.
   * For tests and demos; deliveries themselves are not sped up.
   */
  scheduleTimeScale?: number;
  /** Optional logger; default: silent. */
  logger?: StandInLogger;
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

/** Everything a publish asked for, after validation. */
export interface PublishSpec {
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
  /** The schedule a run was published by (delivered as `Upstash-Schedule-Id`). */
  scheduleId: string | undefined;
  /** The queue it waits its turn in (`/v2/enqueue/{queue}/…`, or `Upstash-Queue-Name`); see queues.ts. */
  queueName: string | undefined;
}

/** What one delivery attempt came back with. */
export type Outcome =
  | { kind: 'response'; status: number; headers: Headers; body: Uint8Array }
  | { kind: 'error'; error: string };

/** A message still in the system: scheduled, waiting for a retry, or being delivered. */
export interface LiveMessage {
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

export interface PublishResult {
  messageId: string;
  url: string;
  deduplicated?: boolean;
}
