import { sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  boolean,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** Lowercase, as in the operations guide, so operators' SQL (`status = 'failed'`) keeps working. */
export const JOB_STATUSES = ['pending', 'processing', 'retrying', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** Statuses after which nothing more happens to a job unless someone retries it. */
export const FINAL_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

export const jobStatus = pgEnum('job_status', JOB_STATUSES);

/** The envelope a job is published with: what the worker endpoint receives as its body. */
export interface JobEnvelope {
  jobId: string;
  type: string;
  payload: unknown;
  metadata: JobMetadata;
}

/** Caller-supplied context of a job; `userId` and `organizationId` are indexed for filters. */
export interface JobMetadata {
  createdAt?: string;
  userId?: string;
  organizationId?: string;
  [key: string]: unknown;
}

const tz = { withTimezone: true, mode: 'date' } as const;

/**
 * A job's run time in seconds, `completed_at − started_at` (numeric; NULL unless both are set):
 * the expression of job_executions_duration_idx, and of every query that orders or filters by
 * duration, so the index serves them.
 */
export function durationSeconds(t: { startedAt: SQLWrapper; completedAt: SQLWrapper }): SQL {
  return sql`EXTRACT(EPOCH FROM (${t.completedAt} - ${t.startedAt}))`;
}

/**
 * A job's queue wait in seconds, `started_at − created_at` (numeric; NULL until an attempt
 * started), for SQL that computes it from the rows; the rollups' `wait` series and
 * `JobExecution.queueWaitSeconds` measure the same.
 */
export function queueWaitSeconds(t: { createdAt: SQLWrapper; startedAt: SQLWrapper }): SQL {
  return sql`EXTRACT(EPOCH FROM (${t.startedAt} - ${t.createdAt}))`;
}

/** One row per job: its latest state, as the operations guide's SQL reads it. */
export const jobExecutions = pgTable(
  'job_executions',
  {
    /** The job's id (a UUID for jobs enqueued by jobscope; whatever the publisher chose otherwise). */
    jobId: text('job_id').primaryKey(),
    /** Registered job type, e.g. `send-email`. */
    jobType: text('job_type').notNull(),
    /** Lifecycle state; final states are `completed`, `failed` and `cancelled`. */
    status: jobStatus('status').notNull().default('pending'),
    /** `Upstash-Retried` of the latest attempt: 0 on the first delivery. */
    retryCount: integer('retry_count').notNull().default(0),
    /** How many retries QStash was asked to make (`Upstash-Retries`). */
    maxRetries: integer('max_retries').notNull().default(3),
    /** The envelope as published: `{ jobId, type, payload, metadata }`. */
    payload: jsonb('payload').$type<JobEnvelope>().notNull(),
    /** What the handler returned on success (JSON), for inspection. */
    result: jsonb('result'),
    /** Last error message; cleared when the job completes or is retried by hand. */
    error: text('error'),
    /** QStash message id of the latest publish. */
    messageId: text('message_id'),
    /** `metadata.userId`, copied out for filtering. */
    userId: text('user_id'),
    /** `metadata.organizationId`, copied out for filtering. */
    organizationId: text('organization_id'),
    /** The job this one replays (`replayJob`): same type, the payload as given or the original's. */
    /** The QStash schedule whose run created this job (`Upstash-Schedule-Id`), if any. */
    scheduleId: text('schedule_id'),
    replayOf: text('replay_of').references((): AnyPgColumn => jobExecutions.jobId, { onDelete: 'set null' }),
    /** When the job was enqueued (or first seen, for jobs published straight to QStash). */
    createdAt: timestamp('created_at', tz).notNull().defaultNow(),
    /** When the latest attempt started. */
    startedAt: timestamp('started_at', tz),
    /** When the job reached a final state (completed, failed, cancelled). */
    completedAt: timestamp('completed_at', tz),
    /** When the row last changed. */
    updatedAt: timestamp('updated_at', tz).notNull().defaultNow(),
  },
  (t) => [
    index('job_executions_created_at_idx').on(t.createdAt, t.jobId),
    index('job_executions_status_created_at_idx').on(t.status, t.createdAt),
    index('job_executions_job_type_created_at_idx').on(t.jobType, t.createdAt),
    index('job_executions_stuck_idx').on(t.startedAt).where(sql`${t.status} = 'processing'`),
    index('job_executions_completed_at_idx').on(t.completedAt),
    index('job_executions_message_id_idx').on(t.messageId),
    index('job_executions_user_id_idx').on(t.userId),
    index('job_executions_organization_id_idx').on(t.organizationId),
    // Selective filters of JobFilter (retryCountAtLeast, durationAtLeastSeconds): an index scan
    // where few jobs match, at 1M rows (test/jobs/filter.test.ts shows the plan).
    index('job_executions_retry_count_idx').on(t.retryCount),
    index('job_executions_duration_idx').on(durationSeconds(t)),
    index('job_executions_schedule_id_idx').on(t.scheduleId, t.createdAt).where(sql`${t.scheduleId} IS NOT NULL`),
    index('job_executions_replay_of_idx').on(t.replayOf).where(sql`${t.replayOf} IS NOT NULL`),
    // jsonb containment filters (`payloadContains`) on the job's own payload. jsonb_path_ops
    // serves only `@>`, the one operator the filter uses, with a smaller index than jsonb_ops.
    index('job_executions_payload_gin_idx').using('gin', sql`(${t.payload} -> 'payload') jsonb_path_ops`),
  ],
);

/** Where a job's publish request stands: waiting for the relay, accepted by QStash, or given up. */
export const PUBLISH_STATES = ['queued', 'published', 'failed'] as const;
export type PublishState = (typeof PUBLISH_STATES)[number];
export const publishState = pgEnum('publish_state', PUBLISH_STATES);

/**
 * The outbox: one publish request per job, written in the same transaction as the job row (and,
 * with `enqueue(..., { tx })`, as the caller's own writes), so a job that committed is published
 * even if the process dies right after. The relay (src/jobs/relay.ts) claims due rows with
 * `FOR UPDATE SKIP LOCKED`, publishes them with `Upstash-Deduplication-Id` and records the outcome.
 */
export const jobPublishes = pgTable(
  'job_publishes',
  {
    /** The job to publish (its envelope is `job_executions.payload`). */
    jobId: text('job_id')
      .primaryKey()
      .references(() => jobExecutions.jobId, { onDelete: 'cascade' }),
    /** `queued` until QStash accepts it (`published`) or the relay gives up (`failed`). */
    state: publishState('state').notNull().default('queued'),
    /**
     * 0 for the first publish, +1 per manual retry: the deduplication id is the job id, then
     * `<job id>:<generation>`, so a retry is a new message while a repeat of one publish is not.
     */
    generation: integer('generation').notNull().default(0),
    /** Publish attempts started for this generation (a claim counts one). */
    attempts: integer('attempts').notNull().default(0),
    /** Error of the latest failed attempt; kept once published, for the record. */
    lastError: text('last_error'),
    /** When the relay may next try: now on enqueue, the backoff after a failure, a lease while publishing. */
    nextAttemptAt: timestamp('next_attempt_at', tz).notNull().defaultNow(),
    /** Deliver no sooner than this (the enqueue's `delaySeconds` from its commit); null: at once. */
    notBefore: timestamp('not_before', tz),
    /** Past this, a transient failure fails the job instead of trying again. */
    deadlineAt: timestamp('deadline_at', tz).notNull(),
    /** When the request was queued (this generation). */
    createdAt: timestamp('created_at', tz).notNull().defaultNow(),
    /** When QStash accepted it. */
    publishedAt: timestamp('published_at', tz),
    /**
     * The relay round that claimed it last (a random token per round). A claim whose commit's
     * answer was lost (the connection cut at that moment) is found by it and given back once the
     * database answers again, instead of waiting out the lease.
     */
    claimToken: text('claim_token'),
  },
  // The relay's question: due rows of the queue, oldest first; published ones are not in it.
  (t) => [index('job_publishes_due_idx').on(t.nextAttemptAt).where(sql`${t.state} = 'queued'`)],
);

/** Every delivery attempt that ran (or is running) for a job. */
export const jobAttempts = pgTable(
  'job_attempts',
  {
    /** Surrogate key, increasing in insertion order. */
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** The job this attempt belongs to. */
    jobId: text('job_id')
      .notNull()
      .references(() => jobExecutions.jobId, { onDelete: 'cascade' }),
    /** `Upstash-Retried` of the delivery: 0 on the first. */
    attempt: integer('attempt').notNull(),
    /** `Upstash-Message-Id` of the delivery. */
    messageId: text('message_id').notNull(),
    /** When the handler started. */
    startedAt: timestamp('started_at', tz).notNull().defaultNow(),
    /** When the outcome was recorded; null while running. */
    finishedAt: timestamp('finished_at', tz),
    /** Handler run time in milliseconds. */
    durationMs: integer('duration_ms'),
    /** HTTP status the worker answered QStash with. */
    httpStatus: integer('http_status'),
    /** Error message when the attempt failed; `WORKER_LOST: …` when its worker stopped mid-run. */
    error: text('error'),
    /**
     * Last sign of life of a running attempt: set at its start, then every heartbeat interval
     * while the handler runs. An open attempt whose heartbeat is older than the heartbeat
     * interval × the allowed misses has lost its worker: a redelivery takes it over and the
     * reaper closes it. Null on attempts recorded before heartbeats existed and on rejected
     * deliveries. Kept here, off `job_executions`, so a heartbeat fires none of its rollup triggers.
     */
    heartbeatAt: timestamp('heartbeat_at', tz),
  },
  (t) => [
    index('job_attempts_job_id_idx').on(t.jobId, t.id),
    uniqueIndex('job_attempts_message_attempt_idx').on(t.messageId, t.attempt),
    // The reaper's scan: open attempts only (few), on a column heartbeats never write, so a
    // heartbeat stays a HOT update that touches no index.
    index('job_attempts_open_idx').on(t.id).where(sql`"finished_at" IS NULL`),
  ],
);

/**
 * Rollups of `job_executions`, kept by statement-level triggers in the same transaction as the
 * row change (drizzle/*_rollups and *_rollup_deltas): every INSERT, UPDATE and DELETE appends the
 * net change per key (old rows' contributions subtracted, new rows' added) to the delta tables
 * below, plain inserts that lock nothing shared, so writers never wait on each other.
 * `jobscope_compact_rollups()` folds the oldest deltas into these tables in one statement; readers
 * add the pending deltas of the keys they read (rollup + delta is exact at every instant).
 * `jobscope_rebuild_rollups()` recomputes them from the table. Statistics, health,
 * throughput, slow jobs, `totalCount` and `/metrics` read these instead of scanning the table.
 *
 * A bucket is one UTC hour (`bucket_start` = `date_trunc('hour', …, 'UTC')`), one UTC day in the
 * `_day` series (`date_trunc('day', …, 'UTC')`: long windows read days, their ends hours);
 * `bucket_start = '-infinity'` is the all-time row of the `created` series. Rows whose counts fell back to 0 stay
 * (the rebuild drops them); readers skip them.
 */
/** The columns of `job_rollups`; its pending deltas (`job_rollup_deltas`) have the same, as signed increments. */
const rollupColumns = () => ({
  /**
   * Which timestamp places a job in a bucket, and the bucket's size: `created` (every job, by
   * `created_at`; hourly and all-time) or `completed` (jobs with `completed_at`, by
   * `completed_at`; hourly), and `created_day` / `completed_day`, the same per UTC day.
   */
  series: text('series').notNull(),
  /** Start of the UTC hour (the `_day` series: of the UTC day), or `-infinity` for the all-time row of the `created` series. */
  bucketStart: timestamp('bucket_start', tz).notNull(),
  /** `job_executions.job_type`. */
  jobType: text('job_type').notNull(),
  /** `job_executions.status`. */
  status: jobStatus('status').notNull(),
  /** Jobs in the bucket (`count(*)`). */
  jobs: bigint('jobs', { mode: 'number' }).notNull().default(0),
  /** Of those, jobs with `completed_at` (the guide's `WHERE completed_at IS NOT NULL`). */
  finished: bigint('finished', { mode: 'number' }).notNull().default(0),
  /** Of those, jobs with both `started_at` and `completed_at`: the rows a duration average is over. */
  timed: bigint('timed', { mode: 'number' }).notNull().default(0),
  /** Sum of `EXTRACT(EPOCH FROM (completed_at - started_at))` over the timed jobs, exact (numeric). */
  durationSum: numeric('duration_sum').notNull().default('0'),
  /** Jobs with `started_at`: the rows a queue-wait figure is over. */
  waited: bigint('waited', { mode: 'number' }).notNull().default(0),
  /** Sum of `EXTRACT(EPOCH FROM (started_at - created_at))` over the waited jobs, exact (numeric). */
  waitSum: numeric('wait_sum').notNull().default('0'),
});

/** Counts and exact duration sums per (series, hour, job type, status). */
export const jobRollups = pgTable(
  'job_rollups',
  rollupColumns(),
  (t) => [
    primaryKey({ columns: [t.series, t.bucketStart, t.jobType, t.status] }),
    check('job_rollups_series_check', sql`${t.series} IN ('created', 'completed', 'created_day', 'completed_day')`),
  ],
);

/** The columns of `job_rollup_bins`; its pending deltas (`job_rollup_bin_deltas`) have the same, as signed increments. */
const rollupBinColumns = () => ({
  /**
   * What is measured, by which timestamp: `duration` (completed_at − started_at, by created_at;
   * hourly and all-time), `duration_completed` (the same, by completed_at; hourly) or `wait`
   * (started_at − created_at, by created_at; hourly and all-time); `duration_day`,
   * `duration_completed_day` and `wait_day` are the same per UTC day.
   */
  series: text('series').notNull(),
  /** Start of the UTC hour (the `_day` series: of the UTC day), or `-infinity` for all time. */
  bucketStart: timestamp('bucket_start', tz).notNull(),
  /** `job_executions.job_type`. */
  jobType: text('job_type').notNull(),
  /** `job_executions.status`. */
  status: jobStatus('status').notNull(),
  /** The log-scale bin (see the table's comment). */
  bin: integer('bin').notNull(),
  /** Values in the bin. */
  n: bigint('n', { mode: 'number' }).notNull().default(0),
});

/**
 * Fixed log-scale histograms per (series, hour, job type, status): bin `i` holds the values in
 * (2^((i-1)/8), 2^(i/8)] seconds, so a bin's representative value 2·2^(i/8)/(1+2^(1/8)) is within
 * (2^(1/8)-1)/(2^(1/8)+1) ≈ 4.33 % of every value in it; bin -1000 holds 0, bins below it the
 * negative values (mirrored). Bins are mergeable by adding counts; every 8th bound is a power of
 * two, the `le` bounds of the Prometheus histograms. See `jobscope_duration_bin()`.
 */
export const jobRollupBins = pgTable(
  'job_rollup_bins',
  rollupBinColumns(),
  (t) => [
    primaryKey({ columns: [t.series, t.bucketStart, t.jobType, t.status, t.bin] }),
    check('job_rollup_bins_series_check', sql`${t.series} IN ('duration', 'duration_completed', 'wait', 'duration_day', 'duration_completed_day', 'wait_day')`),
  ],
);

/** The columns of `job_rollup_minutes`; its pending deltas (`job_rollup_minute_deltas`) have the same, as signed increments. */
const rollupMinuteColumns = () => ({
  /** Start of the UTC minute. */
  minute: timestamp('minute', tz).notNull(),
  /** `job_executions.job_type`. */
  jobType: text('job_type').notNull(),
  /** Jobs created in the minute. */
  enqueued: bigint('enqueued', { mode: 'number' }).notNull().default(0),
  /** Jobs now `completed` whose `completed_at` is in the minute. */
  completed: bigint('completed', { mode: 'number' }).notNull().default(0),
  /** Jobs now `failed` whose `completed_at` is in the minute. */
  failed: bigint('failed', { mode: 'number' }).notNull().default(0),
});

/** Per-minute throughput per job type, for `jobThroughput(bucket: MINUTE)`. */
export const jobRollupMinutes = pgTable(
  'job_rollup_minutes',
  rollupMinuteColumns(),
  (t) => [primaryKey({ columns: [t.minute, t.jobType] })],
);

/**
 * Pending changes of `job_rollups`: the same keys and columns, signed increments, appended by the
 * triggers (no primary key on the key: many rows per key) and deleted by the compaction that adds
 * them to `job_rollups`. `id` orders them for the compaction's bounded batches (oldest first).
 */
export const jobRollupDeltas = pgTable(
  'job_rollup_deltas',
  {
    /** Append order: the compaction takes the lowest ids first. */
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ...rollupColumns(),
  },
  // The readers' lookups: a series' all-time row or hours of it (type and status follow).
  (t) => [index('job_rollup_deltas_key_idx').on(t.series, t.bucketStart, t.jobType)],
);

/** Pending changes of `job_rollup_bins` (see {@link jobRollupDeltas}). */
export const jobRollupBinDeltas = pgTable(
  'job_rollup_bin_deltas',
  {
    /** Append order: the compaction takes the lowest ids first. */
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ...rollupBinColumns(),
  },
  (t) => [index('job_rollup_bin_deltas_key_idx').on(t.series, t.bucketStart, t.jobType)],
);

/** Pending changes of `job_rollup_minutes` (see {@link jobRollupDeltas}). */
export const jobRollupMinuteDeltas = pgTable(
  'job_rollup_minute_deltas',
  {
    /** Append order: the compaction takes the lowest ids first. */
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ...rollupMinuteColumns(),
  },
  (t) => [index('job_rollup_minute_deltas_key_idx').on(t.minute, t.jobType)],
);

/** PostgreSQL's 64-bit transaction id (`xid8`), as text: only SQL compares them. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

/**
 * The job event log: every event the trigger NOTIFYs is also a row here, so that a listener that
 * lost its connection replays what it missed (src/jobs/events.ts). Append-only; rows older than
 * the bus's retention are pruned by the bus (one instance at a time).
 */
export const jobEvents = pgTable(
  'job_events',
  {
    /** Insert order; the NOTIFY payload carries it, and listeners de-duplicate by it. */
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /**
     * The recording transaction (`pg_current_xact_id()`). Ids are assigned at insert but commit
     * out of order; a replay reads the transactions that were not yet finished when the listener
     * last knew it had heard everything (`tx >= pg_snapshot_xmin(...)`), not `id > last seen`.
     */
    tx: xid8('tx').notNull().default(sql`pg_current_xact_id()`),
    /** The lifecycle event: `enqueued`, `started`, `completed`, … (src/jobs/events.ts). */
    type: text('type').notNull(),
    /** The job that changed. */
    jobId: text('job_id').notNull(),
    /** Its job type. */
    jobType: text('job_type').notNull(),
    /** Its status after the change. */
    status: jobStatus('status').notNull(),
    /** Its `retry_count` after the change. */
    retryCount: integer('retry_count').notNull(),
    /** Its error after the change, cut to 2,000 characters. */
    error: text('error'),
    /** When the change was recorded (`clock_timestamp()`); pruning goes by it. */
    occurredAt: timestamp('occurred_at', tz).notNull(),
  },
  // BRIN: the log is appended in time order, and the prune's range scan needs no B-tree to keep up.
  (t) => [index('job_events_occurred_at_idx').using('brin', t.occurredAt)],
);

/**
 * The audit log: one row per operator action (a mutation, a CLI command, a bulk operation, a
 * retention purge), whatever its outcome. Append-only: a trigger refuses UPDATE and DELETE, and
 * the API has no verb that writes here except by acting.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    /** Insert order; the keyset of `auditLog`'s pages. */
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /** When it was recorded, to the millisecond the API shows (so `until: <an entry's at>` finds it). */
    at: timestamp('at', { ...tz, precision: 3 }).notNull().defaultNow(),
    /** Who acted, as the `[jobs]` log lines name them: `api-key:ops-bot`, `cli`, `system:retention`. */
    actor: text('actor').notNull(),
    /** The verb: `retryJob`, `cancelJob`, `enqueueJob`, `replayJob`, `purgeJobExecutions`, … */
    action: text('action').notNull(),
    /** The arguments as given (payloads included). */
    args: jsonb('args').$type<Record<string, unknown>>().notNull(),
    /** The jobs it touched (created, for an enqueue or a replay); empty for a purge. */
    jobIds: text('job_ids').array().notNull().default(sql`'{}'::text[]`),
    /** `ok`, or the error code it ended with (`JOB_NOT_RETRYABLE`, `INTERNAL_SERVER_ERROR`, …). */
    outcome: text('outcome').notNull(),
    /** The error's message when it failed; a short summary (e.g. rows deleted) when it did not. */
    detail: jsonb('detail').$type<Record<string, unknown>>(),
    /** The bulk operation it started or cancelled; its jobs are in bulk_operation_jobs. */
    bulkOperationId: text('bulk_operation_id'),
  },
  (t) => [
    index('audit_log_at_idx').on(t.at, t.id),
    index('audit_log_actor_idx').on(t.actor, t.id),
    index('audit_log_action_idx').on(t.action, t.id),
    index('audit_log_job_ids_idx').using('gin', t.jobIds),
    index('audit_log_bulk_operation_idx').on(t.bulkOperationId).where(sql`${t.bulkOperationId} IS NOT NULL`),
  ],
);

