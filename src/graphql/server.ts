import { useGraphQlJit } from '@envelop/graphql-jit';
import { createCounter, createHistogram, usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { getOperationAST, visit, type DocumentNode } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import type { Config } from '../config/index.js';
import type { Jobs } from '../jobs/index.js';
import type { Logger } from '../logger.js';
import { ApiKeys, useApiKeys, type Caller } from './auth.js';
import type { GraphQLContext } from './context.js';
import { maskError } from './errors.js';
import { Fanout } from './fanout.js';
import { graphiqlOptions } from './graphiql.js';
import { useMalformedParameters, useStorableInputs } from './inputs.js';
import { KnownQueries } from './known-queries.js';
import { useOperationLimits, useRequestBodyLimit } from './limits.js';
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
  /** The query documents executed over HTTP so far: what the HTTP fast path may take. */
  readonly knownQueries: KnownQueries;
  /** The caller a presented key identifies (the one ApiKeys of this server). */
  identify(key: string | undefined): Caller | undefined;
  /** Plugins whose `onRequest` / `onResponse` must see every HTTP request (the operation metrics). */
  readonly httpHooks: readonly Pick<Plugin, 'onRequest' | 'onResponse'>[];
};

export interface GraphQLServerDeps {
  jobs: Jobs;
  config: Pick<Config, 'apiKeys' | 'env' | 'graphqlLimits' | 'events'>;
  logger: Logger;
  /** Path of the endpoint, base path included (`/graphql`, `/jobscope/graphql`). */
  endpoint: string;
  /** Where Yoga's operation metrics go (served by /metrics); none without it. */
  metricsRegistry?: Registry | undefined;
  /** The troubleshooting checklist (systemCheck); the app's, which knows its configuration. */
  systemCheck: GraphQLContext['systemCheck'];
  /** Alert rules and their events. */
  alerts: GraphQLContext['alerts'];
}

const jitSafety = new WeakMap<DocumentNode, boolean>();

/**
 * Queries and mutations run as compiled functions (graphql-jit: about 10 % less CPU for a list of
 * 50), except where jit differs from graphql-js: subscriptions (its subscribe does not end on
 * return(), which the event streams rely on) and variables inside object or list literals
 * (`payload: { key: $key }`: jit hands a JSON scalar the literal without the variable's value).
 * Decided once per parsed document (Yoga caches those).
 */
function jitSafe(document: DocumentNode, operationName: string | null | undefined): boolean {
  let safe = jitSafety.get(document);
  if (safe === undefined) {
    let nestedVariable = false;
    let depth = 0;
    visit(document, {
      ObjectValue: { enter: () => void depth++, leave: () => void depth-- },
      ListValue: { enter: () => void depth++, leave: () => void depth-- },
      Variable: () => {
        if (depth > 0) nestedVariable = true;
      },
    });
    safe = !nestedVariable;
    jitSafety.set(document, safe);
  }
  return safe && getOperationAST(document, operationName)?.operation !== 'subscription';
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
    keepAliveMs: deps.config.events.keepAliveSeconds * 1000,
    maskError: (error, message) => maskError(error, message),
    logger: deps.logger,
  });
  const knownQueries = new KnownQueries();
  const metrics = deps.metricsRegistry ? operationMetrics(deps.metricsRegistry) : undefined;
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
    maxRequestBodySize: false,
    plugins: [
      useRequestBodyLimit(deps.config.graphqlLimits.maxBodyKiB * 1024),
      useMalformedParameters(),
      useOperationLimits(deps.config.graphqlLimits, { production: deps.config.env === 'production' }),
      useApiKeys(keys),
      useStorableInputs(),
      fanout.plugin(),
      useGraphQlJit({}, { enableIf: (args) => jitSafe(args.document, args.operationName) }),
      ...(metrics ? [metrics] : []),
      knownQueries.plugin(),
    ],
    context: (initial): GraphQLContext => {
      const caller = 'caller' in initial ? initial.caller : keys.identifyRequest(initial.request);
      return { jobs: deps.jobs, alerts: deps.alerts, systemCheck: deps.systemCheck, actor: caller?.actor ?? { kind: 'anonymous' }, scope: caller?.scope };
    },
    logging: {
      // Yoga logs several debug lines per request; building them when debug is off cost ~2 % of
      // the CPU of a { __typename } request (winston formats before it filters).
      debug: deps.logger.isDebugEnabled() ? (...args) => deps.logger.debug(String(args[0]), { args: args.slice(1) }) : () => {},
      info: (...args) => deps.logger.info(String(args[0]), { args: args.slice(1) }),
      warn: (...args) => deps.logger.warn(String(args[0]), { args: args.slice(1) }),
      error: (...args) => deps.logger.error(String(args[0]), { args: args.slice(1) }),
    },
  });
  return Object.assign(yoga, {
    fanout,
    knownQueries,
    identify: (key: string | undefined) => keys.identify(key),
    httpHooks: metrics ? [metrics as Plugin] : [],
  });
}

