import { badUserInput } from './errors.js';

/** Connection arguments as the relay plugin passes them. */
interface PageArgs {
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}

/**
 * For connections that page forward only (newest first: the audit log, bulk operations): refuses
 * `last` / `before` with a coded error naming the field.
 */
export function forwardOnly(field: string, args: PageArgs): void {
  if (args.last != null || args.before != null) throw badUserInput(`${field} pages forward only: use "first" and "after"`, 'last');
}

/** A forward page as the relay plugin's connection takes it: edges with their cursors and the page info. */
export function forwardPage<T>(nodes: readonly T[], cursorOf: (node: T) => string, hasNextPage: boolean, args: PageArgs) {
  const edges = nodes.map((node) => ({ node, cursor: cursorOf(node) }));
  return {
    edges,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: args.after != null,
      startCursor: edges[0]?.cursor ?? null,
      endCursor: edges.at(-1)?.cursor ?? null,
    },
  };
}

/**
 * The cursor of a forward connection keyed by a row's numeric id (`<Type>:<id>`, base64url), and
 * its reading: BAD_USER_INPUT naming `after` for anything else.
 */
export function idCursor(type: string, field: string): { encode(id: number): string; decode(cursor: string): number } {
  const prefix = `${type}:`;
  return {
    encode: (id) => Buffer.from(`${prefix}${id}`).toString('base64url'),
    decode(cursor) {
      const text = Buffer.from(cursor, 'base64url').toString('utf8');
      const id = Number(text.slice(prefix.length));
      if (!text.startsWith(prefix) || !Number.isSafeInteger(id)) throw badUserInput(`"after" is not a cursor of ${field}`, 'after');
      return id;
    },
  };
}