export const BULK_KINDS = ['retry', 'cancel'] as const;
export type BulkKind = (typeof BULK_KINDS)[number];
export const BULK_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type BulkStatus = (typeof BULK_STATUSES)[number];

/**
 * A bulk retry or cancel (`retryJobs`, `cancelJobs`): the set of jobs is fixed when it starts
 * (bulk_operation_jobs), and one instance at a time works through it at the configured pace,
 * holding a lease on this row; another instance, or the next start, takes over an expired lease.
 */
export const bulkOperations = pgTable(
  'bulk_operations',
  {
    id: text('id').primaryKey(),
    /** `retry` or `cancel`. */
    kind: text('kind').$type<BulkKind>().notNull(),
    /** The JobFilter as given. */
    filter: jsonb('filter').$type<Record<string, unknown>>().notNull(),
    /** `running` until every job is done (`completed`), it is stopped (`cancelled`) or cannot go on (`failed`). */
    status: text('status').$type<BulkStatus>().notNull().default('running'),
    /** Jobs in the set, fixed at the start. */
    matched: integer('matched').notNull(),
    /** Jobs acted on so far: succeeded + failed. */
    processed: integer('processed').notNull().default(0),
    succeeded: integer('succeeded').notNull().default(0),
    /** Jobs it could not act on (e.g. one that was retried by hand meanwhile: JOB_NOT_RETRYABLE). */
    failed: integer('failed').notNull().default(0),
    /** The first few failures: `{ jobId, code, message }`. */
    errors: jsonb('errors').$type<{ jobId: string; code: string; message: string }[]>().notNull().default(sql`'[]'::jsonb`),
    /** Who started it, as the audit log names them. */
    actor: text('actor').notNull(),
    /** The caller's key: the same key gives back this operation instead of starting another. */
    idempotencyKey: text('idempotency_key').unique(),
    /** Jobs per second it is paced at. */
    ratePerSecond: numeric('rate_per_second', { mode: 'number' }).notNull(),
    createdAt: timestamp('created_at', { ...tz, precision: 3 }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { ...tz, precision: 3 }),
    /** The instance working on it and until when; expired, another takes over. */
    leaseOwner: text('lease_owner'),
    leaseUntil: timestamp('lease_until', tz),
  },
  (t) => [
    index('bulk_operations_created_at_idx').on(t.createdAt, t.id),
    index('bulk_operations_running_idx').on(t.leaseUntil).where(sql`${t.status} = 'running'`),
  ],
);

