import type { JobMetadata } from '../db/schema.js';
import type { Schedule } from '../jobs/index.js';
import { builder } from './builder.js';
import { badUserInput } from './errors.js';
import { JobExecutionRef } from './job-execution.js';

const ScheduleRef = builder.objectRef<Schedule>('Schedule').implement({
  description: "A QStash schedule (cron) of a job type: each run is delivered like a publish and recorded as its own job carrying the schedule's id.",
  fields: (t) => ({
    id: t.exposeID('id', { description: "QStash's schedule id (`Upstash-Schedule-Id`); what JobExecution.scheduleId holds." }),
    cron: t.exposeString('cron', { description: 'Five fields (minute hour day month weekday), optionally behind `CRON_TZ=<zone> `.' }),
    jobType: t.exposeString('jobType', { nullable: true, description: "The job type it runs; null for a QStash schedule that is not jobscope's." }),
    payload: t.field({ type: 'JSON', nullable: true, resolve: (schedule) => schedule.payload, description: 'The payload every run gets.' }),
    metadata: t.field({ type: 'JSON', nullable: true, resolve: (schedule) => schedule.metadata }),
    destination: t.exposeString('destination', { description: 'The worker endpoint QStash delivers each run to.' }),
    paused: t.exposeBoolean('paused', { description: 'A paused schedule does not run until resumed.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    nextRunAt: t.expose('nextRunAt', { type: 'DateTime', nullable: true, description: 'When QStash runs it next; null while paused.' }),
    lastRunAt: t.expose('lastRunAt', { type: 'DateTime', nullable: true, description: 'When QStash last ran it.' }),
    lastRun: t.field({
      type: JobExecutionRef,
      nullable: true,
      description: 'The latest job one of its runs created (filter jobExecutions by scheduleId for all of them).',
      resolve: async (schedule, _args, ctx) => (await ctx.jobs.qstash.lastRunOf(schedule.id)) ?? null,
    }),
  }),
});

builder.queryField('schedules', (t) =>
  t.field({ type: [ScheduleRef], description: "QStash's schedules, oldest first.", resolve: (_root, _args, ctx) => ctx.jobs.qstash.schedules() }),
);

builder.queryField('schedule', (t) =>
  t.field({
    type: ScheduleRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.jobs.qstash.schedule(String(args.id))) ?? null,
  }),
);

builder.mutationField('createSchedule', (t) =>
  t.field({
    type: ScheduleRef,
    description:
      'Runs `jobType` with `payload` at each time of `cron` through a QStash schedule. The payload is validated by the type\'s schema like ' +
      '`enqueueJob`. Errors: UNKNOWN_JOB_TYPE, INVALID_PAYLOAD, BAD_USER_INPUT (the cron, or metadata that is not an object); nothing is created on any of them.',
    args: {
      jobType: t.arg.string({ required: true }),
      cron: t.arg.string({ required: true, description: 'QStash cron: `*/5 * * * *`, `CRON_TZ=Europe/Paris 0 9 * * 1-5`.' }),
      payload: t.arg({ type: 'JSON', required: true }),
      metadata: t.arg({ type: 'JSON', description: 'Stored with every run (an object).' }),
    },
    resolve: (_root, args, ctx) => {
      const metadata = args.metadata ?? undefined;
      if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
        throw badUserInput('"metadata" must be a JSON object', 'metadata');
      }
      return ctx.jobs.createSchedule({ jobType: args.jobType, cron: args.cron, payload: args.payload, metadata: metadata as JobMetadata | undefined }, { actor: ctx.actor });
    },
  }),
);

function pauseVerb(name: 'pauseSchedule' | 'resumeSchedule', paused: boolean, description: string) {
  builder.mutationField(name, (t) =>
    t.field({
      type: ScheduleRef,
      description: `${description} Errors: SCHEDULE_NOT_FOUND.`,
      args: { id: t.arg.id({ required: true }) },
      resolve: (_root, args, ctx) => ctx.jobs.setSchedulePaused(String(args.id), paused, { actor: ctx.actor }),
    }),
  );
}

pauseVerb('pauseSchedule', true, 'Stops a schedule from running until it is resumed.');
pauseVerb('resumeSchedule', false, 'Lets a paused schedule run again from its next time.');

builder.mutationField('deleteSchedule', (t) =>
  t.field({
    type: ScheduleRef,
    description: "Deletes a schedule and answers it as it was; the jobs its runs created stay. Errors: SCHEDULE_NOT_FOUND.",
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.jobs.deleteSchedule(String(args.id), { actor: ctx.actor }),
  }),
);
