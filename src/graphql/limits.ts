import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createGraphQLError, type Plugin } from 'graphql-yoga';
import type { Config } from '../config/index.js';

type ArmorConfig = NonNullable<Parameters<typeof EnvelopArmorPlugin>[0]>;
type RejectCallbacks = Pick<NonNullable<ArmorConfig['maxDepth']>, 'onReject'>;

/** Which limit rejected an operation; sent as `extensions.limit`. */
export type LimitName = 'maxDepth' | 'maxAliases' | 'maxTokens' | 'costLimit' | 'maxDirectives';

/**
 * graphql-armor throws its rejections as "Syntax Error: …" without a code. We throw instead a
 * GraphQLError with the armor's message, `extensions.code: GRAPHQL_VALIDATION_FAILED` (the code
 * Yoga gives every invalid document), `extensions.limit` and HTTP 400, so clients can tell a
 * rejected operation from a failed one. Rejection happens in parse (tokens) or validate (the
 * rest), before any resolver runs.
 */
function rejectWith(limit: LimitName): RejectCallbacks {
  return {
    onReject: [
      (_context, error) => {
        throw createGraphQLError(error.message.replace(/^Syntax Error: /, ''), {
          extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit, http: { status: 400 } },
        });
      },
    ],
  };
}

/** Depth, alias, token and cost limits (and, in production, no "Did you mean …?" hints). */
export function useOperationLimits(limits: Config['graphqlLimits'], options: { production: boolean }): Plugin {
  return EnvelopArmorPlugin({
    maxDepth: { n: limits.maxDepth, ...rejectWith('maxDepth') },
    maxAliases: { n: limits.maxAliases, ...rejectWith('maxAliases') },
    maxTokens: { n: limits.maxTokens, ...rejectWith('maxTokens') },
    costLimit: { maxCost: limits.maxCost, ...rejectWith('costLimit') },
    maxDirectives: { ...rejectWith('maxDirectives') },
    // Field suggestions help people in GraphiQL; in production they map the schema for strangers.
    blockFieldSuggestion: { enabled: options.production },
  }) as Plugin;
}
