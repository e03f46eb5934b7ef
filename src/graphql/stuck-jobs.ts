import { builder } from './builder.js';
import { badUserInput } from './errors.js';
import { JobExecutionRef } from './job-execution.js';

builder.queryField('stuckJobs', (t) =>
  t.drizzleField({
    type: [JobExecutionRef],
    description: 'Jobs PROCESSING whose latest attempt started more than `olderThanMinutes` ago, oldest first.',
    args: {
      olderThanMinutes: t.arg.int({ description: 'Default: the configured stuck threshold (ALERT_STUCK_MINUTES, 10).' }),
    },
    resolve: (query, _root, args, ctx) => {
      const olderThanMinutes = args.olderThanMinutes ?? undefined;
      if (olderThanMinutes !== undefined && olderThanMinutes < 0) {
        throw badUserInput('"olderThanMinutes" must not be negative', 'olderThanMinutes');
      }
      return ctx.jobs.read.stuck(olderThanMinutes, query({}));
    },
  }),
);
