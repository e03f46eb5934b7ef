import type { JobExecution } from '../db/schema.js';
import { JOB_EVENT_TYPES, type JobEvent } from '../jobs/events.js';
import { eventFieldsOf, matchesJobEvent, needsRow, withArguments, type JobFilter } from '../jobs/read/filter.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { JobFilterInput, toFilter } from './job-filter.js';
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
    description:
      'Job events as they are recorded, only of the jobs `filter` names (all by default). Status, job type, job id, ' +
      'retry count and error are judged as the event says; the other fields on the job as it is when the event arrives.',
    args: {
      filter: t.arg({ type: JobFilterInput }),
      jobType: t.arg.string({ deprecationReason: 'Use filter.jobType.' }),
      jobId: t.arg.id({ deprecationReason: 'Use filter.jobId.' }),
      statuses: t.arg({ type: [JobStatusEnum], deprecationReason: 'Use filter.status.' }),
    },
    subscribe: (_root, args, ctx) => {
      const filter = withArguments(toFilter(args.filter), {
        jobType: { argument: 'jobType', value: args.jobType === null || args.jobType === undefined ? undefined : [args.jobType] },
        jobId: { argument: 'jobId', value: args.jobId === null || args.jobId === undefined ? undefined : [String(args.jobId)] },
        status: { argument: 'statuses', value: args.statuses ?? undefined },
      });
      return untilClosed(ctx as { request?: Request }, (signal) => matchingEvents(ctx, filter, signal));
    },
    resolve: (event: JobEvent) => event,
  }),
);

/**
 * The bus's events that match `filter`: judged on the event alone where it can be; otherwise the
 * job is read once per event (the same read `execution` answers from) and judged on it.
 */
async function* matchingEvents(ctx: GraphQLContext, filter: JobFilter, signal: AbortSignal): AsyncGenerator<JobEvent> {
  const onEvent = eventFieldsOf(filter);
  const withRow = needsRow(filter);
  for await (const event of ctx.jobs.events.iterate(signal, (e) => matchesJobEvent(onEvent, e, undefined))) {
    if (!withRow || matchesJobEvent(filter, event, await executionOf(event, () => ctx.jobs.read.get(event.jobId)))) yield event;
  }
}
