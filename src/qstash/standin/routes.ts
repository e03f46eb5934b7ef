/** The stand-in's HTTP API: auth, the route table, and the handlers of publish, batch, messages, keys and events. */
import { timingSafeEqual } from 'node:crypto';
import { ApiError, json, rawPathAndQuery, readBody, readJson, type RequestContext, withCursor } from './api.js';
import { type DeadLetterQueue, dlqRoute } from './dlq.js';
import type { Engine } from './engine.js';
import type { EventLog } from './event-log.js';
import { matchesFilters } from './paging.js';
import { parsePublish } from './publish-spec.js';
import { queueName } from './queues.js';
import type { ScheduleStore } from './schedules.js';
import type { StandInLogger } from './types.js';
import { messagePayload } from './wire.js';

const UNSUPPORTED_ROUTES = new Set(['topics', 'flowControl', 'globalParallelism', 'workflows', 'llm']);

/** What a resource handler gets: the request split into `/v2/{resource}/{id}/{extra}` and the stand-in's parts. */
export interface RouteContext extends RequestContext {
  engine: Engine;
  dlq: DeadLetterQueue;
  events: EventLog;
  schedules: ScheduleStore;
  keys: { current: string; next: string };
}

type Handler = (context: RouteContext) => Promise<Response> | Response;

async function batchRoute({ request, method, id, engine, notAllowed }: RouteContext): Promise<Response> {
  if (method !== 'POST' || id !== undefined) return notAllowed();
  const items = await readJson(request);
  if (!Array.isArray(items)) throw new ApiError(400, 'batch body must be a JSON array');
  const now = Date.now();
  const specs = items.map((item: unknown, index) => {
    if (typeof item !== 'object' || item === null) throw new ApiError(400, `batch item ${index} is not an object`);
    const { destination, headers, body } = item as { destination?: unknown; headers?: unknown; body?: unknown };
    if (typeof destination !== 'string') throw new ApiError(400, `batch item ${index} has no destination`);
    const headerEntries: Array<[string, string]> = [];
    if (typeof headers === 'object' && headers !== null) {
      for (const [name, value] of Object.entries(headers as Record<string, unknown>)) {
        if (typeof value === 'string') headerEntries.push([name, value]);
        else if (Array.isArray(value)) for (const v of value) headerEntries.push([name, String(v)]);
      }
    }
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body === undefined || body === null ? new Uint8Array() : Buffer.from(JSON.stringify(body));
    return parsePublish(destination, headerEntries, bytes, now);
  });
  return json(200, specs.map((spec) => engine.publish(spec)));
}

function messagesRoute({ method, id, query, engine, notAllowed }: RouteContext): Response {
  if (id === undefined) {
    if (method !== 'DELETE') return notAllowed();
    const ids = query.getAll('messageIds');
    const targets =
      ids.length > 0
        ? ids.map((messageId) => engine.get(messageId)).filter((message) => message !== undefined)
        : [...engine.messages()].filter((message) =>
            matchesFilters({ messageId: message.id, url: message.spec.url, labels: message.spec.labels, time: message.createdAt }, query),
          );
    return json(200, { cancelled: targets.filter((message) => engine.cancel(message)).length });
  }
  const message = engine.get(id);
  if (method === 'GET') {
    if (!message || message.cancelRequested) throw new ApiError(404, `message not found: ${id}`);
    return json(200, messagePayload(message));
  }
  if (method === 'DELETE') {
    if (!message || !engine.cancel(message)) throw new ApiError(404, `message not found: ${id}`);
    return json(200, { cancelled: 1 });
  }
  return notAllowed();
}

function eventsRoute({ method, id, query, events, notAllowed }: RouteContext): Response {
  if (method !== 'GET' || id !== undefined) return notAllowed();
  const { events: page, cursor } = events.list(query);
  return json(200, withCursor({ events: page }, cursor));
}

const ROUTES: Record<string, Handler> = {
  batch: batchRoute,
  keys: ({ method, keys, notAllowed }) => (method === 'GET' ? json(200, keys) : notAllowed()),
  messages: messagesRoute,
  dlq: (context) => dlqRoute(context, context.dlq, context.engine.publish),
  events: eventsRoute,
  logs: eventsRoute,
  schedules: (context) => context.schedules.route(context),
  queues: (context) => context.engine.queues.route(context, () => context.engine.messages()),
};

export interface Router {
  route(request: Request): Promise<Response>;
}

export function createRouter(parts: {
  token: string;
  basePath: string;
  keys: { current: string; next: string };
  engine: Engine;
  dlq: DeadLetterQueue;
  events: EventLog;
  schedules: ScheduleStore;
  logger: StandInLogger;
}): Router {
  const { basePath, engine } = parts;
  const expectedAuthorization = Buffer.from(`Bearer ${parts.token}`);

  function authorized(request: Request): boolean {
    const given = Buffer.from(request.headers.get('authorization') ?? '');
    return given.length === expectedAuthorization.length && timingSafeEqual(given, expectedAuthorization);
  }

  return {
    async route(request) {
      const pathAndQuery = rawPathAndQuery(request.url);
      const queryStart = pathAndQuery.indexOf('?');
      const rawPath = queryStart < 0 ? pathAndQuery : pathAndQuery.slice(0, queryStart);
      if (!rawPath.startsWith(`${basePath}/v2/`)) throw new ApiError(404, `not found: ${rawPath}`);
      if (!authorized(request)) throw new ApiError(401, 'unauthorized: missing or invalid bearer token');

      const rest = pathAndQuery.slice(basePath.length);
      const method = request.method.toUpperCase();
      // `/v2/publish/{destination}`, and `/v2/enqueue/{queue}/{destination}`: the same publish, into a queue.
      const enqueue = /^\/v2\/enqueue\/([^/?]+)\/(.*)$/s.exec(rest);
      if (rest.startsWith('/v2/publish/') || enqueue) {
        if (method !== 'POST') throw new ApiError(405, `method ${method} not allowed`);
        const destination = enqueue ? enqueue[2]! : rest.slice('/v2/publish/'.length);
        const spec = parsePublish(destination, request.headers, await readBody(request), Date.now());
        if (enqueue) spec.queueName = queueName(decodeURIComponent(enqueue[1]!));
        const result = engine.publish(spec);
        return json(result.deduplicated ? 202 : 200, result);
      }

      const rawSegments = rawPath.slice(basePath.length + '/v2/'.length).split('/');
      const [resource, id, extra] = rawSegments.filter((segment) => segment !== '').map((segment) => decodeURIComponent(segment));
      const handler = resource === undefined ? undefined : ROUTES[resource];
      if (handler === undefined) {
        if (resource !== undefined && UNSUPPORTED_ROUTES.has(resource)) {
          throw new ApiError(501, `/v2/${resource} is not supported by the local QStash stand-in`);
        }
        throw new ApiError(404, `not found: ${rawPath}`);
      }
      return handler({
        request,
        method,
        rawPath,
        tail: rest.slice(`/v2/${rawSegments[0] ?? ''}/`.length),
        id,
        extra,
        query: new URL(request.url).searchParams,
        engine,
        dlq: parts.dlq,
        events: parts.events,
        schedules: parts.schedules,
        keys: parts.keys,
        notAllowed: () => {
          throw new ApiError(405, `method ${method} not allowed on ${rawPath}`);
        },
      });
    },
  };
}
