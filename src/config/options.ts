import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ALERT_COOLDOWN_MINUTES, DEFAULT_POLICY } from './policy.js';

/**
 * Every option jobscope has, once: what a config file's `defineConfig({ … })` takes (the input
 * type), the constraints each value must meet, and the defaults. Environment variables are mapped
 * onto the same paths (env.ts), so a value is checked by the same rule wherever it came from.
 */

const httpUrl = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ''));

/** An API key, bare or named; the name is who the key's holder is in logs and the audit trail. */
const ApiKeySchema = z
  .union([
    z.string().min(1),
    z.strictObject({ name: z.string().min(1).max(100), key: z.string().min(1) }),
  ])
  .transform((k) => (typeof k === 'string' ? { name: unnamedKeyName(k), key: k } : k));

/** A stable, non-secret label for a key without a name: `key#` + the first 4 hex digits of its SHA-256. */
export function unnamedKeyName(key: string): string {
  return `key#${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 4)}`;
}

const positiveInt = z.number().int().positive();

/**
 * A Postgres schema of jobscope's own (`JOBSCOPE_DB_SCHEMA`): a plain lowercase identifier, so it
 * never needs quoting in `search_path`, and not `pg_…`, which PostgreSQL reserves.
 */
export const DatabaseSchemaName = z
  .string()
  .max(63, 'must be at most 63 characters (PostgreSQL truncates longer identifiers)')
  .regex(/^[a-z_][a-z0-9_]*$/, 'must be a plain identifier: lowercase letters, digits and _, not starting with a digit')
  .refine((name) => !name.startsWith('pg_'), 'must not start with pg_ (reserved for system schemas)');

