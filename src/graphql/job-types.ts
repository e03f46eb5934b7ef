import { z } from 'zod';
import type { JobQueueState } from '../jobs/index.js';
import type { JobDefinition } from '../jobs/registry.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { perRequest } from './per-request.js';

const jsonSchemas = new WeakMap<JobDefinition, unknown>();

/** The payload's zod schema as JSON Schema (what `enqueueJob` accepts), computed once per type. */
function payloadJsonSchema(definition: JobDefinition): unknown {
  if (!jsonSchemas.has(definition)) {
    // `input`: what a caller sends; constructs JSON Schema cannot express become `{}` rather than failing.
    jsonSchemas.set(definition, z.toJSONSchema(definition.schema, { io: 'input', unrepresentable: 'any' }));
  }
  return jsonSchemas.get(definition);
}

const queueStates = perRequest((ctx) => ctx.jobs.qstash.queues());

/**
 * The job types' QStash queues, asked once per request however many fields read them. Undefined
 * for a type when queues are off; a QStash failure fails the fields that read it (QSTASH_ERROR),
 * not the rest of the answer.
 */
export async function queueStateOf(ctx: GraphQLContext, jobType: string): Promise<JobQueueState | undefined> {
  return (await queueStates(ctx)).get(jobType);
}

const QUEUE_FIELDS_NOTE = "From the type's QStash queue; null when queues are off (`queues.enabled: false`).";

const JobTypeRef = builder.objectRef<JobDefinition>('JobType').implement({
  description: 'A registered job type.',
  fields: (t) => ({
    name: t.exposeString('type', { description: 'What `enqueueJob(input: { jobType })` takes, e.g. `send-email`.' }),
    description: t.exposeString('description', { nullable: true }),
    endpoint: t.exposeString('endpoint', { description: 'Worker path QStash delivers to, e.g. `/api/jobs/email`.' }),
    timeoutSeconds: t.exposeFloat('timeoutSeconds', { description: 'Longest a single attempt may run.' }),
    retries: t.exposeInt('retries', { description: 'Retries QStash makes after a failed first attempt.' }),
    queueName: t.string({
      nullable: true,
      description: 'The QStash queue the type publishes through, e.g. `jobscope-send-email`; null when queues are off.',
      resolve: (definition, _args, ctx) => ctx.jobs.qstash.queueNameOf(definition.type) ?? null,
    }),
    paused: t.boolean({
      nullable: true,
      description: `Whether the type is paused (pauseJobType): QStash starts none of its waiting deliveries. ${QUEUE_FIELDS_NOTE}`,
      resolve: async (definition, _args, ctx) => (await queueStateOf(ctx, definition.type))?.paused ?? null,
    }),
    parallelism: t.int({
      nullable: true,
      description: `Runs of this type QStash delivers at once; a failing run holds its turn through its retries. ${QUEUE_FIELDS_NOTE}`,
      resolve: async (definition, _args, ctx) => (await queueStateOf(ctx, definition.type))?.parallelism ?? null,
    }),
    lag: t.int({
      nullable: true,
      description: `Messages waiting in the queue, not yet being delivered (QStash's lag). ${QUEUE_FIELDS_NOTE}`,
      resolve: async (definition, _args, ctx) => (await queueStateOf(ctx, definition.type))?.lag ?? null,
    }),
    payloadSchema: t.field({
      type: 'JSON',
      nullable: true,
      description:
        'JSON Schema (draft 2020-12) of the payload, generated from the zod schema `enqueueJob` validates with. ' +
        'Checks JSON Schema cannot express (a zod `.refine`, one field before another) are not in it; the ' +
        "shipped job types state theirs in the schema's `description`.",
      resolve: (definition) => payloadJsonSchema(definition),
    }),
  }),
});

builder.queryField('jobTypes', (t) =>
  t.field({
    type: [JobTypeRef],
    description: 'The job types this instance runs.',
    resolve: (_root, _args, ctx) => ctx.jobs.registry.list(),
  }),
);

function pauseVerb(name: 'pauseJobType' | 'resumeJobType', paused: boolean, description: string) {
  builder.mutationField(name, (t) =>
    t.field({
      type: JobTypeRef,
      description: `${description} Errors: UNKNOWN_JOB_TYPE, QUEUES_DISABLED, QSTASH_ERROR.`,
      args: { jobType: t.arg.string({ required: true }) },
      resolve: async (_root, args, ctx) => {
        await ctx.jobs.setJobTypePaused(args.jobType, paused, { actor: ctx.actor });
        // The answer's queue fields read QStash after the change.
        queueStates.forget(ctx);
        return ctx.jobs.registry.get(args.jobType);
      },
    }),
  );
}

pauseVerb(
  'pauseJobType',
  true,
  "Pauses a job type's QStash queue: enqueues are still accepted and published, but QStash starts none of the type's deliveries until it is resumed; runs under way finish.",
);
pauseVerb('resumeJobType', false, "Resumes a paused job type: QStash delivers what waited, oldest first, `parallelism` at a time.");
