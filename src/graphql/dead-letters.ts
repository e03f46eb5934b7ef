import type { DeadLetter } from '../jobs/index.js';
import { DEAD_LETTER_IDS_MAX, DEAD_LETTER_PAGE_MAX } from '../jobs/ops/dead-letters.js';
import { builder } from './builder.js';
import { jobById, JobExecutionRef } from './job-execution.js';

/** The job a dead letter belongs to, read with every column (a page holds at most 100). */

export const DeadLetterRef = builder.objectRef<DeadLetter>('DeadLetter').implement({
  description: "A message in QStash's dead-letter queue: its retries ran out. Shown with the last answer it got and the job it belongs to.",
  fields: (t) => ({
    dlqId: t.exposeID('dlqId', { description: 'What `retryDeadLetters` and `deleteDeadLetters` take.' }),
    messageId: t.exposeString('messageId', { description: 'The QStash message id.' }),
    url: t.exposeString('url', { description: 'Where QStash delivered it.' }),
    method: t.exposeString('method'),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: "The last failed attempt's HTTP status (null when no answer came)." }),
    responseBody: t.exposeString('responseBody', { nullable: true, description: "The last failed attempt's answer body (base64 when it was not UTF-8)." }),
    responseHeaders: t.field({ type: 'JSON', nullable: true, resolve: (letter) => letter.responseHeaders, description: 'Its answer headers, name → values.' }),
    body: t.exposeString('body', { nullable: true, description: 'The message body as published (a job envelope for jobscope’s jobs).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the message was published.' }),
    scheduleId: t.exposeString('scheduleId', { nullable: true, description: 'The schedule whose run it was, if any.' }),
    jobId: t.exposeID('jobId', { nullable: true }),
    job: t.field({
      type: JobExecutionRef,
      nullable: true,
      description: 'The job whose message this is (by message id); null for a message jobscope did not publish or a purged job.',
      resolve: (letter, _args, ctx) => jobById(ctx, letter.jobId),
    }),
  }),
});

const DeadLetterFilterInput = builder.inputType('DeadLetterFilter', {
  description: 'Every given condition must hold; QStash applies them.',
  fields: (t) => ({
    jobType: t.string({ required: false, description: "Messages to this job type's worker endpoint." }),
    responseStatus: t.int({ required: false }),
    messageId: t.string({ required: false }),
    scheduleId: t.string({ required: false }),
    since: t.field({ type: 'DateTime', required: false, description: 'Failed at or after this instant.' }),
    until: t.field({ type: 'DateTime', required: false, description: 'Failed at or before this instant.' }),
  }),
});

const DeadLetterPageRef = builder.objectRef<{ deadLetters: DeadLetter[]; cursor: string | undefined }>('DeadLetterConnection').implement({
  description: "A page of dead letters. QStash pages by its own cursor: pass `pageInfo.endCursor` as `after` for the next.",
  fields: (t) => ({
    nodes: t.field({ type: [DeadLetterRef], resolve: (page) => page.deadLetters }),
    pageInfo: t.field({
      type: builder.pageInfoRef(),
      resolve: (page) => ({ hasNextPage: page.cursor !== undefined, hasPreviousPage: false, startCursor: null, endCursor: page.cursor ?? null }),
    }),
  }),
});

builder.queryField('deadLetters', (t) =>
  t.field({
    type: DeadLetterPageRef,
    description: `QStash's dead-letter queue, newest first (pages of 20 unless \`first\` says otherwise, at most ${DEAD_LETTER_PAGE_MAX}).`,
    args: {
      first: t.arg.int(),
      after: t.arg.string({ description: "The previous page's `pageInfo.endCursor`." }),
      filter: t.arg({ type: DeadLetterFilterInput }),
    },
    resolve: (_root, args, ctx) => {
      const filter = args.filter ?? {};
      return ctx.jobs.qstash.deadLetters({
        first: args.first ?? undefined,
        after: args.after ?? undefined,
        filter: {
          jobType: filter.jobType ?? undefined,
          responseStatus: filter.responseStatus ?? undefined,
          messageId: filter.messageId ?? undefined,
          scheduleId: filter.scheduleId ?? undefined,
          since: filter.since ?? undefined,
          until: filter.until ?? undefined,
        },
      });
    },
  }),
);

builder.objectField(JobExecutionRef, 'deadLetter', (t) =>
  t.field({
    type: DeadLetterRef,
    nullable: true,
    description: "The job's latest message in QStash's dead-letter queue, if it is there (one QStash call per job: ask for it on one job, not a long list).",
    resolve: async (job, _args, ctx) => (job.messageId ? ((await ctx.jobs.qstash.deadLetterOfMessage(job.messageId)) ?? null) : null),
  }),
);

const RetriedDeadLetterRef = builder.objectRef<{ dlqId: string; messageId: string; jobId: string | null }>('RetriedDeadLetter').implement({
  description: 'A dead letter QStash now delivers again, as a new message.',
  fields: (t) => ({
    dlqId: t.exposeID('dlqId'),
    messageId: t.exposeString('messageId', { description: 'The new message.' }),
    job: t.field({ type: JobExecutionRef, nullable: true, resolve: (entry, _args, ctx) => jobById(ctx, entry.jobId) }),
  }),
});

builder.mutationField('retryDeadLetters', (t) =>
  t.field({
    type: [RetriedDeadLetterRef],
    description:
      `Retries dead letters as QStash does: each becomes a new message (same body, retried from 0) and leaves the DLQ; its job goes back ` +
      `to PENDING and runs through the real pipeline. At most ${DEAD_LETTER_IDS_MAX} ids. Errors: DEAD_LETTER_NOT_FOUND (then nothing is retried), BAD_USER_INPUT.`,
    args: { dlqIds: t.arg.idList({ required: true }) },
    resolve: (_root, args, ctx) => ctx.jobs.retryDeadLetters(args.dlqIds.map(String), { actor: ctx.actor }),
  }),
);

builder.mutationField('deleteDeadLetters', (t) =>
  t.field({
    type: [DeadLetterRef],
    description: `Deletes dead letters from QStash's DLQ and answers them as they were. At most ${DEAD_LETTER_IDS_MAX} ids. Errors: DEAD_LETTER_NOT_FOUND (then nothing is deleted), BAD_USER_INPUT.`,
    args: { dlqIds: t.arg.idList({ required: true }) },
    resolve: (_root, args, ctx) => ctx.jobs.deleteDeadLetters(args.dlqIds.map(String), { actor: ctx.actor }),
  }),
);