/** The jobs of a bulk operation, each done once: `pending`, then `succeeded` or `failed`. */
export const bulkOperationJobs = pgTable(
  'bulk_operation_jobs',
  {
    operationId: text('operation_id')
      .notNull()
      .references(() => bulkOperations.id, { onDelete: 'cascade' }),
    /** No foreign key: retention may purge the job, the operation's record stays. */
    jobId: text('job_id').notNull(),
    /** Order of the set (newest job first), the order it is worked through. */
    position: integer('position').notNull(),
    state: text('state').$type<'pending' | 'succeeded' | 'failed'>().notNull().default('pending'),
    /** The error code when it failed. */
    error: text('error'),
  },
  (t) => [
    primaryKey({ columns: [t.operationId, t.position] }),
    index('bulk_operation_jobs_pending_idx').on(t.operationId, t.position).where(sql`${t.state} = 'pending'`),
    index('bulk_operation_jobs_job_idx').on(t.jobId),
  ],
);

/**
 * The log lines that named a job (`jobId` in their fields): jobscope's own `[jobs]` lines and what
 * a handler writes through its `logger`, scrubbed of secrets as in the files, kept for
 * `JobExecution.logs` (src/jobs/job-logs.ts bounds them per job and by age). Deleted with the job.
 */
export const jobLogs = pgTable(
  'job_logs',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    jobId: text('job_id')
      .notNull()
      .references(() => jobExecutions.jobId, { onDelete: 'cascade' }),
    /** `Upstash-Retried` of the delivery the line was written in; null outside one (enqueue, the relay). */
    attempt: integer('attempt'),
    at: timestamp('at', { ...tz, precision: 3 }).notNull(),
    level: text('level').notNull(),
    message: text('message').notNull(),
    /** The line's other fields (jobId, attempt and the timestamp taken out). */
    fields: jsonb('fields').$type<Record<string, unknown>>().notNull(),
  },
  (t) => [index('job_logs_job_id_idx').on(t.jobId, t.id), index('job_logs_at_idx').using('brin', t.at)],
);

