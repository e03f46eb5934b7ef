import type { JobExecution, JobStatus } from '../db/schema.js';
import { JOB_EVENT_TYPES, type JobEvent } from '../jobs/events.js';
import { builder } from './builder.js';
import { JobExecutionRef } from './job-execution.js';
import { JobStatusEnum } from './job-status.js';
import { untilClosed } from './subscriptions.js';

const JobEventTypeEnum = builder.enumType('JobEventType', {
  description: 'The job lifecycle vocabulary, shared with the logs and the recorder.',
  values: Object.fromEntries(JOB_EVENT_TYPES.map((type) => [type.toUpperCase(), { value: type }])) as Record<
    Uppercase<JobEvent['type']>,
    { value: JobEvent['type'] }
  >,
});

/** The per-event loader of `execution`: one read per event, not per subscriber or per key. */
const executions = new WeakMap<JobEvent, Promise<JobExecution | undefined>>();
function executionOf(event: JobEvent, load: () => Promise<JobExecution | undefined>): Promise<JobExecution | undefined> {
  let loaded = executions.get(event);
  if (!loaded) {
    loaded = load();
    executions.set(event, loaded);
  }
  return loaded;
}

const JobEventRef = builder.objectRef<JobEvent>('JobEvent').implement({
  description: 'A recorded change of a job, from any instance sharing the database.',
  fields: (t) => ({
    type: t.expose('type', { type: JobEventTypeEnum }),
    jobId: t.exposeID('jobId'),
    jobType: t.exposeString('jobType'),
    status: t.expose('status', { type: JobStatusEnum }),
    retryCount: t.exposeInt('retryCount'),
    error: t.exposeString('error', { nullable: true }),
    occurredAt: t.expose('occurredAt', { type: 'DateTime' }),
    execution: t.field({
      type: JobExecutionRef,
      nullable: true,
      description: 'The job as it is when the event is delivered (it may have moved on since).',
      // Once per event, whichever shared sources (keys) select it: the bus hands every listener the same event object.
      resolve: (event, _args, ctx) => executionOf(event, () => ctx.jobs.read.get(event.jobId)),
    }),
  }),
});

builder.subscriptionField('jobEvents', (t) =>
  t.field({
    type: JobEventRef,
    description: 'Job events as they are recorded, optionally only of one type, one job or some statuses.',
    args: {
      jobType: t.arg.string(),
      jobId: t.arg.id(),
      statuses: t.arg({ type: [JobStatusEnum] }),
    },
    subscribe: (_root, args, ctx) => {
      const jobId = args.jobId === null || args.jobId === undefined ? undefined : String(args.jobId);
      const statuses = args.statuses ? new Set<JobStatus>(args.statuses) : undefined;
      const matches = (event: JobEvent) =>
        (!args.jobType || event.jobType === args.jobType) &&
        (!jobId || event.jobId === jobId) &&
        (!statuses || statuses.has(event.status));
      return untilClosed(ctx as { request?: Request }, (signal) => ctx.jobs.events.iterate(signal, matches));
    },
    resolve: (event: JobEvent) => event,
  }),
);
