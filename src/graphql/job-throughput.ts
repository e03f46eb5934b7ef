import type { ThroughputBucket } from '../jobs/read/index.js';
import { builder } from './builder.js';
import { JobFilterInput, toFilter } from './job-filter.js';

const ThroughputBucketSizeEnum = builder.enumType('ThroughputBucketSize', {
  description: 'Bucket width; buckets are aligned in UTC.',
  values: { MINUTE: { value: 'minute' }, HOUR: { value: 'hour' }, DAY: { value: 'day' } } as const,
});

const ThroughputBucketRef = builder.objectRef<ThroughputBucket>('ThroughputBucket').implement({
  fields: (t) => ({
    bucketStart: t.expose('bucketStart', { type: 'DateTime' }),
    enqueued: t.exposeInt('enqueued', { description: 'Jobs created in the bucket.' }),
    completed: t.exposeInt('completed', { description: 'Jobs that completed in the bucket.' }),
    failed: t.exposeInt('failed', { description: 'Jobs that failed for good in the bucket.' }),
  }),
});

builder.queryField('jobThroughput', (t) =>
  t.field({
    type: [ThroughputBucketRef],
    description:
      'Enqueued, completed and failed jobs per bucket, oldest first, with empty buckets as zeros. Counts cover ' +
      '[since, until); without `since`, the last 60 minutes, 24 hours or 30 days. At most 10000 buckets. Only the jobs ' +
      '`filter` names are counted: a filter of job types (and, for HOUR and DAY buckets, statuses) is read from the ' +
      'rollups, any other field counts the matching rows.',
    args: {
      filter: t.arg({ type: JobFilterInput }),
      since: t.arg({ type: 'DateTime' }),
      until: t.arg({ type: 'DateTime' }),
      bucket: t.arg({ type: ThroughputBucketSizeEnum, defaultValue: 'hour' }),
      jobType: t.arg.string({ deprecationReason: 'Use filter.jobType.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.jobs.read.throughput({
        filter: toFilter(args.filter),
        since: args.since ?? undefined,
        until: args.until ?? undefined,
        bucket: args.bucket ?? undefined,
        jobType: args.jobType ?? undefined,
      }),
  }),
);