/**
 * Deliveries the worker rejected with 401 (their signature did not verify): a bounded record,
 * since nothing else of them may be trusted or stored. Never the body nor the token: the message
 * id QStash sent, the path, the URL the signature was checked against, the URL it was made for
 * (when the key verified but the URL did not) and the reason. Capped in number and purged by age
 * (src/jobs/signature-failures.ts).
 */
export const signatureFailures = pgTable(
  'signature_failures',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp('at', { ...tz, precision: 3 }).notNull().defaultNow(),
    /** `Upstash-Message-Id` as sent (unverified). */
    messageId: text('message_id'),
    path: text('path').notNull(),
    /** The URL the worker checked the signature against (BASE_URL + base path + path). */
    checkedUrl: text('checked_url').notNull(),
    /** The URL the signature was made for, when the key verified but the URL did not. */
    signedUrl: text('signed_url'),
    /** MISSING_SIGNATURE, WRONG_KEY, EXPIRED, NOT_YET_VALID, URL_MISMATCH, BODY_HASH or MALFORMED. */
    reason: text('reason').notNull(),
    /** The verifier's words. */
    detail: text('detail'),
  },
  (t) => [index('signature_failures_at_idx').on(t.at), index('signature_failures_message_id_idx').on(t.messageId)],
);

