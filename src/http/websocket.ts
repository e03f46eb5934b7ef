import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { execute, subscribe, type ExecutionArgs, type GraphQLError, type GraphQLFormattedError } from 'graphql';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config/index.js';
import { ApiKeys, bearerToken, keyFromConnectionParams, type Caller } from '../graphql/auth.js';
import type { GraphQLServer } from '../graphql/server.js';
import type { Logger } from '../logger.js';

export interface GraphQLWebSocket {
  /**
   * Takes over an HTTP upgrade for the GraphQL path and answers true; any other path is left
   * alone (false), so an app's own WebSocket routes keep working next to jobscope's.
   */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Closes every socket (1001 Going Away) and stops accepting upgrades; the HTTP server stays up. */
  close(): Promise<void>;
}

/** Yoga's enveloped execute/subscribe travel in rootValue from onSubscribe to graphql-ws. */
interface EnvelopedRoot {
  execute: (args: ExecutionArgs) => ReturnType<typeof execute>;
  subscribe: (args: ExecutionArgs) => ReturnType<typeof subscribe>;
}

/** Errors as sent to the client, without Yoga's `extensions.http` (status codes mean nothing here). */
function formatErrors(errors: readonly GraphQLError[]): GraphQLFormattedError[] {
  return errors.map((error) => {
    const { http: _http, ...extensions } = error.extensions ?? {};
    const { extensions: _all, ...formatted } = error.toJSON();
    return Object.keys(extensions).length > 0 ? { ...formatted, extensions } : formatted;
  });
}

/**
 * GraphQL over WebSocket (the graphql-ws protocol, `graphql-transport-ws`) on the GraphQL path of
 * whichever HTTP server hands it its upgrades, next to Yoga's HTTP and SSE transports. Operations run through Yoga's envelop, so
 * limits, scopes and error masking are the same as over HTTP.
 *
 * The API key is checked once, at `connection_init`: its payload carries
 * `{ authorization: 'Bearer <key>' }` (or `{ apiKey: '<key>' }`); clients that can set headers on
 * the upgrade request may send `Authorization` there instead. A missing or unknown key closes the
 * socket with 4401 Unauthorized before any operation.
 *
 * Keep-alive: graphql-ws' server sends no pings of its own, so a quiet subscription could be cut
 * by an idle proxy. Every `events.keepAliveSeconds` each socket gets a WebSocket ping frame
 * (browsers and the ws library answer it without any code); a socket that has not answered the
 * previous one is gone (a dead peer or network) and is terminated, which ends its subscriptions.
 */
export function createGraphQLWebSocket(
  yoga: GraphQLServer,
  options: { config: Pick<Config, 'apiKeys' | 'env' | 'events'>; logger: Logger },
): GraphQLWebSocket {
  const path = yoga.graphqlEndpoint;
  const keys = new ApiKeys(options.config.apiKeys);
  const logger = options.logger.child({ component: 'graphql-ws' });
  const wss = new WebSocketServer({ noServer: true });
  let closed = false;
  const answered = new WeakSet<WebSocket>();
  wss.on('connection', (ws) => {
    answered.add(ws);
    ws.on('pong', () => answered.add(ws));
  });
  const keepAlive = setInterval(() => {
    for (const ws of wss.clients) {
      if (!answered.has(ws)) {
        logger.debug('[graphql-ws] closing a socket that did not answer the keep-alive ping');
        ws.terminate();
        continue;
      }
      answered.delete(ws);
      ws.ping();
    }
  }, options.config.events.keepAliveSeconds * 1000);
  keepAlive.unref();

  const disposable = useServer<Record<string, unknown> | undefined, { caller: Caller }>(
    {
      isProd: options.config.env === 'production',
      execute: (args) => (args.rootValue as EnvelopedRoot).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedRoot).subscribe(args),
      onConnect: (ctx) => {
        const key = keyFromConnectionParams(ctx.connectionParams) ?? bearerToken(ctx.extra.request.headers.authorization);
        const caller = keys.identify(key);
        if (caller === undefined) {
          logger.debug('[graphql-ws] connection refused: missing or unknown API key');
          // The closing handshake is under way, so graphql-ws' own 4403 close that follows is ignored.
          ctx.extra.socket.close(CloseCode.Unauthorized, 'Unauthenticated: missing or unknown API key');
          return false;
        }
        ctx.extra.caller = caller;
        return true;
      },
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { ...result, errors: formatErrors(result.errors) } : undefined,
      onError: (_ctx, _id, _payload, errors) => formatErrors(errors),
      onSubscribe: async (ctx, _id, params) => {
        const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
          ...ctx,
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params,
          caller: ctx.extra.caller,
        });
        try {
          const document = parse(params.query);
          const errors = validate(schema, document);
          if (errors.length > 0) return errors;
          const args: ExecutionArgs = {
            schema,
            operationName: params.operationName ?? null,
            document,
            variableValues: params.variables ?? null,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe } satisfies EnvelopedRoot,
          };
          return args;
        } catch (error) {
          // Syntax errors and limit rejections are thrown by parse/validate: report them to the
          // client as the operation's errors instead of closing the socket.
          // By name, not instanceof: the error may come from another copy of graphql.
          if (error instanceof Error && error.name === 'GraphQLError') return [error as GraphQLError];
          throw error;
        }
      },
    },
    wss,
  );

  return {
    handleUpgrade(request, socket, head) {
      const { pathname } = new URL(request.url ?? '/', 'http://localhost');
      if (closed || pathname !== path) return false;
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
      return true;
    },
    async close() {
      closed = true;
      clearInterval(keepAlive);
      await disposable.dispose();
    },
  };
}
