import type { BulkKind, BulkOperation } from '../db/schema.js';
import { BulkOperationNotFoundError } from '../jobs/errors.js';
import type { BulkAnswer, BulkRequest } from '../jobs/index.js';
import { BULK_SAMPLE_SIZE } from '../jobs/ops/bulk.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { JobExecutionRef } from './job-execution.js';
import { JobExecutionFilterInput, toFilter } from './job-executions.js';
import { forwardOnly, forwardPage } from './pages.js';
import { untilClosed } from './subscriptions.js';

/** A bulk operation as GraphQL shows it: a stored one, or a dry run (no id, nothing stored). */
type BulkView =
  | { dryRun: false; operation: BulkOperation }
  | { dryRun: true; kind: BulkKind; filter: Record<string, unknown>; matched: number; sample: Extract<BulkAnswer, { dryRun: true }>['sample'] };

const storedView = (operation: BulkOperation): BulkView => ({ dryRun: false, operation });

const BulkKindEnum = builder.enumType('BulkOperationKind', {
  values: { RETRY: { value: 'retry' }, CANCEL: { value: 'cancel' } } as const,
});

const BulkStatusEnum = builder.enumType('BulkOperationStatus', {
  values: {
    DRY_RUN: { value: 'dry-run', description: 'Counted and sampled; nothing was changed or started.' },
    RUNNING: { value: 'running', description: 'Working through its set at its pace.' },
    COMPLETED: { value: 'completed', description: 'Every job of its set was acted on (see succeeded / failed).' },
    FAILED: { value: 'failed', description: 'It could not go on.' },
    CANCELLED: { value: 'cancelled', description: 'Stopped by cancelBulkOperation; jobs it had reached stay acted on.' },
  } as const,
});

const BulkErrorRef = builder.objectRef<{ jobId: string; code: string; message: string }>('BulkOperationError').implement({
  description: 'A job of the set the operation could not act on.',
  fields: (t) => ({
    jobId: t.exposeID('jobId'),
    code: t.exposeString('code', { description: 'Why: e.g. JOB_NOT_RETRYABLE when it was retried by hand meanwhile.' }),
    message: t.exposeString('message'),
  }),
});

const stored = <T>(view: BulkView, read: (operation: BulkOperation) => T, dryRun: T): T => (view.dryRun ? dryRun : read(view.operation));

const BulkOperationRef = builder.objectRef<BulkView>('BulkOperation').implement({
  description:
    'A bulk retry or cancel. Its set of jobs is fixed when it starts (jobs that match later are not swept in); one ' +
    'instance at a time works through it at JOBSCOPE_BULK_RATE_PER_SECOND, and a restart or another instance resumes it.',
  fields: (t) => ({
    id: t.id({ nullable: true, description: 'Null for a dry run.', resolve: (v) => stored(v, (o) => o.id, null) }),
    kind: t.field({ type: BulkKindEnum, resolve: (v) => stored(v, (o) => o.kind, v.dryRun ? v.kind : 'retry') }),
    dryRun: t.boolean({ resolve: (v) => v.dryRun }),
    filter: t.field({ type: 'JSON', description: 'The filter as given.', resolve: (v) => stored(v, (o) => o.filter, v.dryRun ? v.filter : {}) }),
    status: t.field({ type: BulkStatusEnum, resolve: (v) => stored(v, (o) => o.status, 'dry-run' as const) }),
    matched: t.int({
      description: 'Jobs in its set: those the filter named that the verb may act on (a retry: failed, cancelled or stuck; a cancel: pending or retrying).',
      resolve: (v) => stored(v, (o) => o.matched, v.dryRun ? v.matched : 0),
    }),
    processed: t.int({ description: 'Jobs acted on so far: succeeded + failed.', resolve: (v) => stored(v, (o) => o.processed, 0) }),
    succeeded: t.int({ resolve: (v) => stored(v, (o) => o.succeeded, 0) }),
    failed: t.int({ resolve: (v) => stored(v, (o) => o.failed, 0) }),
    errors: t.field({ type: [BulkErrorRef], description: 'The first 20 failures.', resolve: (v) => stored(v, (o) => o.errors, []) }),
    sample: t.field({
      type: [JobExecutionRef],
      description: `The first ${BULK_SAMPLE_SIZE} jobs of the set (newest first), for a dry run what a real run would act on now.`,
      resolve: (v, _args, ctx) => (v.dryRun ? v.sample : ctx.jobs.read.bulkSample(v.operation.id)),
    }),
    actor: t.string({ nullable: true, description: 'Who started it.', resolve: (v) => stored(v, (o) => o.actor, null) }),
    ratePerSecond: t.float({ nullable: true, description: 'Jobs per second it is paced at.', resolve: (v) => stored(v, (o) => o.ratePerSecond, null) }),
    idempotencyKey: t.string({ nullable: true, resolve: (v) => stored(v, (o) => o.idempotencyKey, null) }),
    createdAt: t.field({ type: 'DateTime', nullable: true, resolve: (v) => stored(v, (o) => o.createdAt, null) }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (v) => stored(v, (o) => o.finishedAt, null) }),
  }),
});

