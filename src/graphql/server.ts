import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import { ApiKeys, bearerToken, useApiKeys, type ApiScope } from './auth.js';
import type { GraphQLContext, GraphQLDeps } from './context.js';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { graphiqlOptions } from './graphiql.js';
import { useOperationLimits } from './limits.js';
import { schema } from './schema.js';

/**
 * What a transport hands Yoga besides the request. The WebSocket transport checks the key once,
 * at `connection_init`, and passes the resulting scope; HTTP passes nothing and the scope comes
 * from the request's `Authorization` header.
 */
export interface GraphQLServerContext {
  scope?: ApiScope | undefined;
}

export type GraphQLServer = YogaServerInstance<GraphQLServerContext, GraphQLContext>;

/** The Yoga server at /graphql; app.ts routes requests to it and attaches the WebSocket transport. */
export function createGraphQLServer(deps: GraphQLDeps): GraphQLServer {
  const keys = new ApiKeys(deps.config.apiKeys);
  if (keys.open) {
    deps.logger.warn(
      '[graphql] No API keys configured (JOBSCOPE_READ_KEYS / JOBSCOPE_OPERATE_KEYS): the GraphQL API is open, ' +
        'anyone who can reach it may read and operate. Development only; production refuses to start like this.',
    );
  }
  return createYoga<GraphQLServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: graphiqlOptions({ apiKeysRequired: !keys.open }),
    // GraphiQL's scripts and styles served from this package, not a CDN: it opens offline too.
    renderGraphiQL,
    // Masks everything but GraphQLErrors thrown on purpose (those carry extensions.code).
    maskedErrors: true,
    plugins: [useOperationLimits(deps.config.graphqlLimits, { production: deps.config.env === 'production' }), useApiKeys(keys)],
    context: (initial): GraphQLContext => ({
      ...deps,
      scope: 'scope' in initial ? initial.scope : keys.scopeOf(bearerToken(initial.request.headers.get('authorization'))),
    }),
    logging: {
      debug: (...args) => deps.logger.debug(String(args[0]), { args: args.slice(1) }),
      info: (...args) => deps.logger.info(String(args[0]), { args: args.slice(1) }),
      warn: (...args) => deps.logger.warn(String(args[0]), { args: args.slice(1) }),
      error: (...args) => deps.logger.error(String(args[0]), { args: args.slice(1) }),
    },
  });
}
