import { getSchemaConfig, queryFromInfo } from '@pothos/plugin-drizzle';
import { Kind, type GraphQLResolveInfo } from 'graphql';
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type JobExecutionFilter,
  type JobExecutionOrder,
  type JobExecutionShape,
} from '../jobs/read/index.js';
import { builder } from './builder.js';
import { JobExecutionRef, narrowToFields, plainShape, type SelectedFields } from './job-execution.js';
import { selectedFields } from './selection.js';
import { JobExecutionFilterInput, toFilter } from './job-filter.js';

export const OrderDirectionEnum = builder.enumType('OrderDirection', {
  values: { ASC: { value: 'asc' }, DESC: { value: 'desc' } } as const,
});

const JobExecutionOrderFieldEnum = builder.enumType('JobExecutionOrderField', {
  description: 'Orderings of jobExecutions. Rows without a value (e.g. not started yet) come last in either direction.',
  values: {
    CREATED_AT: { value: 'createdAt' },
    STARTED_AT: { value: 'startedAt' },
    COMPLETED_AT: { value: 'completedAt' },
    DURATION: { value: 'duration', description: 'completedAt − startedAt.' },
  } as const,
});

const JobExecutionOrderInput = builder.inputType('JobExecutionOrder', {
  description: 'Ties are broken by jobId in the same direction.',
  fields: (t) => ({
    field: t.field({ type: JobExecutionOrderFieldEnum, required: true }),
    direction: t.field({ type: OrderDirectionEnum, required: true }),
  }),
});

const EMPTY_PAGE_INFO = { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null };

/** Only `totalCount` (or `__typename`) is selected: the page itself need not be read. */
function onlyCounts(info: GraphQLResolveInfo): boolean {
  return info.fieldNodes.every((node) =>
    node.selectionSet?.selections.every((s) => s.kind === Kind.FIELD && (s.name.value === 'totalCount' || s.name.value === '__typename')),
  );
}

const NODE_PATHS = [['nodes'], ['edges', 'node']] as const;

/** What a `jobExecutions` field selects: decided by its field nodes alone (see {@link selectionOf}). */
interface ListSelection {
  onlyCounts: boolean;
  /** Whether any cursor is selected (`edges.cursor`, `pageInfo.startCursor` / `endCursor`). */
  cursors: boolean;
  fields: SelectedFields;
  /** The shape when only plain columns are selected: no plan needed. */
  plain: JobExecutionShape | undefined;
}

/**
 * Per field-node list: graphql-jit hands every execution of a compiled document the same one, so
 * the selection is read once per document rather than per request.
 */
const selections = new WeakMap<GraphQLResolveInfo['fieldNodes'], ListSelection>();

function selectionOf(info: GraphQLResolveInfo): ListSelection {
  let selection = selections.get(info.fieldNodes);
  if (!selection) {
    const pageInfo = selectedFields(info, [['pageInfo']]);
    const fields = {
      job: selectedFields(info, NODE_PATHS),
      attempt: selectedFields(info, NODE_PATHS.map((path) => [...path, 'attempts'])),
    };
    selection = {
      onlyCounts: onlyCounts(info),
      cursors: selectedFields(info, [['edges']]).has('cursor') || pageInfo.has('startCursor') || pageInfo.has('endCursor'),
      fields,
      plain: plainShape(fields.job),
    };
    selections.set(info.fieldNodes, selection);
  }
  return selection;
}

/**
 * What the operation selects under `nodes` and `edges.node`, planned by the drizzle plugin: the
 * page is read in one statement with exactly those columns and relations (attempts included), and
 * the plugin resolves the fields from those rows instead of loading them a second time. Plain
 * columns alone need no plan (a fresh copy of the shape: the list adds to it).
 */
async function nodeShape(ctx: object, info: GraphQLResolveInfo, selection: ListSelection): Promise<JobExecutionShape> {
  if (selection.plain) return { ...selection.plain, columns: { ...selection.plain.columns } };
  const planned = (await queryFromInfo({
    config: getSchemaConfig(builder),
    context: ctx,
    info,
    typeName: 'JobExecution',
    paths: NODE_PATHS.map((path) => [...path]),
  })) as JobExecutionShape;
  return narrowToFields(planned, selection.fields);
}

builder.queryField('jobExecutions', (t) =>
  t.connection(
    {
      type: JobExecutionRef,
      description:
        `Jobs, newest first by default, with keyset cursors that stay valid while new jobs arrive. ` +
        `Pages hold ${DEFAULT_PAGE_SIZE} rows unless \`first\` or \`last\` says otherwise (at most ${MAX_PAGE_SIZE}).`,
      edgesNullable: { list: false, items: false },
      nodeNullable: false,
      args: {
        filter: t.arg({ type: JobExecutionFilterInput }),
        orderBy: t.arg({ type: JobExecutionOrderInput }),
      },
      resolve: async (_root, args, ctx, info) => {
        const filter = toFilter(args.filter);
        const selection = selectionOf(info);
        if (selection.onlyCounts) return { edges: [], pageInfo: EMPTY_PAGE_INFO, filter };
        const page = await ctx.jobs.read.list(
          {
            filter,
            orderBy: (args.orderBy ?? undefined) as JobExecutionOrder | undefined,
            first: args.first,
            last: args.last,
            after: args.after,
            before: args.before,
            cursors: selection.cursors,
          },
          await nodeShape(ctx, info, selection),
        );
        const { edges } = page;
        return {
          edges,
          // Cursors are encoded when read: a client selecting only `nodes` pays for none.
          pageInfo: {
            hasNextPage: page.hasNextPage,
            hasPreviousPage: page.hasPreviousPage,
            get startCursor() {
              return edges[0]?.cursor ?? null;
            },
            get endCursor() {
              return edges.at(-1)?.cursor ?? null;
            },
          },
          filter,
        };
      },
    },
    {
      name: 'JobExecutionConnection',
      fields: (tc) => ({
        totalCount: tc.int({
          description: 'Jobs matching the filter across all pages (counted only when asked for).',
          resolve: (connection, _args, ctx) => ctx.jobs.read.count((connection as { filter?: JobExecutionFilter }).filter),
        }),
        nodes: tc.field({
          type: [JobExecutionRef],
          description: 'The nodes of `edges`, for clients that do not need cursors per row.',
          resolve: (connection) => connection.edges.map((edge) => edge!.node),
        }),
      }),
    },
    { name: 'JobExecutionEdge' },
  ),
);
