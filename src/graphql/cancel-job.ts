import { builder } from './builder.js';
import { JobExecutionRef, reread } from './job-execution.js';

builder.mutationField('cancelJob', (t) =>
  t.drizzleField({
    type: JobExecutionRef,
    description:
      'Cancels a PENDING (e.g. delayed) or RETRYING job: it becomes CANCELLED and its QStash message is dropped; ' +
      'a delivery already on its way is acknowledged without running. A running job is not interrupted. ' +
      'Errors: JOB_NOT_FOUND, JOB_NOT_CANCELLABLE.',
    args: { jobId: t.arg.id({ required: true }) },
    resolve: async (query, _root, args, ctx) => reread(ctx, await ctx.jobs.cancel(String(args.jobId), { actor: ctx.actor }), query({})),
  }),
);
