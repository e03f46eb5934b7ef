import { sql } from 'drizzle-orm';
import {
  bigint,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
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
    // jsonb containment filters (`payloadContains`) on the job's own payload. jsonb_path_ops
    // serves only `@>`, the one operator the filter uses, with a smaller index than jsonb_ops.
    index('job_executions_payload_gin_idx').using('gin', sql`(${t.payload} -> 'payload') jsonb_path_ops`),
  ],
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
    /** Error message when the attempt failed. */
    error: text('error'),
  },
  (t) => [
    index('job_attempts_job_id_idx').on(t.jobId, t.id),
    uniqueIndex('job_attempts_message_attempt_idx').on(t.messageId, t.attempt),
  ],
);

export type JobExecution = typeof jobExecutions.$inferSelect;
export type NewJobExecution = typeof jobExecutions.$inferInsert;
export type JobAttempt = typeof jobAttempts.$inferSelect;
