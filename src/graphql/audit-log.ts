import type { AuditEntry } from '../jobs/index.js';
import { AUDIT_PAGE_MAX } from '../jobs/ops/audit.js';
import { builder } from './builder.js';
import { JobExecutionRef } from './job-execution.js';
import { forwardOnly, forwardPage, idCursor } from './pages.js';

/** One audited action. */
export const AuditEntryRef = builder.objectRef<AuditEntry>('AuditEntry').implement({
  description:
    'One operator action (a mutation, a CLI command), whatever its outcome: who did what, with which arguments, ' +
    'to which jobs. The log is append-only: nothing edits or deletes an entry.',
  fields: (t) => ({
    id: t.id({ resolve: (entry) => String(entry.id) }),
    at: t.field({ type: 'DateTime', resolve: (entry) => entry.at, description: 'When it was recorded.' }),
    actor: t.exposeString('actor', {
      description: 'Who acted, as the `[jobs]` log lines name them: `api-key:ops-bot`, `api-key:key#3f9a` (an unnamed key), `anonymous`, `cli`.',
    }),
    action: t.exposeString('action', { description: 'The mutation: `retryJob`, `cancelJob`, `enqueueJob`, `replayJob`, `purgeJobExecutions`.' }),
    args: t.field({ type: 'JSON', resolve: (entry) => entry.args, description: 'The arguments as given, payloads included.' }),
    jobIds: t.idList({ resolve: (entry) => entry.jobIds, description: 'The jobs it touched or created.' }),
    outcome: t.exposeString('outcome', { description: '`ok`, or the error code it failed with (`JOB_NOT_RETRYABLE`, …).' }),
    detail: t.field({
      type: 'JSON',
      nullable: true,
      resolve: (entry) => entry.detail,
      description: "The error's message when it failed; what it did when it did not (e.g. a purge's counts).",
    }),
  }),
});

const AuditLogFilterInput = builder.inputType('AuditLogFilter', {
  description: 'Every given condition must hold.',
  fields: (t) => ({
    actor: t.string({ required: false, description: '`api-key:ops-bot`, or a key\'s name alone (`ops-bot`), `cli`, `anonymous`.' }),
    action: t.string({ required: false, description: 'A mutation name, e.g. `retryJob`.' }),
    jobId: t.id({ required: false, description: 'Entries that touched this job.' }),
    since: t.field({ type: 'DateTime', required: false, description: 'Recorded at or after this instant.' }),
    until: t.field({ type: 'DateTime', required: false, description: 'Recorded at or before this instant.' }),
  }),
});

const cursor = idCursor('AuditEntry', 'auditLog');

builder.queryField('auditLog', (t) =>
  t.connection(
    {
      type: AuditEntryRef,
      description: `Every audited action, newest first (pages of 50 unless \`first\` says otherwise, at most ${AUDIT_PAGE_MAX}).`,
      edgesNullable: { list: false, items: false },
      nodeNullable: false,
      args: { filter: t.arg({ type: AuditLogFilterInput }) },
      resolve: async (_root, args, ctx) => {
        forwardOnly('auditLog', args);
        const filter = args.filter ?? {};
        const page = await ctx.jobs.read.auditLog({
          first: args.first ?? undefined,
          after: args.after != null ? cursor.decode(args.after) : undefined,
          filter: {
            actor: filter.actor ?? undefined,
            action: filter.action ?? undefined,
            jobId: filter.jobId != null ? String(filter.jobId) : undefined,
            since: filter.since ?? undefined,
            until: filter.until ?? undefined,
          },
        });
        return forwardPage(page.entries, (entry) => cursor.encode(entry.id), page.hasNextPage, args);
      },
    },
    {
      name: 'AuditLogConnection',
      fields: (tc) => ({
        nodes: tc.field({ type: [AuditEntryRef], resolve: (connection) => connection.edges.map((edge) => edge!.node) }),
      }),
    },
    { name: 'AuditLogEdge' },
  ),
);

builder.objectField(JobExecutionRef, 'auditLog', (t) =>
  t.field({
    type: [AuditEntryRef],
    description: 'The audited actions on this job (retries, cancels, replays, its enqueue through the API), newest first; at most 100.',
    resolve: (job, _args, ctx) => ctx.jobs.read.auditOfJob(job.jobId),
  }),
);
