import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionArgs } from 'graphql';
import type { Config } from '../config/index.js';
import { ApiKeys, bearerToken } from '../graphql/auth.js';
import type { GraphQLServer } from '../graphql/server.js';
import type { Logger } from '../logger.js';
import { readNodeBody } from '../request-body.js';

export interface GraphQLEventStream {
  /**
   * Serves a shared subscription over SSE straight on the node response, or hands the request
   * to `fallback` (Yoga) untouched in meaning: the body it read is left on `req.body`.
   */
  serve(req: IncomingMessage & { body?: unknown }, res: ServerResponse, fallback: () => void): void;
  /** Whether `serve` may take this request (checked before the body is read). */
  takes(req: IncomingMessage): boolean;
}

/** Bodies larger than this go to Yoga as they are (a subscription document is a few hundred bytes). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * GraphQL over SSE for shared subscriptions (src/graphql/fanout.ts) on node servers, without the
 * WHATWG Request/Response and Yoga's per-request processing around a stream that lives for hours:
 * through Yoga, each SSE subscriber held ~23 KiB of heap (request, response, headers, abort
 * signals, stream adapters); here it holds the node request and response and its Subscriber. The
 * operation still runs through Yoga's envelop, as the WebSocket transport's do: the same parser
 * cache, graphql-armor's limits, the same context (the caller from the `Authorization` header),
 * useApiKeys' scope check and, in the shared source, the same error masking. It writes what Yoga's
 * SSE writes (`event: next` / `event: complete`, GraphQL over SSE distinct connections mode).
 *
 * Anything else goes to Yoga, which answers it in full: another operation, a missing or unknown
 * key (401), a document that does not parse or validate, an error from subscribing, a GET, and
 * requests with an `Origin` header (browsers: Yoga answers CORS).
 */
export function createGraphQLEventStream(yoga: GraphQLServer, options: { config: Pick<Config, 'apiKeys'>; logger: Logger }): GraphQLEventStream {
  const keys = new ApiKeys(options.config.apiKeys);
  const logger = options.logger.child({ component: 'graphql-sse' });
  const path = yoga.graphqlEndpoint;

  const takes = (req: IncomingMessage): boolean => {
    if (req.method !== 'POST' || req.headers.origin !== undefined) return false;
    if (!(req.headers.accept ?? '').includes('text/event-stream')) return false;
    if (!(req.headers['content-type'] ?? '').includes('application/json')) return false;
    const length = Number(req.headers['content-length']);
    if (!(length > 0 && length <= MAX_BODY_BYTES)) return false;
    const url = req.url ?? '/';
    const query = url.indexOf('?');
    return (query < 0 ? url : url.slice(0, query)) === path;
  };

  const subscribe = async (body: Buffer, req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const caller = keys.identify(bearerToken(req.headers.authorization));
    if (caller === undefined) return false;
    let params: { query?: unknown; variables?: unknown; operationName?: unknown; extensions?: unknown };
    try {
      params = JSON.parse(body.toString('utf8')) as typeof params;
    } catch {
      return false;
    }
    if (typeof params.query !== 'string') return false;
    const variables = params.variables ?? null;
    if (variables !== null && (typeof variables !== 'object' || Array.isArray(variables))) return false;
    const operationName = typeof params.operationName === 'string' ? params.operationName : null;

    const { schema, parse, validate, contextFactory, subscribe } = yoga.getEnveloped({ req, params, caller });
    let document: ReturnType<typeof parse>;
    try {
      document = parse(params.query);
    } catch {
      return false; // a syntax error or a limit: Yoga answers it with its code and status
    }
    if (validate(schema, document).length > 0) return false;
    if (!yoga.fanout.isShareable({ document, operationName })) return false;
    const contextValue = await contextFactory();
    const args: ExecutionArgs = { schema, document, operationName, variableValues: variables as Record<string, unknown> | null, contextValue };
    const result = await subscribe(args);
    const subscriber = yoga.fanout.claim(contextValue);
    if (!subscriber) {
      // Not shared after all (refused before the subscribe function ran): let Yoga answer it.
      if (result && typeof result === 'object' && Symbol.asyncIterator in result) await (result as AsyncIterator<unknown>).return?.();
      return false;
    }
    subscriber.respond(res);
    return true;
  };

  return {
    takes,
    serve(req, res, fallback) {
      readNodeBody(req, res, (body) => {
        subscribe(body, req, res).then(
          (served) => {
            if (served) return;
            req.body = body;
            fallback();
          },
          (error: unknown) => {
            logger.error('[graphql-sse] Subscribing failed', { error: error instanceof Error ? error.message : String(error) });
            if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ errors: [{ message: 'Unexpected error.' }] }));
          },
        );
      });
    },
  };
}
