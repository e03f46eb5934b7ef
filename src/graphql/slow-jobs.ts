import type { SlowJobType } from '../jobs/read/index.js';
import { builder } from './builder.js';
import { badUserInput } from './errors.js';

const SlowJobTypeRef = builder.objectRef<SlowJobType>('SlowJobType').implement({
  description: 'A job type whose average duration is over the threshold.',
  fields: (t) => ({
    jobType: t.exposeString('jobType'),
    count: t.exposeInt('count', { description: 'Finished jobs of the type.' }),
    avgDurationSeconds: t.exposeFloat('avgDurationSeconds'),
    p95DurationSeconds: t.exposeFloat('p95DurationSeconds', { nullable: true }),
  }),
});

builder.queryField('slowJobs', (t) =>
  t.field({
    type: [SlowJobTypeRef],
    description:
      'Job types whose average duration (finished jobs with startedAt and completedAt; all time unless `since`, ' +
      'which counts jobs finished since then) exceeds `thresholdSeconds`, slowest first.',
    args: {
      thresholdSeconds: t.arg.float({ defaultValue: 30 }),
      since: t.arg({ type: 'DateTime' }),
    },
    resolve: (_root, args, ctx) => {
      const thresholdSeconds = args.thresholdSeconds ?? 30;
      if (!Number.isFinite(thresholdSeconds)) throw badUserInput('"thresholdSeconds" must be a finite number', 'thresholdSeconds');
      return ctx.jobs.read.slowJobTypes({ thresholdSeconds, since: args.since ?? undefined });
    },
  }),
);
