import type { GraphQLContext } from './context.js';

export interface PerRequest<T> {
  (ctx: GraphQLContext): Promise<T>;
  /** Drops the request's load: a mutation that changed what it read, before answering. */
  forget(ctx: GraphQLContext): void;
}

/**
 * A load done at most once per GraphQL request, however many fields ask for it (a page of
 * events each naming its rule, every job type asking QStash for its queue): the first field
 * starts it, the others await the same promise; the next request loads afresh.
 */
export function perRequest<T>(load: (ctx: GraphQLContext) => Promise<T>): PerRequest<T> {
  const loads = new WeakMap<GraphQLContext, Promise<T>>();
  const loaded = (ctx: GraphQLContext) => {
    let value = loads.get(ctx);
    if (!value) {
      value = load(ctx);
      loads.set(ctx, value);
    }
    return value;
  };
  return Object.assign(loaded, { forget: (ctx: GraphQLContext) => void loads.delete(ctx) });
}
