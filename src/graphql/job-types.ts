import { z } from 'zod';
import type { JobDefinition } from '../jobs/registry.js';
import { builder } from './builder.js';

const jsonSchemas = new WeakMap<JobDefinition, unknown>();

/** The payload's zod schema as JSON Schema (what `enqueueJob` accepts), computed once per type. */
function payloadJsonSchema(definition: JobDefinition): unknown {
  if (!jsonSchemas.has(definition)) {
    // `input`: what a caller sends; constructs JSON Schema cannot express become `{}` rather than failing.
    jsonSchemas.set(definition, z.toJSONSchema(definition.schema, { io: 'input', unrepresentable: 'any' }));
  }
  return jsonSchemas.get(definition);
}

const JobTypeRef = builder.objectRef<JobDefinition>('JobType').implement({
  description: 'A registered job type.',
  fields: (t) => ({
    name: t.exposeString('type', { description: 'What `enqueueJob(input: { jobType })` takes, e.g. `send-email`.' }),
    description: t.exposeString('description', { nullable: true }),
    endpoint: t.exposeString('endpoint', { description: 'Worker path QStash delivers to, e.g. `/api/jobs/email`.' }),
    timeoutSeconds: t.exposeFloat('timeoutSeconds', { description: 'Longest a single attempt may run.' }),
    retries: t.exposeInt('retries', { description: 'Retries QStash makes after a failed first attempt.' }),
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
