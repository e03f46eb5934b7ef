/**
 * `jobscope/node`: jobscope on node:http, Express, Connect or Fastify, WebSocket subscriptions
 * included.
 *
 * ```ts
 * const jobscope = await createJobscope({ ...config, basePath: '/jobscope' });
 * const handler = createNodeHandler(jobscope);
 * app.use(handler);                                  // Express: before any body parser
 * const server = app.listen(3000);
 * handler.attach(server);                            // graphql-ws on /jobscope/graphql
 * ```
 */
import { createNodeHandler as createAppNodeHandler, serveNode, type NodeHandler } from './node-server.js';
import { appOf, type Jobscope } from '../jobscope.js';

export type { NodeHandler } from './node-server.js';

/**
 * A `(req, res, next?)` listener. With `next` (middleware) it takes only jobscope's own paths and
 * passes every other request on; without it, every request is jobscope's. Body parsers must not
 * run before it: QStash signatures are checked on the raw body.
 */
export function createNodeHandler(jobscope: Jobscope): NodeHandler {
  return createAppNodeHandler(appOf(jobscope));
}

export interface Served {
  /** Where it listens, over loopback. */
  readonly url: string;
  /** Stops the server (deliveries in flight are recorded and answered first), then jobscope. */
  close(): Promise<void>;
}

/** jobscope on a node:http server of its own, on `port` and `host` (default: the configured ones). */
export async function serve(jobscope: Jobscope, options: { port?: number; host?: string } = {}): Promise<Served> {
  const server = await serveNode(appOf(jobscope), {
    port: options.port ?? jobscope.config.port,
    host: options.host ?? jobscope.config.host,
  });
  return {
    url: server.url,
    close: () => server.close().then(() => jobscope.close()),
  };
}
