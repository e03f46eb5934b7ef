import type { JobHealthReport } from '../jobs/read/index.js';
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
    stuckAfterMinutes: t.exposeInt('stuckAfterMinutes', { description: 'The configured stuck threshold (ALERT_STUCK_MINUTES, policy.stuckAfterMinutes).' }),
    stuckJobs: t.exposeInt('stuckJobs', { description: 'How many jobs `stuckJobs` returns now (with the configured threshold).' }),
    byStatus: t.field({ type: [StatusCountRef], resolve: (report) => report.byStatus }),
  }),
});

builder.queryField('jobHealth', (t) =>
  t.field({
    type: JobHealthRef,
    args: {
      windowMinutes: t.arg.int({ description: 'Default: the configured health window (HEALTH_WINDOW_MINUTES, 60).' }),
      failureRateThreshold: t.arg.float({ description: 'Default: the configured threshold (ALERT_FAILURE_RATE, 0.05).' }),
    },
    resolve: (_root, args, ctx) => {
      const windowMinutes = args.windowMinutes ?? undefined;
      const failureRateThreshold = args.failureRateThreshold ?? undefined;
      if (windowMinutes !== undefined && windowMinutes <= 0) throw badUserInput('"windowMinutes" must be positive', 'windowMinutes');
      if (failureRateThreshold !== undefined && !Number.isFinite(failureRateThreshold)) {
        throw badUserInput('"failureRateThreshold" must be a finite number', 'failureRateThreshold');
      }
      return ctx.jobs.read.health({ windowMinutes, failureRateThreshold });
    },
  }),
);
