import DataLoader from 'dataloader';
import { MAX_PAGE_SIZE } from '../jobs/read/list.js';
import type { JobExecution } from '../db/schema.js';
import type { GraphQLContext } from './context.js';

export interface PerRequest<T> {
  (ctx: GraphQLContext): T;
  /** Drops the request's value: a mutation that changed what it read, before answering. */
  forget(ctx: GraphQLContext): void;
}

/**
 * A value made at most once per GraphQL request, however many fields ask for it (a page of
 * events each naming its rule, every job type asking QStash for its queue): the first field
 * makes it (a promise, a loader), the others share it; the next request starts afresh.
 */
export function perRequest<T>(make: (ctx: GraphQLContext) => T): PerRequest<T> {
  const made = new WeakMap<GraphQLContext, T>();
  const get = (ctx: GraphQLContext) => {
    if (!made.has(ctx)) made.set(ctx, make(ctx));
    return made.get(ctx) as T;
  };
  return Object.assign(get, { forget: (ctx: GraphQLContext) => void made.delete(ctx) });
}

/**
 * Jobs by id, the ids every field of one request asks for gathered into one list read (a page of
 * alert events, each naming up to 20 jobs: one statement, not one per event or per job). A
 * purged job is undefined.
 */
export const jobsById = perRequest(
  (ctx) =>
    new DataLoader<string, JobExecution | undefined>(async (ids) => {
      const page = await ctx.jobs.read.list({ filter: { jobId: [...ids] }, first: ids.length, cursors: false });
      const byId = new Map(page.edges.map(({ node }) => [node.jobId, node]));
      return ids.map((id) => byId.get(id));
    }, { maxBatchSize: MAX_PAGE_SIZE }),
);
