import type { JobExecution } from '../db/schema.js';
import type { JobExecutionShape } from '../jobs/queries/index.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { JobStatusEnum } from './job-status.js';

const seconds = (from: Date | null, to: Date | null) => (from && to ? (to.getTime() - from.getTime()) / 1000 : null);

/** One delivery attempt of a job, as the worker recorded it. */
export const JobAttemptRef = builder.drizzleObject('jobAttempts', {
  name: 'JobAttempt',
  description: 'One delivery attempt of a job.',
  // Each field selects the columns it reads, so a query loads only those.
  select: { columns: {} },
  fields: (t) => ({
    attempt: t.exposeInt('attempt', { description: '`Upstash-Retried` of the delivery: 0 on the first.' }),
    messageId: t.exposeString('messageId', { nullable: true, description: 'QStash message id of the delivery.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', description: 'When the handler started.' }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When the outcome was recorded; null while running.' }),
    durationSeconds: t.float({
      nullable: true,
      description: 'Handler run time.',
      select: { columns: { durationMs: true } },
      resolve: (attempt) => (attempt.durationMs === null ? null : attempt.durationMs / 1000),
    }),
    httpStatus: t.exposeInt('httpStatus', { nullable: true, description: 'HTTP status the worker answered QStash with.' }),
    error: t.exposeString('error', { nullable: true, description: 'Error message when the attempt failed.' }),
  }),
});

/** A job: its latest state and every attempt. */
export const JobExecutionRef = builder.drizzleObject('jobExecutions', {
  name: 'JobExecution',
  description: 'A job: its latest state, payload and every delivery attempt.',
  // The id always (cursors, reloads); every other column only when a selected field reads it, so
  // a list of ids and statuses never loads or parses the payload and result JSON.
  select: { columns: { jobId: true } },
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    jobType: t.exposeString('jobType', { description: 'Registered job type, e.g. `send-email`.' }),
    status: t.expose('status', { type: JobStatusEnum }),
    retryCount: t.exposeInt('retryCount', { description: '`Upstash-Retried` of the latest attempt: 0 on the first delivery.' }),
    maxRetries: t.exposeInt('maxRetries', { description: 'How many retries QStash was asked to make.' }),
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
    result: t.expose('result', { type: 'JSON', nullable: true, description: 'What the handler returned on success.' }),
    error: t.exposeString('error', { nullable: true, description: 'Last error; cleared on completion or manual retry.' }),
    messageId: t.exposeString('messageId', { nullable: true, description: 'QStash message id of the latest publish.' }),
    userId: t.exposeString('userId', { nullable: true, description: '`metadata.userId`.' }),
    organizationId: t.exposeString('organizationId', { nullable: true, description: '`metadata.organizationId`.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the job was enqueued (or first seen).' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'When the latest attempt started.' }),
    completedAt: t.expose('completedAt', { type: 'DateTime', nullable: true, description: 'When the job reached a final state.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the row last changed.' }),
    durationSeconds: t.float({
      nullable: true,
      description: 'completedAt − startedAt, when both are set.',
      select: { columns: { startedAt: true, completedAt: true } },
      resolve: (job) => seconds(job.startedAt, job.completedAt),
    }),
    queueWaitSeconds: t.float({
      nullable: true,
      description: 'startedAt − createdAt: how long the job waited for its latest attempt.',
      select: { columns: { createdAt: true, startedAt: true } },
      resolve: (job) => seconds(job.createdAt, job.startedAt),
    }),
    attempts: t.relation('attempts', {
      description: 'Every delivery attempt, oldest first.',
      query: { orderBy: { id: 'asc' } },
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
