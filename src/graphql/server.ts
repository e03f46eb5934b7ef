import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Config } from '../config/index.js';
import type { Jobs } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import { ApiKeys, bearerToken, useApiKeys, type Caller } from './auth.js';
import type { GraphQLContext } from './context.js';
import { maskError } from './errors.js';
import { Fanout } from './fanout.js';
import { graphiqlOptions } from './graphiql.js';
import { useOperationLimits } from './limits.js';
import { schema } from './schema.js';

/**
 * What a transport hands Yoga besides the request. The WebSocket transport checks the key once,
 * at `connection_init`, and passes the caller; HTTP passes nothing and the caller comes from the
 * request's `Authorization` header.
 */
export interface GraphQLServerContext {
  caller?: Caller | undefined;
}

export type GraphQLServer = YogaServerInstance<GraphQLServerContext, GraphQLContext> & {
  /** Shared subscription sources (one execution per event and key); `stats()` counts them. */
  readonly fanout: Fanout;
};

export interface GraphQLServerDeps {
  jobs: Jobs;
  config: Pick<Config, 'apiKeys' | 'env' | 'graphqlLimits'>;
  logger: Logger;
  /** Path of the endpoint, base path included (`/graphql`, `/jobscope/graphql`). */
  endpoint: string;
}

/** The Yoga server at `endpoint`; the router sends requests to it and the WebSocket transport attaches to it. */
export function createGraphQLServer(deps: GraphQLServerDeps): GraphQLServer {
  const keys = new ApiKeys(deps.config.apiKeys);
  if (keys.open) {
    deps.logger.warn(
      '[graphql] No API keys configured (JOBSCOPE_READ_KEYS / JOBSCOPE_OPERATE_KEYS): the GraphQL API is open, ' +
        'anyone who can reach it may read and operate. Development only; production refuses to start like this.',
    );
  }
  // jobEvents results depend on the document, variables and scope alone: shared between subscribers.
  const fanout = new Fanout({
    shareable: ['jobEvents'],
    maxBufferedBytes: deps.config.graphqlLimits.subscriptionBufferKiB * 1024,
    maskError: (error, message) => maskError(error, message),
    logger: deps.logger,
  });
  const yoga = createYoga<GraphQLServerContext, GraphQLContext>({
    schema,
    graphqlEndpoint: deps.endpoint,
    landingPage: false,
    graphiql: graphiqlOptions({ apiKeysRequired: !keys.open }),
    // GraphiQL's scripts and styles served from this package, not a CDN: it opens offline too.
    // Loaded on the first page view: the inlined assets cost ~450 ms of start-up when imported.
    renderGraphiQL: async (options) => (await import('@graphql-yoga/render-graphiql')).renderGraphiQL(options),
    // Typed domain errors get their extensions.code here, once; everything unexpected is masked.
    maskedErrors: { maskError },
    plugins: [useOperationLimits(deps.config.graphqlLimits, { production: deps.config.env === 'production' }), useApiKeys(keys), fanout.plugin()],
    context: (initial): GraphQLContext => {
      const caller = 'caller' in initial ? initial.caller : keys.identify(bearerToken(initial.request.headers.get('authorization')));
      return { jobs: deps.jobs, actor: caller?.actor ?? { kind: 'anonymous' }, scope: caller?.scope };
    },
    logging: {
      debug: (...args) => deps.logger.debug(String(args[0]), { args: args.slice(1) }),
      info: (...args) => deps.logger.info(String(args[0]), { args: args.slice(1) }),
      warn: (...args) => deps.logger.warn(String(args[0]), { args: args.slice(1) }),
      error: (...args) => deps.logger.error(String(args[0]), { args: args.slice(1) }),
    },
  });
  return Object.assign(yoga, { fanout });
}
