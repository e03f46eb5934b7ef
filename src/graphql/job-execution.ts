import type { JobAttempt, JobExecution } from '../db/schema.js';
import type { JobExecutionShape } from '../jobs/read/index.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { JobStatusEnum } from './job-status.js';
import { JobPublishRef } from './publish-state.js';

const seconds = (from: Date | null, to: Date | null) => (from && to ? (to.getTime() - from.getTime()) / 1000 : null);

/** The columns each field of JobAttempt reads (see {@link FIELD_COLUMNS}). */
const ATTEMPT_FIELD_COLUMNS = {
  attempt: ['attempt'],
  messageId: ['messageId'],
  startedAt: ['startedAt'],
  finishedAt: ['finishedAt'],
  durationSeconds: ['durationMs'],
  httpStatus: ['httpStatus'],
  error: ['error'],
  heartbeatAt: ['heartbeatAt'],
} as const satisfies Record<string, readonly (keyof JobAttempt)[]>;

/** Every column a JobAttempt field reads: all small, loaded for one job. */
const ATTEMPT_COLUMNS = columnsOf(Object.values(ATTEMPT_FIELD_COLUMNS).flat());

/** One delivery attempt of a job, as the worker recorded it. */
export const JobAttemptRef = builder.drizzleObject('jobAttempts', {
  name: 'JobAttempt',
  description: 'One delivery attempt of a job.',
  // Read straight off the row (see JobExecution); a list loads only the selected ones.
  select: { columns: ATTEMPT_COLUMNS },
  fields: (t) => ({
    attempt: t.int({ resolve: (attempt) => attempt.attempt, description: '`Upstash-Retried` of the delivery: 0 on the first.' }),
    messageId: t.string({ resolve: (attempt) => attempt.messageId, nullable: true, description: 'QStash message id of the delivery.' }),
    startedAt: t.field({ type: 'DateTime', resolve: (attempt) => attempt.startedAt, description: 'When the handler started.' }),
    finishedAt: t.field({ type: 'DateTime', resolve: (attempt) => attempt.finishedAt, nullable: true, description: 'When the outcome was recorded; null while running.' }),
    durationSeconds: t.float({
      nullable: true,
      description: 'Handler run time.',
      resolve: (attempt) => (attempt.durationMs === null ? null : attempt.durationMs / 1000),
    }),
    httpStatus: t.int({ resolve: (attempt) => attempt.httpStatus, nullable: true, description: 'HTTP status the worker answered QStash with.' }),
    error: t.string({
      resolve: (attempt) => attempt.error,
      nullable: true,
      description: 'Error message when the attempt failed; starts with `WORKER_LOST:` when its worker stopped mid-run.',
    }),
    heartbeatAt: t.field({
      type: 'DateTime',
      resolve: (attempt) => attempt.heartbeatAt,
      nullable: true,
      description:
        'Last heartbeat of the attempt while it ran (every few seconds); an open attempt silent for too long has lost its worker.',
    }),
  }),
});

/**
 * The columns each plain field of JobExecution reads, the one definition of both the columns the
 * type loads for a single job (all of them: small) and the columns a list loads (only those of
 * the fields it selects: {@link narrowToFields}). The JSON fields and `attempts` are not here: the
 * drizzle plugin selects what they need.
 */
const FIELD_COLUMNS = {
  jobId: ['jobId'],
  jobType: ['jobType'],
  status: ['status'],
  retryCount: ['retryCount'],
  maxRetries: ['maxRetries'],
  error: ['error'],
  messageId: ['messageId'],
  userId: ['userId'],
  organizationId: ['organizationId'],
  scheduleId: ['scheduleId'],
  createdAt: ['createdAt'],
  startedAt: ['startedAt'],
  completedAt: ['completedAt'],
  updatedAt: ['updatedAt'],
  durationSeconds: ['startedAt', 'completedAt'],
  queueWaitSeconds: ['createdAt', 'startedAt'],
} as const satisfies Record<string, readonly (keyof JobExecution)[]>;

type ScalarColumn = (typeof FIELD_COLUMNS)[keyof typeof FIELD_COLUMNS][number];

