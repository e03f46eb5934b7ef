import type { JobMetadata } from '../db/schema.js';
import { builder } from './builder.js';
import { badUserInput } from './errors.js';
import { JobExecutionRef, reread } from './job-execution.js';

const EnqueueJobInput = builder.inputType('EnqueueJobInput', {
  fields: (t) => ({
    jobType: t.string({ required: true, description: 'A name from `jobTypes`.' }),
    payload: t.field({ type: 'JSON', required: true, description: "Validated against the type's `payloadSchema`." }),
    metadata: t.field({
      type: 'JSON',
      required: false,
      description: 'An object stored with the job; `userId` and `organizationId` (strings) are indexed for filters.',
    }),
    delaySeconds: t.int({ required: false, description: 'Deliver no sooner than this many seconds from now.' }),
  }),
});

builder.mutationField('enqueueJob', (t) =>
  t.drizzleField({
    type: JobExecutionRef,
    description:
      'Validates and records a job with its publish request (one transaction) and returns it `PENDING`; the outbox ' +
      'relay publishes it to QStash, retrying transient failures (see `publishState`). Errors: UNKNOWN_JOB_TYPE, INVALID_PAYLOAD ' +
      '(with `extensions.issues`: [{ path, message }], `path` the keys and indexes into the payload as zod gives them, ' +
      'e.g. `["to", 1]`, `[]` for the payload as a whole); nothing is written on either.',
    args: { input: t.arg({ type: EnqueueJobInput, required: true }) },
    resolve: async (query, _root, { input }, ctx) => {
      const metadata = input.metadata ?? {};
      if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
        throw badUserInput('"metadata" must be a JSON object', 'input.metadata');
      }
      const delaySeconds = input.delaySeconds ?? undefined;
      if (delaySeconds !== undefined && delaySeconds < 0) throw badUserInput('"delaySeconds" must not be negative', 'input.delaySeconds');
      const job = await ctx.jobs.enqueue(input.jobType, input.payload, { metadata: metadata as JobMetadata, delaySeconds, actor: ctx.actor });
      return reread(ctx, job, query({}));
    },
  }),
);
