import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Receiver } from '@upstash/qstash';
import { createServerAdapter } from '@whatwg-node/server';
import type { Config } from './config.js';
import type { DatabaseHandle } from './db/client.js';
import { createGraphQLServer, type GraphQLServer } from './graphql/server.js';
import { createHealthEndpoint } from './http/health.js';
import { createMetricsEndpoint } from './http/metrics.js';
import { json } from './http/respond.js';
import { attachGraphQLWebSocket } from './http/websocket.js';
import { createWorkerEndpoint } from './http/worker-endpoint.js';
import { JobAlerter } from './jobs/alerts.js';
import { JobDispatcher } from './jobs/dispatcher.js';
import { JobEventBus } from './jobs/events.js';
import { defaultJobs } from './jobs/index.js';
import { JobRegistry, type JobDefinition } from './jobs/registry.js';
import type { Logger } from './logger.js';
import { createQStashStandIn, type QStashStandIn } from './qstash/standin.js';

export interface JobscopeOptions {
  config: Config;
  logger: Logger;
  /** An open, migrated database. */
  database: DatabaseHandle;
  /** Job types; default: the shipped examples (`send-email` to the log, `generate-report`). */
  jobs?: JobDefinition<any>[];
}

/** One jobscope instance: GraphQL, the worker endpoints and (in local mode) the QStash stand-in. */
export interface Jobscope {
  readonly server: Server;
  readonly database: DatabaseHandle;
  readonly registry: JobRegistry;
  readonly dispatcher: JobDispatcher;
  readonly events: JobEventBus;
  /** Failure-rate and stuck-job alerts; checks run on ALERT_INTERVAL_SECONDS once listening. */
  readonly alerter: JobAlerter;
  readonly graphql: GraphQLServer;
  /** The in-process QStash stand-in, when no QSTASH_TOKEN is configured. */
  readonly standIn: QStashStandIn | undefined;
  /** Public base URL (BASE_URL, or derived from the bound port once listening). */
  baseUrl(): string;
  /** Starts listening; resolves to the base URL. */
  listen(port?: number, host?: string): Promise<string>;
  /** Stops accepting work, lets in-flight deliveries finish, closes listeners. Leaves the db open. */
  close(): Promise<void>;
}

/** Builds the app without starting it: tests and main.ts both call `listen`. */
export async function createJobscope(options: JobscopeOptions): Promise<Jobscope> {
  const { config, logger, database } = options;
  const registry = new JobRegistry(options.jobs ?? defaultJobs({ logger }));
  const events = new JobEventBus(database, logger);
  await events.start();

  let boundBaseUrl: string | undefined;
  let loopbackUrl: string | undefined;
  const baseUrl = () => {
    const url = config.baseUrl ?? boundBaseUrl;
    if (!url) throw new Error('jobscope is not listening yet: its base URL is unknown');
    return url;
  };

  const standIn =
    config.qstash.kind === 'local'
      ? createQStashStandIn({
          token: config.qstash.token,
          currentSigningKey: config.signingKeys.current,
          nextSigningKey: config.signingKeys.next,
          basePath: config.qstash.basePath,
          retryDelayFactor: config.retryDelayFactor,
          logger: logger.child({ component: 'qstash-standin' }),
        })
      : undefined;

  let client: Client | undefined;
  const qstash = () => {
    if (client) return client;
    const qstashConfig = config.qstash;
    if (qstashConfig.kind === 'local' && !loopbackUrl) throw new Error('jobscope is not listening yet');
    client = new Client({
      baseUrl: qstashConfig.kind === 'local' ? loopbackUrl + qstashConfig.basePath : qstashConfig.url,
      token: qstashConfig.token,
      devMode: false,
      enableTelemetry: false,
      // Bounded, so that a QStash outage is reported to the caller within a second or two.
      retry: { retries: 2, backoff: (n) => 100 * 2 ** n },
    });
    return client;
  };

  const dispatcher = new JobDispatcher({ db: database.db, registry, qstash, baseUrl, logger });
  const receiver = new Receiver({
    currentSigningKey: config.signingKeys.current,
    nextSigningKey: config.signingKeys.next,
  });
  const worker = createWorkerEndpoint({ db: database.db, registry, receiver, baseUrl, logger });
  const health = createHealthEndpoint({ database, config, registry });
  const metrics = createMetricsEndpoint({ db: database.db, events, stuckMinutes: config.alerts.stuckMinutes });
  const alerter = new JobAlerter({ db: database.db, logger, settings: config.alerts });
  const graphql = createGraphQLServer({ config, db: database.db, registry, dispatcher, events, logger });

  const handle = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    if (standIn && config.qstash.kind === 'local' && url.pathname.startsWith(`${config.qstash.basePath}/`)) {
      return standIn.fetch(request);
    }
    if (url.pathname === '/graphql' || url.pathname.startsWith('/graphql/')) return graphql.fetch(request, {});
    if (url.pathname === '/' && request.method === 'GET') return Response.redirect(new URL('/graphql', url), 302);
    return (
      (await worker(request, url)) ??
      (await health(request, url)) ??
      (await metrics(request, url)) ??
      json(404, { error: `Not found: ${request.method} ${url.pathname}` })
    );
  };
  const adapter = createServerAdapter(async (request: Request) => {
    try {
      return await handle(request);
    } catch (error) {
      logger.error('[http] Unhandled error', { error: error instanceof Error ? error.message : String(error) });
      return json(500, { error: 'Internal server error' });
    }
  });
  // Deliveries in flight, until their answer is sent: shutdown waits for them, so that every run
  // that started is recorded and QStash hears its outcome.
  const inFlight = new Set<Promise<void>>();
  const server = createServer((req, res) => {
    if (registry.forEndpoint(new URL(req.url ?? '/', 'http://x').pathname)) {
      const answered = new Promise<void>((resolve) => res.once('close', resolve));
      inFlight.add(answered);
      void answered.then(() => inFlight.delete(answered));
    }
    void adapter(req, res);
  });
  let closing: Promise<void> | undefined;
  const graphqlWebSocket = attachGraphQLWebSocket(server, graphql, { config, logger });

  return {
    server,
    database,
    registry,
    dispatcher,
    events,
    alerter,
    graphql,
    standIn,
    baseUrl,
    async listen(port = config.port, host = config.host) {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const reachableHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      loopbackUrl = `http://${reachableHost.includes(':') ? `[${reachableHost}]` : reachableHost}:${address.port}`;
      boundBaseUrl = loopbackUrl;
      alerter.start(config.alerts.intervalSeconds);
      return baseUrl();
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };

  async function shutdown(): Promise<void> {
    await alerter.stop();
    await standIn?.close();
    await graphqlWebSocket.close();
    // Stop accepting, let running deliveries record their outcome (bounded by the longest
    // timeout), then drop what is left: idle keep-alive sockets and open SSE streams.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const longest = Math.max(0, ...registry.list().map((d) => d.timeoutSeconds)) * 1000;
    await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, longest + 1_000).unref())]);
    server.closeAllConnections();
    await closed;
    await events.close();
  }
}
