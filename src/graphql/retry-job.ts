import { builder } from './builder.js';
import { JobExecutionRef, reread } from './job-execution.js';

builder.mutationField('retryJob', (t) =>
  t.drizzleField({
    type: JobExecutionRef,
    description:
      'The manual retry: resets a FAILED, CANCELLED or stuck job to PENDING (error cleared, retryCount 0) and ' +
      'publishes its stored payload and metadata again; earlier attempts stay. Errors: JOB_NOT_FOUND, JOB_NOT_RETRYABLE.',
    args: { jobId: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => reread(ctx, await ctx.jobs.retry(String(args.jobId), { actor: ctx.actor }), query({})),
  }),
);