const view = (answer: BulkAnswer, request: BulkRequest): BulkView =>
  answer.dryRun ? { dryRun: true, kind: answer.kind, filter: request.filterAsGiven, matched: answer.matched, sample: answer.sample } : answer;

function bulkVerb(name: 'retryJobs' | 'cancelJobs', kind: BulkKind, description: string) {
  builder.mutationField(name, (t) =>
    t.field({
      type: BulkOperationRef,
      description:
        `${description} \`dryRun\` defaults to true: it answers \`matched\` and a \`sample\` and changes nothing. A real run ` +
        'starts a BulkOperation (watch it with `bulkOperation(id)` or the `bulkOperationProgress` subscription; stop it with ' +
        '`cancelBulkOperation`). The same `idempotencyKey` returns the operation it started instead of starting another. ' +
        'Errors: BULK_TOO_LARGE past JOBSCOPE_BULK_MAX_JOBS.',
      args: {
        filter: t.arg({ type: JobExecutionFilterInput, required: true }),
        dryRun: t.arg.boolean({ defaultValue: true }),
        idempotencyKey: t.arg.string(),
      },
      resolve: async (_root, args, ctx) => {
        const request: BulkRequest = {
          filter: toFilter(args.filter),
          filterAsGiven: JSON.parse(JSON.stringify(args.filter)) as Record<string, unknown>,
          dryRun: args.dryRun ?? true,
          idempotencyKey: args.idempotencyKey ?? undefined,
        };
        return view(await ctx.jobs.bulk(kind, request, { actor: ctx.actor }), request);
      },
    }),
  );
}

bulkVerb('retryJobs', 'retry', 'Retries every FAILED, CANCELLED or stuck job the filter names, each through the real pipeline like `retryJob`.');
bulkVerb('cancelJobs', 'cancel', 'Cancels every PENDING or RETRYING job the filter names, like `cancelJob`.');

builder.mutationField('cancelBulkOperation', (t) =>
  t.field({
    type: BulkOperationRef,
    description: 'Stops a running bulk operation; jobs it has acted on stay acted on. A finished one is returned as it is. Errors: BULK_OPERATION_NOT_FOUND.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => storedView(await ctx.jobs.cancelBulk(String(args.id), { actor: ctx.actor })),
  }),
);

builder.queryField('bulkOperation', (t) =>
  t.field({
    type: BulkOperationRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const operation = await ctx.jobs.read.bulkOperation(String(args.id));
      return operation ? storedView(operation) : null;
    },
  }),
);

builder.queryField('bulkOperations', (t) =>
  t.connection(
    {
      type: BulkOperationRef,
      description: 'Bulk operations, newest first (pages of 20 unless `first` says otherwise, at most 100).',
      edgesNullable: { list: false, items: false },
      nodeNullable: false,
      resolve: async (_root, args, ctx) => {
        forwardOnly('bulkOperations', args);
        const page = await ctx.jobs.read.bulkOperations({ first: args.first ?? undefined, after: args.after ?? undefined });
        return forwardPage(page.operations.map(storedView), (view) => (view.dryRun ? '' : view.operation.id), page.hasNextPage, args);
      },
    },
    {
      name: 'BulkOperationConnection',
      fields: (tc) => ({
        nodes: tc.field({ type: [BulkOperationRef], resolve: (connection) => connection.edges.map((edge) => edge!.node) }),
      }),
    },
    { name: 'BulkOperationEdge' },
  ),
);

/** How often progress is read for a subscriber: the operation's row is the truth, whichever instance runs it. */
const PROGRESS_POLL_MS = 250;

builder.subscriptionField('bulkOperationProgress', (t) =>
  t.field({
    type: BulkOperationRef,
    description:
      'The operation now, then again each time its progress or status changes, until it has finished (the last event ' +
      'is its final state). Errors: BULK_OPERATION_NOT_FOUND.',
    args: { id: t.arg.id({ required: true }) },
    subscribe: (_root, args, ctx) => untilClosed(ctx as { request?: Request }, (signal) => progress(ctx, String(args.id), signal)),
    resolve: (operation: BulkOperation) => storedView(operation),
  }),
);

async function* progress(ctx: GraphQLContext, id: string, signal: AbortSignal): AsyncGenerator<BulkOperation> {
  let last = '';
  while (!signal.aborted) {
    const operation = await ctx.jobs.read.bulkOperation(id);
    if (!operation) throw new BulkOperationNotFoundError(id);
    const seen = `${operation.status}:${operation.processed}`;
    if (seen !== last) {
      last = seen;
      yield operation;
    }
    if (operation.status !== 'running') return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, PROGRESS_POLL_MS);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
