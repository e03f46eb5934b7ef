import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServerAdapter } from '@whatwg-node/server';
import type { JobscopeApp } from '../app.js';

/**
 * jobscope as a node:http listener. As Express or Connect middleware it takes only the paths it
 * serves and calls `next()` for the rest; under `app.use('/jobscope', …)` it reads the full path
 * from `originalUrl`, so routes and signatures see the URL QStash called.
 */
export interface NodeHandler {
  (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void): void;
  /** The GraphQL WebSocket upgrade: true when taken, false for other paths (left to the app). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /**
   * Hands this server's WebSocket upgrades for the GraphQL path to jobscope, and tells it where the
   * server listens (the stand-in's address, and the public URL unless BASE_URL is set).
   */
  attach(server: Server): void;
}

export function createNodeHandler(app: JobscopeApp): NodeHandler {
  const adapter = createServerAdapter((request: Request) => app.fetch(request));
  const handler = ((req: IncomingMessage & { originalUrl?: string }, res: ServerResponse, next?: (error?: unknown) => void) => {
    if (typeof req.originalUrl === 'string') req.url = req.originalUrl;
    const route = app.routeOf(pathOf(req));
    if (next && route === undefined) {
      next();
      return;
    }
    if (route === 'graphql') {
      app.seen(`http://${req.headers.host ?? 'localhost'}`);
      // Straight to Yoga's own node handler: one request conversion instead of two adapters in a
      // row (the outer one cost ~10 % of a { __typename } request's CPU). Shared subscriptions over
      // SSE and plain queries are written straight to the response; what they do not take goes to Yoga.
      const yoga = () => void app.graphql.requestListener(req, res);
      if (app.eventStream.takes(req)) app.eventStream.serve(req, res, yoga);
      else if (app.graphqlFastPath.takes(req)) app.graphqlFastPath.serve(req, res, yoga);
      else yoga();
      return;
    }
    void adapter(req, res);
  }) as NodeHandler;
  handler.handleUpgrade = (req, socket, head) => app.webSocket.handleUpgrade(req, socket, head);
  handler.attach = (server) => {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      handler.handleUpgrade(req, socket, head);
    });
    // Where the server listens is where the stand-in is called and, without BASE_URL, the public
    // URL: the app's code may enqueue before jobscope has served a request.
    const bind = () => app.bound(loopbackUrl(server));
    if (server.listening) bind();
    else server.once('listening', bind);
  };
  return handler;
}

function pathOf(req: IncomingMessage): string {
  return new URL(req.url ?? '/', 'http://localhost').pathname;
}

/** `http://127.0.0.1:<port>` for a listening server (a wildcard bind is reached over loopback). */
function loopbackUrl(server: Server): string {
  const { address, port } = server.address() as AddressInfo;
  const host = address === '0.0.0.0' || address === '::' ? '127.0.0.1' : address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** A body this large (or of undeclared length) counts against `maxConcurrentLargeBodies`. */
const LARGE_BODY_BYTES = 64 * 1024;

/**
 * Admission for the standalone server: at most `maxConcurrentRequests` requests at once, and of
 * those at most `maxConcurrentLargeBodies` with a large body. Past either, the request is answered
 * 503 with Retry-After at once, its body unread (the connection is closed), so that a flood of
 * 1 MB bodies is turned away instead of slowing every small query behind it. Health and metrics
 * always answer, and open subscription streams (SSE) are not counted: they live for hours.
 */
function loadShedder(limits: JobscopeApp['config']['http']) {
  let active = 0;
  let activeLarge = 0;
  return (req: IncomingMessage, res: ServerResponse, route: ReturnType<JobscopeApp['routeOf']>): boolean => {
    if (route === 'health' || route === 'metrics' || (req.headers.accept ?? '').includes('text/event-stream')) return true;
    const declared = req.headers['content-length'];
    const large = req.method !== 'GET' && req.method !== 'HEAD' && (declared === undefined ? req.headers['transfer-encoding'] !== undefined : Number(declared) > LARGE_BODY_BYTES);
    if (active >= limits.maxConcurrentRequests || (large && activeLarge >= limits.maxConcurrentLargeBodies)) {
      const message = 'Server busy; retry later';
      res.writeHead(503, { 'content-type': 'application/json; charset=utf-8', 'retry-after': '1', connection: 'close' });
      res.end(JSON.stringify(route === 'graphql' ? { errors: [{ message, extensions: { code: 'SERVICE_UNAVAILABLE' } }] } : { error: message }));
      return false;
    }
    active++;
    if (large) activeLarge++;
    res.once('close', () => {
      active--;
      if (large) activeLarge--;
    });
    return true;
  };
}

export interface NodeServer {
  readonly server: Server;
  /** Where it listens, over loopback (`http://127.0.0.1:4000`). */
  readonly url: string;
  /**
   * Stops accepting, lets deliveries in flight record their outcome and send their answer, then
   * drops what is left (idle keep-alive sockets, open SSE streams) and closes the app.
   */
  close(): Promise<void>;
}

/** The standalone server: jobscope alone on a port, WebSocket subscriptions included. */
export async function serveNode(app: JobscopeApp, options: { port: number; host: string }): Promise<NodeServer> {
  const handler = createNodeHandler(app);
  // Answers in flight, until sent: the app knows when a delivery is recorded, the socket when its
  // answer has gone out.
  const answering = new Set<Promise<void>>();
  const admit = loadShedder(app.config.http);
  const server = createServer(
    // Slow clients (a trickled header, a body that never ends) are cut off instead of holding a socket.
    {
      headersTimeout: app.config.http.headersTimeoutSeconds * 1000,
      requestTimeout: app.config.http.requestTimeoutSeconds * 1000,
      // Node checks those timeouts this often (default 30 s, which would triple a 10 s limit).
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      const route = app.routeOf(pathOf(req));
      if (!admit(req, res, route)) return;
      if (req.method === 'POST' && route === 'worker') {
        const sent = new Promise<void>((resolve) => res.once('close', resolve));
        answering.add(sent);
        void sent.then(() => answering.delete(sent));
      }
      handler(req, res);
    },
  );
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!handler.handleUpgrade(req, socket, head)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const url = loopbackUrl(server);
  app.bound(url);
  app.start();

  let closing: Promise<void> | undefined;
  return {
    server,
    url,
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await app.drain();
        await Promise.race([Promise.allSettled([...answering]), new Promise((r) => setTimeout(r, 1_000).unref())]);
        server.closeAllConnections();
        await closed;
        await app.close();
      })();
      return closing;
    },
  };
}