export type JobExecution = typeof jobExecutions.$inferSelect;
export type NewJobExecution = typeof jobExecutions.$inferInsert;
export type JobAttempt = typeof jobAttempts.$inferSelect;
export type JobPublish = typeof jobPublishes.$inferSelect;
export type AuditEntry = typeof auditLog.$inferSelect;
export type BulkOperation = typeof bulkOperations.$inferSelect;
export type SignatureFailure = typeof signatureFailures.$inferSelect;
export type JobLog = typeof jobLogs.$inferSelect;

/** What an alert rule measures (src/jobs/alerts/metrics.ts defines each). */
export const ALERT_METRICS = ['failure_rate', 'stuck_jobs', 'slow_jobs', 'backlog_age', 'dead_letters', 'signature_failures'] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

/** Where a rule's events go: the log (`[jobs] …` lines), and webhooks. */
export interface AlertChannels {
  log: boolean;
  webhooks: AlertWebhook[];
}
export interface AlertWebhook {
  url: string;
  /** `json`: the event with a `text` line; `slack`: Slack's incoming-webhook body (`text` and `blocks`). */
  format: 'json' | 'slack';
  /** Signs each body (HMAC-SHA256, `X-Jobscope-Signature`); unsigned without it. Never shown by the API. */
  secret?: string | undefined;
}