export const OptionsSchema = z.strictObject({
  /** `production` refuses the public dev credentials, missing keys and the local stand-in. */
  env: z.enum(['development', 'production', 'test']).default('development'),
  /** Port of the standalone server (GraphQL, worker endpoints, local QStash). */
  port: z.number().int().min(0).max(65535).default(4000),
  /** Interface the standalone server binds. */
  host: z.string().min(1).default('0.0.0.0'),
  /**
   * Public URL QStash reaches this server at (scheme, host, port; no path). Worker endpoints are
   * published as `baseUrl + basePath + endpoint`, and signatures are checked against that URL.
   */
  baseUrl: httpUrl.optional(),
  /**
   * Path prefix every jobscope route lives under when mounted in an app (`/jobscope`): GraphQL at
   * `/jobscope/graphql`, worker endpoints at `/jobscope/api/jobs/…`. Empty: at the root.
   */
  basePath: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)*\/?$/, 'must be empty or a path like /jobscope')
    .transform((p) => p.replace(/\/+$/, ''))
    .default(''),
  database: z
    .strictObject({
      /** `postgres://…`: a PostgreSQL server. Unset: embedded PGlite in `pgliteDir`. */
      url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
      /** Folder of the embedded PGlite database. */
      pgliteDir: z.string().min(1).default('.data/pglite'),
      /** A Postgres schema of jobscope's own for its tables (apps sharing one database); default `public`. */
      schema: DatabaseSchemaName.optional(),
    })
    .prefault({}),
  qstash: z
    .strictObject({
      /** Another QStash endpoint (e.g. `http://localhost:8080` for `npm run qstash:dev`). */
      url: httpUrl.optional(),
      /** Set it (with both signing keys) to publish through the real QStash; unset: the local stand-in. */
      token: z.string().min(1).optional(),
      currentSigningKey: z.string().min(1).optional(),
      nextSigningKey: z.string().min(1).optional(),
      /** Scales the local stand-in's retry backoff (1 = QStash's real delays). */
      retryDelayFactor: z.number().positive().default(1),
      /** Speeds up the local stand-in's schedule clock (1 = real time; 600 runs a per-minute cron every 100 ms). */
      scheduleTimeScale: z.number().positive().default(1),
    })
    .prefault({}),
  publish: z
    .strictObject({
      /**
       * Seconds after an enqueue that the outbox relay keeps retrying a publish QStash could not
       * take (5xx, 408, 429, no answer); then the job fails. A 4xx refusal fails it at once.
       */
      deadlineSeconds: positiveInt.default(3600),
      /** Backoff before the n-th publish retry: this × 2^(n-1) ms (±20 %, at most 5 min). */
      retryBaseMs: positiveInt.default(500),
      /** Publish requests the outbox relay claims (and publishes concurrently) per round. */
      batchSize: positiveInt.max(1000).default(20),
      /**
       * Seconds a relay's claim on a publish request lasts: past it another relay (another
       * instance, or this one after a crash) may take the request; the same deduplication id keeps
       * QStash from delivering it twice. Longer than one publish may take.
       */
      leaseSeconds: z.number().positive().max(3600).default(30),
      /**
       * How often the relay looks for requests it was not told of (other instances', a caller's
       * transaction, a crash's), in ms; its own enqueues are published at once.
       */
      pollIntervalMs: positiveInt.max(600_000).default(1000),
    })
    .prefault({}),
  queues: z
    .strictObject({
      /**
       * Publish each job type through a QStash queue of its own, `<prefix><type>`, so that it can
       * be paused (pauseJobType) and its deliveries capped (parallelism); `false` publishes
       * straight to the endpoints.
       */
      enabled: z.boolean().default(true),
      /**
       * Runs of one type QStash delivers at once when its definition sets no `parallelism`. A
       * failing run holds its turn through its retries (QStash's queue semantics).
       */
      parallelism: z.number().int().min(1).max(1000).default(10),
      /** Put before the job type to name its queue (letters, digits, `-`, `_`, `.`). */
      prefix: z.string().regex(/^[A-Za-z0-9_.-]{0,50}$/, 'letters, digits, "-", "_" and "." only').default('jobscope-'),
    })
    .prefault({}),
  apiKeys: z
    .strictObject({
      /** Keys that may run queries and subscriptions. */
      read: z.array(ApiKeySchema).default([]),
      /** Keys that may also run mutations. */
      operate: z.array(ApiKeySchema).default([]),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly']).default('info'),
      /** Console format; default `pretty` in development, `json` in production. */
      format: z.enum(['pretty', 'json']).optional(),
      /** Folder of the daily log files; `false` turns them off. */
      dir: z.union([z.string().min(1), z.literal(false)]).default('logs'),
    })
    .prefault({}),
  alerts: z
    .strictObject({
      /** Seconds between alert checks (failure rate, stuck jobs); 0 disables them. */
      intervalSeconds: z.number().min(0).default(300),
      /** Also POST each alert as JSON here (`text` field for Slack-style hooks): a channel of the two default rules. */
      webhookUrl: httpUrl.optional(),
      /** Signs the default rules' webhook bodies (HMAC-SHA256 in `X-Jobscope-Signature`); unsigned without it. */
      webhookSecret: z.string().min(16, 'must be at least 16 characters').optional(),
      /** Minutes between two firings of a default rule while its condition holds (and after it resolves). */
      cooldownMinutes: z.number().int().min(0).max(ALERT_COOLDOWN_MINUTES.max).default(ALERT_COOLDOWN_MINUTES.default),
      /** Tries per webhook delivery: a network error, 408, 429 or 5xx is tried again. */
      webhookAttempts: z.number().int().min(1).max(10).default(4),
      /** Wait before the second try, doubled before each next one. */
      webhookBackoffMs: z.number().int().min(0).max(60_000).default(1_000),
      /** Each try's time limit. */
      webhookTimeoutMs: z.number().int().min(100).max(60_000).default(10_000),
    })
    .prefault({}),
  heartbeat: z
    .strictObject({
      /** Seconds between the heartbeats a running attempt records (one UPDATE of its job_attempts row). */
      intervalSeconds: z.number().positive().max(3600).default(5),
      /**
       * Heartbeats an open attempt may miss before its worker counts as lost: a redelivery then
       * takes the job over at once and the reaper closes the attempt as WORKER_LOST.
       */
      misses: z.number().int().min(2).max(100).default(3),
    })
    .prefault({}),
  reaper: z
    .strictObject({
      /**
       * Seconds between the reaper's passes over attempts that lost their worker (one instance
       * acts at a time); 0 turns it off.
       */
      intervalSeconds: z.number().min(0).default(15),
      /**
       * Seconds a published job may wait `pending` (or `retrying`) with no attempt open before
       * the reaper asks QStash's DLQ whether it gave up on the message (every delivery failed
       * before the worker could record one); a dead-lettered one is failed as DEAD_LETTERED. A job
       * QStash still holds is asked about again this much later.
       */
      undeliveredAfterSeconds: z.number().positive().default(120),
    })
    .prefault({}),
  bulk: z
    .strictObject({
      /**
       * Jobs a bulk operation (retryJobs, cancelJobs) acts on per second, across all instances
       * (one runs each operation at a time), so QStash's rate limits and the workers are not flooded.
       */
      ratePerSecond: z.number().positive().max(10_000).default(50),
      /** The most jobs one bulk operation may name; a larger set is refused with BULK_TOO_LARGE. */
      maxJobs: positiveInt.max(10_000_000).default(100_000),
    })
    .prefault({}),
  policy: z
    .strictObject({
      stuckAfterMinutes: positiveInt.default(DEFAULT_POLICY.stuckAfterMinutes),
      healthWindowMinutes: positiveInt.default(DEFAULT_POLICY.healthWindowMinutes),
      failureRateThreshold: z.number().gt(0).max(1).default(DEFAULT_POLICY.failureRateThreshold),
      /** Delete final jobs this many days after they finished (checked hourly); unset keeps them all. */
      retentionDays: positiveInt.optional(),
    })
    .prefault({}),
  events: z
    .strictObject({
      /**
       * Seconds between keep-alives on quiet subscriptions: an SSE comment line on each shared
       * stream, a ping frame on each WebSocket (one that has not answered the previous ping is
       * closed), so that idle proxies and load balancers do not cut them.
       */
      keepAliveSeconds: positiveInt.default(12),
      /**
       * Minutes the job event log keeps events: the longest database outage after which a
       * subscriber still receives every event (a longer one ends it with EVENTS_LOST).
       */
      logRetentionMinutes: positiveInt.default(60),
    })
    .prefault({}),
  graphql: z
    .strictObject({
      /** Deepest selection nesting an operation may have (introspection excluded). */
      maxDepth: positiveInt.default(10),
      /** Aliases per operation, fragments included. */
      maxAliases: positiveInt.default(30),
      /** Lexer tokens per document; bounds parsing work before anything else runs. */
      maxTokens: positiveInt.default(3000),
      /** graphql-armor cost (objects 2, scalars 1, ×1.5 per level, × literal `first`/`last`). */
      maxCost: positiveInt.default(200_000),
      /**
       * Unsent events a subscriber may have waiting, in KiB, before it is dropped with
       * SUBSCRIBER_TOO_SLOW (about 1,000 events of a typical selection).
       */
      subscriptionBufferKiB: positiveInt.default(256),
      /**
       * Largest GraphQL request body in KiB (413 beyond it): QStash's own message limit on its
       * free plan is 1 MB, so an enqueueJob payload beyond it could not be published there anyway.
       */
      maxBodyKiB: positiveInt.default(1024),
    })
    .prefault({}),
  http: z
    .strictObject({
      /**
       * Requests served at once by the standalone server (health, metrics and open subscription
       * streams not counted); beyond it a request is answered 503 with Retry-After at once.
       */
      maxConcurrentRequests: positiveInt.default(256),
      /**
       * Of those, requests with a body over 64 KiB (or of undeclared length) at once: the ones
       * that cost CPU and memory to read and parse. Beyond it they get 503, so small queries keep
       * answering instead of queueing behind them. Parsing them is CPU on the one core the
       * server runs on: under 50 clients posting 1 MB bodies, `{ __typename }` took 10 ms (p50,
       * p99 60 ms) with 1, 39 ms (p99 300 ms) with 2, 215 ms with 8 (never reached) and 420 ms
       * without a limit, while 1 still served ~215 bodies/s (bench/shedding.ts, PGlite).
       */
      maxConcurrentLargeBodies: positiveInt.default(1),
      /** Seconds a client may take to send the request headers (node's headersTimeout). */
      headersTimeoutSeconds: positiveInt.default(10),
      /** Seconds a client may take to send the whole request, body included (node's requestTimeout). */
      requestTimeoutSeconds: positiveInt.default(60),
      /**
       * Largest worker (delivery) body in KiB (413 beyond it): QStash's largest message, 50 MB on
       * its fixed plans (1 MB free, 10 MB pay as you go).
       */
      workerMaxBodyKiB: positiveInt.default(51_200),
    })
    .prefault({}),
});

/** The options as a config file or `createJobscope` writes them: everything optional. */
export type JobscopeOptions = z.input<typeof OptionsSchema>;
/** The options once checked, with every default filled in. */
export type ResolvedOptions = z.output<typeof OptionsSchema>;
