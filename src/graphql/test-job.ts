import type { JobMetadata } from '../db/schema.js';
import type { TestRun } from '../jobs/index.js';
import { builder } from './builder.js';
import { badUserInput } from './errors.js';

const TestRunLogRef = builder.objectRef<TestRun['logs'][number]>('TestRunLog').implement({
  description: 'A line the handler (or jobscope) logged during a test run, scrubbed of secrets like the log files.',
  fields: (t) => ({
    level: t.exposeString('level'),
    message: t.exposeString('message'),
    fields: t.field({ type: 'JSON', resolve: (line) => line.fields }),
    at: t.expose('at', { type: 'DateTime' }),
  }),
});

const TestRunRef = builder.objectRef<TestRun>('TestRun').implement({
  description: "A handler run in jobscope's own process by testJob: no QStash, no job row.",
  fields: (t) => ({
    jobType: t.exposeString('jobType'),
    jobId: t.exposeID('jobId', { description: 'The id the handler saw (`test-run-…`); no job of that id exists.' }),
    ok: t.exposeBoolean('ok', { description: 'The handler returned within its timeout.' }),
    result: t.field({ type: 'JSON', nullable: true, resolve: (run) => run.result as never, description: 'What it returned.' }),
    error: t.exposeString('error', { nullable: true, description: 'What it threw, or the timeout.' }),
    timedOut: t.exposeBoolean('timedOut'),
    durationSeconds: t.exposeFloat('durationSeconds'),
    logs: t.field({ type: [TestRunLogRef], resolve: (run) => run.logs, description: 'Every line logged during the run, in order.' }),
  }),
});

builder.mutationField('testJob', (t) =>
  t.field({
    type: TestRunRef,
    description:
      'The guide\'s "test the job handler directly, bypass QStash": validates `payload` like enqueueJob and runs the type\'s handler once in ' +
      "this process under the type's timeout. Nothing is published and no job or statistic is recorded (the handler's own writes are its own). " +
      'A throw or a timeout is an answer (ok: false). Errors: UNKNOWN_JOB_TYPE, INVALID_PAYLOAD. Operate key; audited.',
    args: {
      jobType: t.arg.string({ required: true }),
      payload: t.arg({ type: 'JSON', required: true }),
      metadata: t.arg({ type: 'JSON', description: 'What the handler sees as the job metadata (an object).' }),
    },
    resolve: (_root, args, ctx) => {
      const metadata = args.metadata ?? undefined;
      if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
        throw badUserInput('"metadata" must be a JSON object', 'metadata');
      }
      return ctx.jobs.testJob({ jobType: args.jobType, payload: args.payload, metadata: metadata as JobMetadata | undefined }, { actor: ctx.actor });
    },
  }),
);
