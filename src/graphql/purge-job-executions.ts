import { builder } from './builder.js';
import { JobExecutionFilterInput, toFilter } from './job-filter.js';

const JobPurgeResult = builder
  .objectRef<{ matched: number; deleted: number; batches: number; longestBatchMs: number; dryRun: boolean; olderThan: Date }>('JobPurgeResult')
  .implement({
    description: 'What purgeJobExecutions deleted (or, for a dry run, would delete).',
    fields: (t) => ({
      matched: t.exposeInt('matched', { description: 'Final jobs matching when the purge started.' }),
      deleted: t.exposeInt('deleted', { description: 'Jobs deleted, with their attempts (0 for a dry run).' }),
      batches: t.exposeInt('batches', { description: 'DELETE statements it took; each one its own short transaction.' }),
      longestBatchMs: t.exposeFloat('longestBatchMs', { description: 'The longest of them in milliseconds: the longest a row lock was held.' }),
      dryRun: t.exposeBoolean('dryRun'),
      olderThan: t.expose('olderThan', { type: 'DateTime' }),
    }),
  });

builder.mutationField('purgeJobExecutions', (t) =>
  t.field({
    type: JobPurgeResult,
    description:
      'Deletes COMPLETED, FAILED and CANCELLED jobs that finished before `olderThan` (and match `filter`), with ' +
      'their attempts, in batches of 1,000 so the tables stay available; a job that is not final is never deleted. ' +
      'Statistics are those of the jobs that remain. `dryRun: true` only counts. JOBSCOPE_RETENTION_DAYS does the ' +
      'same on a timer.',
    args: {
      olderThan: t.arg({ type: 'DateTime', required: true }),
      filter: t.arg({ type: JobExecutionFilterInput }),
      dryRun: t.arg.boolean({ required: true, description: 'true: count what would be deleted, delete nothing.' }),
    },
    resolve: async (_root, args, ctx) => {
      const result = await ctx.jobs.purge({ olderThan: args.olderThan, filter: toFilter(args.filter), dryRun: args.dryRun }, { actor: ctx.actor });
      return { ...result, olderThan: args.olderThan };
    },
  }),
);
