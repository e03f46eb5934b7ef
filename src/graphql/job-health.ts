import { jobHealth, type JobHealthReport } from '../jobs/queries.js';
import { builder } from './builder.js';
import { badUserInput } from './errors.js';
import { JobStatusEnum } from './job-status.js';

const HealthStatusEnum = builder.enumType('HealthStatus', {
  values: {
    HEALTHY: { value: 'healthy' },
    UNHEALTHY: { value: 'unhealthy', description: 'failureRate >= failureRateThreshold.' },
  } as const,
});

const StatusCountRef = builder.objectRef<JobHealthReport['byStatus'][number]>('StatusCount').implement({
  fields: (t) => ({
    status: t.expose('status', { type: JobStatusEnum }),
    count: t.exposeInt('count'),
  }),
});

const JobHealthRef = builder.objectRef<JobHealthReport>('JobHealth').implement({
  description: 'The operations guide\'s health check over jobs created in the window; an empty window is HEALTHY with a rate of 0.',
  fields: (t) => ({
    status: t.expose('status', { type: HealthStatusEnum }),
    windowMinutes: t.exposeInt('windowMinutes'),
    failureRateThreshold: t.exposeFloat('failureRateThreshold'),
    totalJobs: t.exposeInt('totalJobs'),
    failedJobs: t.exposeInt('failedJobs'),
    failureRate: t.exposeFloat('failureRate', { description: 'failedJobs / totalJobs; 0 when there are none.' }),
    stuckJobs: t.exposeInt('stuckJobs', { description: 'How many jobs `stuckJobs` (10 minutes) returns now.' }),
    byStatus: t.field({ type: [StatusCountRef], resolve: (report) => report.byStatus }),
  }),
});

builder.queryField('jobHealth', (t) =>
  t.field({
    type: JobHealthRef,
    args: {
      windowMinutes: t.arg.int({ defaultValue: 60 }),
      failureRateThreshold: t.arg.float({ defaultValue: 0.05 }),
    },
    resolve: (_root, args, ctx) => {
      const windowMinutes = args.windowMinutes ?? 60;
      const failureRateThreshold = args.failureRateThreshold ?? 0.05;
      if (windowMinutes <= 0) throw badUserInput('"windowMinutes" must be positive', 'windowMinutes');
      if (!Number.isFinite(failureRateThreshold)) {
        throw badUserInput('"failureRateThreshold" must be a finite number', 'failureRateThreshold');
      }
      return jobHealth(ctx.db, { windowMinutes, failureRateThreshold });
    },
  }),
);
