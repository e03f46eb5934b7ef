import { Kind, type DefinitionNode, type OperationDefinitionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** How many documents are remembered (Yoga's parser cache holds as many). */
const MAX_KNOWN = 1_000;

/**
 * The query documents Yoga has executed over HTTP, by their text: each parsed and validated (with
 * graphql-armor's limits) without errors, and was a query. Parsing and validating depend on the
 * text alone, so the same text passes again; the HTTP fast path (src/http/graphql-fast-path.ts)
 * takes only these, so that a document it would have to reject (and whose rejection the metrics
 * count) always goes through Yoga, once.
 */
export class KnownQueries {
  private readonly known = new Set<string>();

  has(query: string): boolean {
    return this.known.has(query);
  }

  /** Records, at the start of each execution over HTTP, a query's document text. */
  plugin(): Plugin {
    return {
      onExecute: ({ args }) => {
        const context = args.contextValue as { request?: unknown; params?: { query?: unknown; operationName?: unknown } };
        const query = context.params?.query;
        if (context.request === undefined || typeof query !== 'string' || this.known.has(query)) return;
        const operation = (args.document.definitions as readonly DefinitionNode[]).filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
        if (operation.length !== 1 || operation[0]!.operation !== 'query') return;
        if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.values().next().value!);
        this.known.add(query);
      },
    };
  }
}