/**
 * An alert rule a team manages (`createAlertRule`, …): a metric over the jobs a JobFilter names,
 * a window, a threshold it fires at, a cooldown between firings, its channels. Its firing state is
 * kept on the row, so that whichever instance evaluates next carries on from it. The guide's two
 * alerts are rows too (`default_key`), written from the configuration until a team edits them.
 */
export const alertRules = pgTable(
  'alert_rules',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    metric: text('metric').$type<AlertMetric>().notNull(),
    /** The JobFilter the metric is measured over (no time fields: the window is the time). */
    scope: jsonb('scope').$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
    windowMinutes: integer('window_minutes').notNull(),
    threshold: doublePrecision('threshold').notNull(),
    cooldownMinutes: integer('cooldown_minutes').notNull(),
    channels: jsonb('channels').$type<AlertChannels>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    /** Not evaluated before this instant (`muteAlertRule`). */
    mutedUntil: timestamp('muted_until', { ...tz, precision: 3 }),
    /** `failure-rate` or `stuck-jobs` for the guide's two alerts; null for a team's own rule. */
    defaultKey: text('default_key').unique(),
    /** A default rule a team edited: the configuration no longer rewrites it. */
    customized: boolean('customized').notNull().default(false),
    createdAt: timestamp('created_at', { ...tz, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { ...tz, precision: 3 }).notNull().defaultNow(),
    /** The open FIRED event while the condition holds; null while it does not. */
    firingEventId: bigint('firing_event_id', { mode: 'number' }),
    /** The last FIRED event's time: the cooldown counts from it. */
    lastFiredAt: timestamp('last_fired_at', { ...tz, precision: 3 }),
    lastValue: doublePrecision('last_value'),
    lastEvaluatedAt: timestamp('last_evaluated_at', { ...tz, precision: 3 }),
  },
  (t) => [check('alert_rules_window_positive', sql`${t.windowMinutes} > 0`), check('alert_rules_cooldown_nonnegative', sql`${t.cooldownMinutes} >= 0`)],
);