/** Every column of job_executions but the JSON ones: small, so always loaded for one job. */
const SCALAR_COLUMNS = columnsOf<ScalarColumn>(Object.values(FIELD_COLUMNS).flat());

/** `{ column: true }` for each column: drizzle's `columns` form. */
function columnsOf<C extends string>(columns: readonly C[]): Record<C, true> {
  return Object.fromEntries(columns.map((column) => [column, true])) as Record<C, true>;
}

/**
 * `columns` as the plugin planned them (every column the type's select names) with only those of
 * `all` that the selected `fields` read, plus `keep` and whatever else the plugin added.
 */
function narrowColumns(
  columns: Record<string, boolean | undefined>,
  all: Record<string, true>,
  fieldColumns: Record<string, readonly string[]>,
  fields: ReadonlySet<string>,
  keep: readonly string[],
): Record<string, true> {
  const narrowed = columnsOf(keep) as Record<string, true>;
  for (const [column, on] of Object.entries(columns)) {
    if (on && !(column in all)) narrowed[column] = true;
  }
  for (const field of fields) {
    for (const column of fieldColumns[field] ?? []) narrowed[column] = true;
  }
  return narrowed;
}

/** What a list selects on JobExecution and, under `attempts`, on JobAttempt. */
export interface SelectedFields {
  job: ReadonlySet<string>;
  attempt: ReadonlySet<string>;
}

/**
 * `shape` (as the plugin planned it, with every scalar column) with only the scalar columns the
 * selected fields read, the job id always, and whatever the plugin added for the JSON fields and
 * relations kept; the attempts likewise. For lists: at 50 rows, loading six columns instead of
 * thirteen is most of the difference between a page of six fields and a page of one, and the
 * attempts' unselected timestamps were a Date parse each.
 */
export function narrowToFields(shape: JobExecutionShape, fields: SelectedFields): JobExecutionShape {
  if (!shape.columns) return shape;
  const narrowed: JobExecutionShape = { ...shape, columns: narrowColumns(shape.columns, SCALAR_COLUMNS, FIELD_COLUMNS, fields.job, ['jobId']) };
  const attempts = shape.with?.attempts;
  if (attempts && typeof attempts === 'object' && attempts.columns) {
    narrowed.with = {
      ...shape.with,
      attempts: { ...attempts, columns: narrowColumns(attempts.columns, ATTEMPT_COLUMNS, ATTEMPT_FIELD_COLUMNS, fields.attempt, ['id']) },
    };
  }
  return narrowed;
}

/**
 * The shape of a list whose selected JobExecution fields are all plain column fields (and
 * `__typename`): exactly those columns, as {@link narrowToFields} narrows the plugin's plan to.
 * Such a selection needs no plan: none of its fields looks up the plugin's mappings. Undefined
 * when anything else is selected (JSON fields, relations, fields other modules add).
 */
export function plainShape(fields: ReadonlySet<string>): JobExecutionShape | undefined {
  for (const field of fields) if (field !== '__typename' && !(field in FIELD_COLUMNS)) return undefined;
  return { columns: narrowColumns({}, SCALAR_COLUMNS, FIELD_COLUMNS, fields, ['jobId']), with: {}, extras: {} };
}

