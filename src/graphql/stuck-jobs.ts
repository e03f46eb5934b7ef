import { findStuckJobs } from '../jobs/queries.js';
import { builder } from './builder.js';
import { badUserInput } from './errors.js';
import { JobExecutionRef } from './job-execution.js';

builder.queryField('stuckJobs', (t) =>
  t.field({
    type: [JobExecutionRef],
    description: 'Jobs PROCESSING whose latest attempt started more than `olderThanMinutes` ago, oldest first.',
    args: { olderThanMinutes: t.arg.int({ defaultValue: 10 }) },
    resolve: (_root, args, ctx) => {
      const olderThanMinutes = args.olderThanMinutes ?? 10;
      if (olderThanMinutes < 0) throw badUserInput('"olderThanMinutes" must not be negative', 'olderThanMinutes');
      return findStuckJobs(ctx.db, olderThanMinutes);
    },
  }),
);
