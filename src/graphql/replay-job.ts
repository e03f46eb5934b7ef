import type { JobMetadata } from '../db/schema.js';
import { builder } from './builder.js';
import { badUserInput } from './errors.js';
import { JobExecutionRef, reread } from './job-execution.js';

builder.mutationField('replayJob', (t) =>
  t.drizzleField({
    type: JobExecutionRef,
    description:
      '"The payload was wrong: fix it and run it again." Enqueues a NEW job of the same type with `payload` and ' +
      "`metadata` (each left out: the original's), validated like `enqueueJob`, and returns it PENDING with `replayOf` " +
      'pointing back (the original lists it under `replays`). The original stays as it was. Errors: JOB_NOT_FOUND, ' +
      'UNKNOWN_JOB_TYPE (the type is no longer registered), INVALID_PAYLOAD; nothing is written on any of them.',
    args: {
      jobId: t.arg.id({ required: true }),
      payload: t.arg({ type: 'JSON', description: "The new job's payload; the original's when left out." }),
      metadata: t.arg({ type: 'JSON', description: "The new job's metadata (an object); the original's when left out." }),
    },
    resolve: async (query, _root, args, ctx) => {
      const metadata = args.metadata ?? undefined;
      if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
        throw badUserInput('"metadata" must be a JSON object', 'metadata');
      }
      const replay = await ctx.jobs.replay(
        String(args.jobId),
        { payload: args.payload ?? undefined, metadata: metadata as JobMetadata | undefined },
        { actor: ctx.actor },
      );
      return reread(ctx, replay, query({}));
    },
  }),
);
