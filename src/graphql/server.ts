import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { GraphQLContext, GraphQLDeps } from './context.js';
import { schema } from './schema.js';

export type GraphQLServer = YogaServerInstance<Record<string, never>, GraphQLContext>;

/** The Yoga server at /graphql; app.ts routes requests to it. */
export function createGraphQLServer(deps: GraphQLDeps): GraphQLServer {
  return createYoga<Record<string, never>, GraphQLContext>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    context: (): GraphQLContext => ({ ...deps, scope: 'operate' }),
    logging: {
      debug: (...args) => deps.logger.debug(String(args[0]), { args: args.slice(1) }),
      info: (...args) => deps.logger.info(String(args[0]), { args: args.slice(1) }),
      warn: (...args) => deps.logger.warn(String(args[0]), { args: args.slice(1) }),
      error: (...args) => deps.logger.error(String(args[0]), { args: args.slice(1) }),
    },
  });
}