/** A job: its latest state and every attempt. */
export const JobExecutionRef = builder.drizzleObject('jobExecutions', {
  name: 'JobExecution',
  description: 'A job: its latest state, payload and every delivery attempt.',
  // The scalar columns always, read straight off the row; the payload and result JSON only when a
  // selected field reads them. The plugin wraps every field that selects (exposed ones too) with a
  // per-row mapping lookup, 12-15 % of a list's CPU when every field had one, so the cheap fields
  // are plain resolvers over columns the type always loads.
  select: { columns: SCALAR_COLUMNS },
  fields: (t) => ({
    jobId: t.id({ resolve: (job) => job.jobId }),
    jobType: t.string({ resolve: (job) => job.jobType, description: 'Registered job type, e.g. `send-email`.' }),
    status: t.field({ type: JobStatusEnum, resolve: (job) => job.status }),
    retryCount: t.int({ resolve: (job) => job.retryCount, description: '`Upstash-Retried` of the latest attempt: 0 on the first delivery.' }),
    maxRetries: t.int({ resolve: (job) => job.maxRetries, description: 'How many retries QStash was asked to make.' }),
    payload: t.field({
      type: 'JSON',
      description: "The job's own payload (the envelope's `payload`).",
      select: { columns: { payload: true } },
      resolve: (job) => job.payload?.payload ?? {},
    }),
    metadata: t.field({
      type: 'JSON',
      nullable: true,
      description: "The envelope's metadata (createdAt, userId, organizationId and the caller's own keys).",
      select: { columns: { payload: true } },
      resolve: (job) => job.payload?.metadata ?? null,
    }),
    result: t.field({
      type: 'JSON',
      nullable: true,
      description: 'What the handler returned on success.',
      select: { columns: { result: true } },
      resolve: (job) => job.result,
    }),
    error: t.string({ resolve: (job) => job.error, nullable: true, description: 'Last error; cleared on completion or manual retry.' }),
    messageId: t.string({ resolve: (job) => job.messageId, nullable: true, description: 'QStash message id of the latest publish.' }),
    userId: t.string({ resolve: (job) => job.userId, nullable: true, description: '`metadata.userId`.' }),
    organizationId: t.string({ resolve: (job) => job.organizationId, nullable: true, description: '`metadata.organizationId`.' }),
    scheduleId: t.string({
      resolve: (job) => job.scheduleId,
      nullable: true,
      description: "The QStash schedule whose run created this job (QStash's `Upstash-Schedule-Id`), if any.",
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (job) => job.createdAt, description: 'When the job was enqueued (or first seen).' }),
    startedAt: t.field({ type: 'DateTime', resolve: (job) => job.startedAt, nullable: true, description: 'When the latest attempt started.' }),
    completedAt: t.field({ type: 'DateTime', resolve: (job) => job.completedAt, nullable: true, description: 'When the job reached a final state.' }),
    updatedAt: t.field({ type: 'DateTime', resolve: (job) => job.updatedAt, description: 'When the row last changed.' }),
    durationSeconds: t.float({
      nullable: true,
      description: 'completedAt − startedAt, when both are set.',
      resolve: (job) => seconds(job.startedAt, job.completedAt),
    }),
    queueWaitSeconds: t.float({
      nullable: true,
      description: 'startedAt − createdAt: how long the job waited for its latest attempt.',
      resolve: (job) => seconds(job.createdAt, job.startedAt),
    }),
    attempts: t.relation('attempts', {
      description: 'Every delivery attempt, oldest first.',
      query: { orderBy: { id: 'asc' } },
    }),
    replayOf: t.relation('original', {
      nullable: true,
      description: 'The job this one replays (`replayJob`); null when it is no replay, or the original was purged.',
    }),
    replays: t.relation('replays', {
      description: 'The jobs that replay this one (`replayJob`), oldest first.',
      query: { orderBy: { createdAt: 'asc' } },
    }),
    publishState: t.relation('publish', {
      type: JobPublishRef,
      nullable: true,
      description: 'How publishing it to QStash went; null for a job published straight to QStash, not through jobscope.',
    }),
  }),
});

/**
 * A job a command just changed, read once more with what the operation selects: the answer is one
 * consistent read of the row after the change (the command's own row if it is gone already).
 */
export async function reread(ctx: GraphQLContext, job: JobExecution, shape: JobExecutionShape): Promise<JobExecution> {
  return (await ctx.jobs.read.get(job.jobId, shape)) ?? job;
}

builder.queryField('jobExecution', (t) =>
  t.drizzleField({
    type: JobExecutionRef,
    nullable: true,
    description: 'One job by id, or null.',
    args: { jobId: t.arg.id({ required: true }) },
    // One read of the row with what the operation selects (attempts included).
    resolve: (query, _root, args, ctx) => ctx.jobs.read.get(String(args.jobId), query({})),
  }),
);

/** The job of an id a result names (a dead letter's, a mismatch's): every column, or null when there is none. */
export const jobById = (ctx: GraphQLContext, jobId: string | null) => (jobId === null ? null : ctx.jobs.read.get(jobId).then((job) => job ?? null));
