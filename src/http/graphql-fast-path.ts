import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ExecutionResult } from 'graphql';
import { processRegularResult } from 'graphql-yoga';
import { sendNodeResponse } from '@whatwg-node/server';
import { bearerToken } from '../graphql/auth.js';
import type { GraphQLServer } from '../graphql/server.js';
import { declaredLength, readNodeBody } from '../request-body.js';

/**
 * Answers a GraphQL query over HTTP (a JSON POST to the endpoint) straight from the node request
 * to the node response. Through Yoga, every request is turned into a WHATWG Request, handed
 * through its request pipeline (request parsers, params hooks, result processors) and answered
 * with a WHATWG Response that is then written out again: 0.23 ms of the CPU of a 50-row list here
 * (0.71 ms through `yoga.fetch` in-process against 0.48 ms through its envelop).
 *
 * What runs is still Yoga's envelop, as the WebSocket and SSE transports use it: the same parser
 * and validation caches, graphql-armor's limits, the context (the caller from the key), useApiKeys'
 * scope check, the storable-input check, graphql-jit, the error masking and the operation metrics
 * (the HTTP duration histogram through the metrics plugin's own hooks). The answer is Yoga's:
 * status 200 with its Content-Type for the request's Accept and Content-Length, the same JSON; a
 * result with errors or extensions goes through Yoga's own result processor and node writer.
 *
 * Only requests whose every other step in Yoga is known to pass are taken; the rest go to Yoga
 * untouched in meaning (the body read is left on `req.body`): another method, path, content type
 * or Accept; an `Origin` header (CORS); a body without Content-Length or over the limit; a missing
 * or unknown key (401); a body that is not one operation's JSON params; and any document Yoga has
 * not yet executed as a query over HTTP (KnownQueries: so every document that fails to parse or
 * validate, and every mutation and subscription, is answered by Yoga, and counted once).
 */
export interface GraphQLFastPath {
  /** Whether `serve` may take this request (checked on its headers, before the body is read). */
  takes(req: IncomingMessage): boolean;
  /** Answers the request, or hands it to `fallback` (Yoga) with the body it read on `req.body`. */
  serve(req: IncomingMessage & { body?: unknown }, res: ServerResponse, fallback: () => void): void;
}

/** The Content-Type Yoga answers a successful result with, by the request's Accept (others go to Yoga). */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '': 'application/json; charset=utf-8',
  '*/*': 'application/json; charset=utf-8',
  'application/json': 'application/json; charset=utf-8',
  'application/graphql-response+json': 'application/graphql-response+json; charset=utf-8',
};

const PARAMS = new Set(['query', 'variables', 'operationName', 'extensions']);

interface Params {
  query: string;
  variables?: Record<string, unknown> | null;
  operationName?: string | null;
  extensions?: Record<string, unknown> | null;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The body's params when they are one operation's, as Yoga's checks would accept them. */
function paramsOf(body: Buffer): Params | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(parsed) || typeof parsed['query'] !== 'string') return undefined;
  for (const key in parsed) if (!PARAMS.has(key)) return undefined;
  const { variables, operationName, extensions } = parsed;
  if (variables != null && !isObject(variables)) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  if (extensions != null && !isObject(extensions)) return undefined;
  return parsed as unknown as Params;
}

/**
 * What the envelop plugins read of `context.request` (the method; the metrics plugin keys its
 * timing by the object), without building a WHATWG Request.
 */
function requestOf(req: IncomingMessage) {
  return {
    method: 'POST',
    url: `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`,
    headers: { get: (name: string): string | null => headerOf(req, name) },
  };
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name.toLowerCase()];
  return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
}

export function createGraphQLFastPath(yoga: GraphQLServer, options: { maxBodyBytes: number }): GraphQLFastPath {
  const path = yoga.graphqlEndpoint;

  const takes = (req: IncomingMessage & { body?: unknown }): boolean => {
    if (req.method !== 'POST' || req.url !== path || req.body !== undefined) return false;
    const { headers } = req;
    if (headers.origin !== undefined || headers['transfer-encoding'] !== undefined) return false;
    if (CONTENT_TYPES[(headers.accept ?? '').trim()] === undefined) return false;
    const type = (headers['content-type'] ?? '').split(',')[0]!;
    if (type !== 'application/json' && !type.startsWith('application/json;')) return false;
    return declaredLength(requestOf(req) as unknown as Request, options.maxBodyBytes) === 'within';
  };

  type LightRequest = ReturnType<typeof requestOf>;

  /** The result of the operation, or undefined when Yoga must answer. */
  const execute = async (body: Buffer, req: IncomingMessage, request: LightRequest): Promise<ExecutionResult | undefined> => {
    const caller = yoga.identify(bearerToken(req.headers.authorization));
    if (caller === undefined) return undefined;
    const params = paramsOf(body);
    if (!params || !yoga.knownQueries.has(params.query)) return undefined;
    // The initial context Yoga builds for an HTTP request, with the caller already known.
    const enveloped = yoga.getEnveloped({ req, request, params, caller });
    const document = enveloped.parse(params.query);
    // Known to validate (the same text did); checked anyway, as Yoga's processRequest does.
    if (enveloped.validate(enveloped.schema, document).length > 0) return undefined;
    const contextValue = await enveloped.contextFactory();
    return (await enveloped.execute({
      schema: enveloped.schema,
      document,
      contextValue,
      variableValues: params.variables ?? undefined,
      operationName: params.operationName ?? undefined,
    })) as ExecutionResult;
  };

  const respond = (result: ExecutionResult, req: IncomingMessage, res: ServerResponse): Response | undefined => {
    const accept = (req.headers.accept ?? '').trim();
    if (result.errors === undefined && result.extensions === undefined) {
      const text = ((result as { stringify?: (r: ExecutionResult) => string }).stringify ?? JSON.stringify)(result);
      const contentType = CONTENT_TYPES[accept]!;
      res.writeHead(200, { 'Content-Type': contentType, 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
      return undefined;
    }
    // Errors (masked already, by the envelop) or extensions: Yoga's own status codes and JSON.
    const response = processRegularResult(result, yoga.fetchAPI, CONTENT_TYPES[accept]!.split(';')[0]!) as Response;
    // As Yoga's node adapter writes it (one writeHead).
    void sendNodeResponse(response, res, req, true);
    return response;
  };

  return {
    takes,
    serve(req, res, fallback) {
      const request = requestOf(req);
      const serverContext = { req, res };
      for (const hooks of yoga.httpHooks) hooks.onRequest?.({ request, serverContext } as never);
      readNodeBody(req, res, (body) => {
        const handOver = () => {
          req.body = body;
          fallback();
        };
        execute(body, req, request)
          .then((result) => {
            if (result === undefined) return handOver();
            const response = respond(result, req, res) ?? { status: 200 };
            for (const hooks of yoga.httpHooks) hooks.onResponse?.({ request, response, serverContext } as never);
          })
          // Nothing sent yet: Yoga answers (a query, so running it again changes nothing).
          .catch((error: unknown) => (res.headersSent ? res.destroy(error instanceof Error ? error : undefined) : handOver()));
      });
    },
  };
}
