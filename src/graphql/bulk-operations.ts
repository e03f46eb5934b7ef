import type { BulkKind, BulkOperation, JobExecution } from '../db/schema.js';
import { BulkOperationNotFoundError } from '../jobs/errors.js';
import type { BulkAnswer, BulkRequest } from '../jobs/index.js';
import { BULK_SAMPLE_SIZE } from '../jobs/ops/bulk.js';
import { builder } from './builder.js';
import type { GraphQLContext } from './context.js';
import { JobExecutionRef } from './job-execution.js';
import { JobFilterInput, toFilter } from './job-filter.js';
import { forwardOnly, forwardPage } from './pages.js';
import { untilClosed } from './subscriptions.js';

/**
 * A bulk operation as GraphQL shows it: a stored one as it is, or a dry run as an operation that
 * was never stored (no id, status `dry-run`, nothing processed) carrying the sample it counted.
 */
type BulkView = Omit<BulkOperation, 'id' | 'status' | 'actor' | 'ratePerSecond' | 'createdAt' | 'leaseOwner' | 'leaseUntil'> & {
  id: string | null;
  status: BulkOperation['status'] | 'dry-run';
  actor: string | null;
  ratePerSecond: number | null;
  createdAt: Date | null;
  /** A dry run's sample; a stored operation's is read from its set when asked for. */
  sample?: JobExecution[];
};

function dryRunView(answer: Extract<BulkAnswer, { dryRun: true }>, filter: Record<string, unknown>): BulkView {
  return {
    id: null,
    kind: answer.kind,
    filter,
    status: 'dry-run',
    matched: answer.matched,
    processed: 0,
    succeeded: 0,
    failed: 0,
    errors: [],
    actor: null,
    idempotencyKey: null,
    ratePerSecond: null,
    createdAt: null,
    finishedAt: null,
    sample: answer.sample,
  };
}

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

const BulkOperationRef = builder.objectRef<BulkView>('BulkOperation').implement({
  description:
    'A bulk retry or cancel. Its set of jobs is fixed when it starts (jobs that match later are not swept in); one ' +
    'instance at a time works through it at JOBSCOPE_BULK_RATE_PER_SECOND, and a restart or another instance resumes it.',
  fields: (t) => ({
    id: t.exposeID('id', { nullable: true, description: 'Null for a dry run.' }),
    kind: t.expose('kind', { type: BulkKindEnum }),
    dryRun: t.boolean({ resolve: (v) => v.status === 'dry-run' }),
    filter: t.expose('filter', { type: 'JSON', description: 'The filter as given.' }),
    status: t.expose('status', { type: BulkStatusEnum }),
    matched: t.exposeInt('matched', {
      description: 'Jobs in its set: those the filter named that the verb may act on (a retry: failed, cancelled or stuck; a cancel: pending or retrying).',
    }),
    processed: t.exposeInt('processed', { description: 'Jobs acted on so far: succeeded + failed.' }),
    succeeded: t.exposeInt('succeeded'),
    failed: t.exposeInt('failed'),
    errors: t.expose('errors', { type: [BulkErrorRef], description: 'The first 20 failures.' }),
    sample: t.field({
      type: [JobExecutionRef],
      description: `The first ${BULK_SAMPLE_SIZE} jobs of the set (newest first), for a dry run what a real run would act on now.`,
      resolve: (v, _args, ctx) => v.sample ?? (v.id ? ctx.jobs.read.bulkSample(v.id) : []),
    }),
    actor: t.exposeString('actor', { nullable: true, description: 'Who started it.' }),
    ratePerSecond: t.exposeFloat('ratePerSecond', { nullable: true, description: 'Jobs per second it is paced at.' }),
    idempotencyKey: t.exposeString('idempotencyKey', { nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
  }),
});

const view = (answer: BulkAnswer, request: BulkRequest): BulkView =>
  answer.dryRun ? dryRunView(answer, request.filterAsGiven) : answer.operation;

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
        filter: t.arg({ type: JobFilterInput, required: true }),
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
    resolve: async (_root, args, ctx) => ctx.jobs.cancelBulk(String(args.id), { actor: ctx.actor }),
  }),
);

builder.queryField('bulkOperation', (t) =>
  t.field({
    type: BulkOperationRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.jobs.read.bulkOperation(String(args.id))) ?? null,
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
        return forwardPage(page.operations, (operation) => operation.id, page.hasNextPage, args);
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
    resolve: (operation: BulkOperation): BulkView => operation,
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