export const ALERT_EVENT_KINDS = ['fired', 'resolved'] as const;
export type AlertEventKind = (typeof ALERT_EVENT_KINDS)[number];

/** What happened to one channel of an event: delivered, or not after `attempts` tries. */
export interface AlertDelivery {
  channel: 'log' | 'webhook';
  url?: string | undefined;
  ok: boolean;
  attempts: number;
  /** The receiver's last HTTP status. */
  status?: number | undefined;
  error?: string | undefined;
}

/**
 * The history of alerts (`alertEvents`): each firing (a rule's condition started to hold, or still
 * holds past its cooldown) and each resolution, with the value, the threshold and the jobs behind
 * it. The rule's name and metric are copied: the history outlives a deleted rule.
 */
export const alertEvents = pgTable(
  'alert_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    ruleId: text('rule_id').notNull(),
    ruleName: text('rule_name').notNull(),
    metric: text('metric').$type<AlertMetric>().notNull(),
    kind: text('kind').$type<AlertEventKind>().notNull(),
    at: timestamp('at', { ...tz, precision: 3 }).notNull().defaultNow(),
    value: doublePrecision('value').notNull(),
    threshold: doublePrecision('threshold').notNull(),
    message: text('message').notNull(),
    /** The jobs behind the value (the failed, stuck, slow or waiting ones), at most 20. */
    jobIds: text('job_ids').array().notNull().default(sql`'{}'::text[]`),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull(),
    deliveries: jsonb('deliveries').$type<AlertDelivery[]>().notNull().default(sql`'[]'::jsonb`),
    acknowledgedAt: timestamp('acknowledged_at', { ...tz, precision: 3 }),
    acknowledgedBy: text('acknowledged_by'),
  },
  (t) => [index('alert_events_rule_idx').on(t.ruleId, t.id)],
);

/** Which instance evaluates the alert rules, and until when (a lease: another takes over when it lapses). */
export const alertEvaluator = pgTable('alert_evaluator', {
  id: integer('id').primaryKey(),
  owner: text('owner').notNull(),
  leaseUntil: timestamp('lease_until', tz).notNull(),
});

export type AlertRule = typeof alertRules.$inferSelect;
export type AlertEvent = typeof alertEvents.$inferSelect;