/**
 * Yoga's operation metrics (requests, durations per phase, errors) into jobscope's registry, with
 * low-cardinality labels only: the operation type, the HTTP method and status code. Operation
 * names, URLs and error paths are left out: clients choose them, and every new value would be a
 * new time series.
 *
 * The three metrics kept are given to the plugin as its custom metrics (`createHistogram`,
 * `createCounter`: the plugin's own API for them), with the same names, help and labels as its
 * defaults but the client-chosen labels, which their `labelNames` leave out (so the plugin's
 * `labels` option has nothing left to filter). Its defaults build each observation's labels by
 * filtering an object of every label (`Object.fromEntries(Object.entries(…).filter(…))`, three
 * times a request); these return one frozen labels object per combination. The rest of the
 * defaults, the summary above all (quantiles kept per process), cost ~0.1 ms of CPU per request
 * together: a third of a { __typename } (bench/floor.ts).
 */
export function operationMetrics(registry: Registry) {
  const interned = new Map<string, Readonly<Record<string, string | number>>>();
  /**
   * One frozen labels object per combination, in the order given (prom-client prints that order),
   * found by its names and values joined (no label value holds a newline): a JSON key cost 0.8 % of a list's CPU.
   */
  const labels = <T extends Record<string, string | number>>(value: T): T => {
    let key = '';
    for (const name in value) key += `${name}=${value[name]}\n`;
    let known = interned.get(key);
    if (!known) interned.set(key, (known = Object.freeze(value)));
    return known as T;
  };
  return usePrometheus({
    registry,
    endpoint: false,
    metrics: {
      graphql_yoga_http_duration: createHistogram({
        registry,
        histogram: { name: 'graphql_yoga_http_duration', help: 'Time spent on HTTP connection', labelNames: ['method', 'statusCode', 'operationType'] },
        fillLabelsFn: (params, { request, response }) => labels({ method: request.method, statusCode: response.status, operationType: params.operationType ?? 'unknown' }),
      }),
      graphql_envelop_phase_execute: createHistogram({
        registry,
        histogram: { name: 'graphql_envelop_phase_execute', help: 'Time spent on running the GraphQL "execute" function', labelNames: ['operationType'] },
        fillLabelsFn: (params) => labels({ operationType: params.operationType ?? 'unknown' }),
        phases: ['execute'],
      }),
      graphql_envelop_error_result: createCounter({
        registry,
        counter: { name: 'graphql_envelop_error_result', help: 'Counts the amount of errors reported from all phases', labelNames: ['operationType', 'phase'] },
        fillLabelsFn: (params) => ({ operationType: params.operationType ?? 'unknown', phase: params.errorPhase ?? 'unknown' }),
        phases: ['parse', 'validate', 'context', 'execute', 'subscribe'],
      }),
      graphql_envelop_request: false,
      graphql_envelop_request_duration: false,
      graphql_envelop_request_time_summary: false,
      graphql_envelop_phase_parse: false,
      graphql_envelop_phase_validate: false,
      graphql_envelop_phase_context: false,
      graphql_envelop_phase_subscribe: false,
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
    },
  });
}
