import type { JobLog } from '../db/schema.js';
import { builder } from './builder.js';
import { JobExecutionRef } from './job-execution.js';

const JobLogRef = builder.objectRef<JobLog>('JobLog').implement({
  description: "A log line that named the job: jobscope's `[jobs]` lines and what its handler logged, scrubbed of secrets as in the log files.",
  fields: (t) => ({
    at: t.expose('at', { type: 'DateTime' }),
    level: t.exposeString('level'),
    message: t.exposeString('message'),
    fields: t.field({ type: 'JSON', resolve: (line) => line.fields, description: 'Its other fields.' }),
    attempt: t.exposeInt('attempt', { nullable: true, description: 'The delivery attempt (`Upstash-Retried`) it was written in; null outside one (enqueue, publish).' }),
  }),
});

builder.objectField(JobExecutionRef, 'logs', (t) =>
  t.field({
    type: [JobLogRef],
    description: 'The log lines that named this job, oldest first (at most 200 kept per job, for 7 days). The guide\'s "review application logs", without grep.',
    args: { first: t.arg.int({ defaultValue: 100, description: '1–200.' }) },
    resolve: (job, args, ctx) => ctx.jobs.read.logsOf(job.jobId, args.first ?? 100),
  }),
);
