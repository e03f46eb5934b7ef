import { HISTOGRAM_RELATIVE_ERROR, type JobStatistic } from '../jobs/read/index.js';
import { builder } from './builder.js';
import { JobFilterInput, toFilter } from './job-filter.js';
import { JobStatusEnum } from './job-status.js';

const JobStatRef = builder.objectRef<JobStatistic>('JobStat').implement({
  description:
    'Jobs of one type in one status. Durations (completedAt − startedAt) come from jobs that have both; ' +
    'for final statuses these equal the operations guide\'s "job statistics by type" query. Queue waits ' +
    '(startedAt − createdAt, how long a job waited for its latest attempt) come from jobs that started. ' +
    `Averages are exact; percentiles read from the rollups are within ${(HISTOGRAM_RELATIVE_ERROR * 100).toFixed(1)} % of percentile_cont.`,
  fields: (t) => ({
    jobType: t.exposeString('jobType'),
    status: t.expose('status', { type: JobStatusEnum }),
    count: t.exposeInt('count'),
    avgDurationSeconds: t.exposeFloat('avgDurationSeconds', { nullable: true }),
    p50DurationSeconds: t.exposeFloat('p50DurationSeconds', { nullable: true }),
    p95DurationSeconds: t.exposeFloat('p95DurationSeconds', { nullable: true }),
    p99DurationSeconds: t.exposeFloat('p99DurationSeconds', { nullable: true }),
    avgQueueWaitSeconds: t.exposeFloat('avgQueueWaitSeconds', { nullable: true }),
    p50QueueWaitSeconds: t.exposeFloat('p50QueueWaitSeconds', { nullable: true }),
    p95QueueWaitSeconds: t.exposeFloat('p95QueueWaitSeconds', { nullable: true }),
    p99QueueWaitSeconds: t.exposeFloat('p99QueueWaitSeconds', { nullable: true }),
  }),
});

builder.queryField('jobStats', (t) =>
  t.field({
    type: [JobStatRef],
    description:
      'One row per (jobType, status) over the jobs `filter` names (all jobs by default). A filter of statuses, job ' +
      'types and creation time is read from the rollups; any other field counts the matching rows.',
    args: {
      filter: t.arg({ type: JobFilterInput }),
      since: t.arg({ type: 'DateTime', deprecationReason: 'Use filter.createdAfter.' }),
      until: t.arg({ type: 'DateTime', deprecationReason: 'Use filter.createdBefore.' }),
      jobType: t.arg.string({ deprecationReason: 'Use filter.jobType.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.jobs.read.stats({
        filter: toFilter(args.filter),
        since: args.since ?? undefined,
        until: args.until ?? undefined,
        jobType: args.jobType ?? undefined,
      }),
  }),
);
