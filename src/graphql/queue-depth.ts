import type { JobBacklog } from '../jobs/read/index.js';
import { builder } from './builder.js';
import { queueStateOf } from './job-types.js';

/** One job type's depth: the database's backlog, and its QStash queue beside it. */
interface QueueDepth extends JobBacklog {
  /** When this answer was computed, for the oldest pending job's age. */
  at: Date;
}

const QueueDepthRef = builder.objectRef<QueueDepth>('QueueDepth').implement({
  description:
    "How far behind a job type is, from both sides: the database (jobs pending and running, the oldest pending one's age) and QStash's queue " +
    '(paused, parallelism, lag). The guide\'s "Queue Depth Monitoring". A QStash failure fails only the QStash fields (QSTASH_ERROR).',
  fields: (t) => ({
    jobType: t.exposeString('jobType'),
    pending: t.exposeInt('pending', { description: 'Jobs `pending` in the database: enqueued (or retried) and not yet started.' }),
    processing: t.exposeInt('processing', { description: 'Jobs `processing`: an attempt under way.' }),
    oldestPendingAt: t.expose('oldestPendingAt', { type: 'DateTime', nullable: true, description: 'When the oldest pending job was created.' }),
    oldestPendingAgeSeconds: t.float({
      nullable: true,
      description: 'How long the oldest pending job has waited, in seconds.',
      resolve: (depth) => (depth.oldestPendingAt === null ? null : Math.max(0, (depth.at.getTime() - depth.oldestPendingAt.getTime()) / 1000)),
    }),
    queueName: t.string({ nullable: true, resolve: (depth, _args, ctx) => ctx.jobs.qstash.queueNameOf(depth.jobType) ?? null }),
    paused: t.boolean({ nullable: true, resolve: async (depth, _args, ctx) => (await queueStateOf(ctx, depth.jobType))?.paused ?? null }),
    parallelism: t.int({ nullable: true, resolve: async (depth, _args, ctx) => (await queueStateOf(ctx, depth.jobType))?.parallelism ?? null }),
    lag: t.int({
      nullable: true,
      description: "QStash's count of the queue's messages not yet being delivered; null when queues are off.",
      resolve: async (depth, _args, ctx) => (await queueStateOf(ctx, depth.jobType))?.lag ?? null,
    }),
  }),
});

builder.queryField('queueDepth', (t) =>
  t.field({
    type: [QueueDepthRef],
    description: 'Every registered job type (and any type with unfinished jobs), by name: its backlog in the database beside its QStash queue.',
    args: { jobType: t.arg.stringList({ description: 'Only these types.' }) },
    resolve: async (_root, args, ctx) => {
      const at = new Date();
      const backlog = new Map((await ctx.jobs.read.backlog()).map((row) => [row.jobType, row]));
      const types = new Set([...ctx.jobs.registry.types(), ...backlog.keys()]);
      const wanted = args.jobType ?? undefined;
      return [...types]
        .filter((type) => wanted === undefined || wanted.includes(type))
        .sort()
        .map((jobType) => ({ ...(backlog.get(jobType) ?? { jobType, pending: 0, processing: 0, oldestPendingAt: null }), at }));
    },
  }),
);
