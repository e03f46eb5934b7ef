import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Receiver, type Client } from '@upstash/qstash';
import type { Config } from './config/index.js';
import { isDatabaseUnavailable, type DatabaseHandle } from './db/client.js';
import { startRollupCompaction, type RollupCompactor } from './db/rollups.js';
import { createGraphQLServer, type GraphQLServer } from './graphql/server.js';
import { runSystemCheck } from './checks/system-check.js';
import { createHealthEndpoint } from './http/health.js';
import { createDashboard } from './http/dashboard.js';
import { createMetricsEndpoint } from './http/metrics.js';
import { databaseUnavailable, json } from './http/respond.js';
import { createGraphQLEventStream, type GraphQLEventStream } from './http/event-stream.js';
import { createGraphQLFastPath, type GraphQLFastPath } from './http/graphql-fast-path.js';
import { createGraphQLWebSocket, type GraphQLWebSocket } from './http/websocket.js';
import { answerStatus, createWorkerEndpoint } from './http/worker-endpoint.js';
import { createAlerts, type Alerts } from './jobs/alerts/index.js';
import { JobDispatcher } from './jobs/dispatcher.js';
import { JobEventBus } from './jobs/events.js';
import { actorLabel, createJobs, logPurge, type Actor, type Jobs } from './jobs/index.js';
import { startReaper, type Reaper } from './jobs/ops/reaper.js';
import { startRetention } from './jobs/ops/retention.js';
import { startPeriodic, type Periodic } from './periodic.js';
import { JobRegistry, type JobDefinition } from './jobs/registry.js';
import { JobLogTransport } from './jobs/job-logs.js';
import { JobQueues } from './jobs/ops/queues.js';
import { PublishRelay } from './jobs/relay.js';
import { exampleJobs } from './jobs/types/index.js';
import type { Logger } from './logger.js';
import { createQStashClient } from './jobs/publisher.js';
import { createQStashStandIn, type QStashStandIn } from './qstash/standin/index.js';

export interface AppOptions {
  config: Config;
  logger: Logger;
  /** An open, migrated database. */
  database: DatabaseHandle;
  /** Job types; default: the shipped examples (`send-email` to the log, `generate-report`). */
  jobs?: readonly JobDefinition<any>[];
}

/**
 * One jobscope: the jobs domain and its whole HTTP surface (GraphQL over HTTP and SSE, the worker
 * endpoints, health, metrics and, in local mode, the QStash stand-in) as one WHATWG handler, plus
 * the WebSocket transport for whichever node server carries it. No server of its own: the
 * standalone server, the framework adapters and the tests all mount `fetch`.
 */
export interface JobscopeApp {
  readonly config: Config;
  readonly logger: Logger;
  readonly database: DatabaseHandle;
  /** The domain facade: every command and question, for every caller. */
  readonly jobs: Jobs;
  readonly graphql: GraphQLServer;
  /** GraphQL over WebSocket; a node server hands it its upgrades. */
  readonly webSocket: GraphQLWebSocket;
  /** Shared subscriptions over SSE written straight to node responses; a node server offers it its requests first. */
  readonly eventStream: GraphQLEventStream;
  /** Plain GraphQL queries over HTTP answered straight on node responses; a node server offers it its requests after the event stream. */
  readonly graphqlFastPath: GraphQLFastPath;
  /** Publishes the outbox's requests to QStash once started (every instance runs one; they share the rows). */
  readonly relay: PublishRelay;
  /** Alert rules and their events; the evaluator runs every `alerts.intervalSeconds` once started. */
  readonly alerts: Alerts;
  /** The in-process QStash stand-in, when no QStash token is configured. */
  readonly standIn: QStashStandIn | undefined;
  /** Public base URL (BASE_URL, else where a server bound, else the first request's origin). */
  baseUrl(): string;
  /** Every route, under `config.basePath`; anything else answers 404. */
  fetch(request: Request): Promise<Response>;
  /**
   * Which of jobscope's routes `pathname` is, or undefined when it is none of them (middleware
   * passes those on). `worker` is where QStash delivers.
   */
  routeOf(pathname: string): Route | undefined;
  /** A request reached jobscope at `origin`: the public base URL while nothing better is known. */
  seen(origin: string): void;
  /**
   * A server now listens at `url` (loopback): the stand-in's Client calls it there, and it is the
   * public base URL too unless BASE_URL says otherwise.
   */
  bound(url: string): void;
  /** Starts the background work (the publish relay, alert checks, folding rollup deltas into the rollups, the reaper of lost runs). */
  start(): void;
  /** Stops taking work: alerts, the stand-in, WebSockets; waits for deliveries in flight to be recorded. */
  drain(): Promise<void>;
  /** `drain`, then stops the event bus. Leaves the database open (whoever opened it closes it). */
  close(): Promise<void>;
}

/** How often the started app folds pending rollup deltas into the rollups. */
const ROLLUP_COMPACTION_INTERVAL_MS = 2_000;
/** How often JOBSCOPE_RETENTION_DAYS is applied (and once at start). */
const RETENTION_INTERVAL_MS = 3_600_000;
/** How soon a started bulk operation (or one whose runner died) is picked up. */
const BULK_POLL_INTERVAL_MS = 1_000;
const RETENTION_ACTOR: Actor = Object.freeze({ kind: 'system', name: 'retention' });

/** jobscope's routes, below the base path. */
export type Route = 'standIn' | 'graphql' | 'dashboard' | 'worker' | 'health' | 'metrics';

/** Builds the app without serving it. */
export async function createApp(options: AppOptions): Promise<JobscopeApp> {
  const { config, logger, database } = options;
  const registry = new JobRegistry(options.jobs ?? exampleJobs());
  // Every line naming a job is also kept with it (JobExecution.logs).
  const jobLogTransport = new JobLogTransport(database.db, (error, lines) =>
    logger.warn('[jobs] Job log lines not kept', { lines, error: error instanceof Error ? error.message : String(error) }),
  );
  logger.add(jobLogTransport);
  const events = new JobEventBus(database, logger, { retentionMs: config.events.logRetentionMinutes * 60_000 });
  await events.start();

  let boundUrl: string | undefined;
  let learnedUrl: string | undefined;
  const baseUrl = () => {
    const url = config.baseUrl ?? boundUrl ?? learnedUrl;
    if (!url) throw new Error('jobscope does not know its public URL yet: set BASE_URL (baseUrl), or serve a request first');
    return url;
  };
  const publicUrl = () => baseUrl() + config.basePath;

  const standInPath = `${config.basePath}${config.qstash.kind === 'local' ? config.qstash.basePath : ''}`;
  const standIn =
    config.qstash.kind === 'local'
      ? createQStashStandIn({
          token: config.qstash.token,
          currentSigningKey: config.signingKeys.current,
          nextSigningKey: config.signingKeys.next,
          basePath: standInPath,
          retryDelayFactor: config.retryDelayFactor,
          scheduleTimeScale: config.scheduleTimeScale,
          logger: logger.child({ component: 'qstash-standin' }),
        })
      : undefined;

  let client: Client | undefined;
  const qstash = () => (client ??= createQStashClient(config, () => (boundUrl ?? baseUrl()) + config.basePath, { logger }));

  const queues = new JobQueues({ qstash, registry, settings: config.queues, logger });
  // Its own client, without the SDK's retries: the relay retries with backoff and counts attempts.
  let relayClient: Client | undefined;
  const relay = new PublishRelay({
    db: database.db,
    registry,
    qstash: () => (relayClient ??= createQStashClient(config, () => (boundUrl ?? baseUrl()) + config.basePath, { retry: false, logger })),
    endpointUrl: (path) => publicUrl() + path,
    queues,
    logger,
    settings: config.publish,
  });
  const dispatcher = new JobDispatcher({
    db: database.db,
    registry,
    qstash,
    logger,
    publishDeadlineSeconds: config.publish.deadlineSeconds,
    onQueued: () => relay.nudge(),
  });
  const liveness = {
    intervalMs: config.heartbeat.intervalSeconds * 1000,
    lostAfterMs: config.heartbeat.intervalSeconds * config.heartbeat.misses * 1000,
  };
  const jobs = createJobs({
    db: database.db,
    registry,
    dispatcher,
    events,
    policy: config.policy,
    logger,
    answerStatus,
    liveness,
    undeliveredAfterMs: config.reaper.undeliveredAfterSeconds * 1000,
    bulk: config.bulk,
    qstash,
    queues,
    endpointUrl: (path) => publicUrl() + path,
  });
  const receiver = new Receiver({ currentSigningKey: config.signingKeys.current, nextSigningKey: config.signingKeys.next });
  const worker = createWorkerEndpoint({ jobs, receiver, publicUrl, logger, maxBodyBytes: config.http.workerMaxBodyKiB * 1024 });
  const systemCheck = () => runSystemCheck({ config, database, jobs, qstash, endpointUrl: (path) => publicUrl() + path, logger });
  const health = createHealthEndpoint({ database, jobs, qstash: config.qstash.kind, logger, systemCheck });
  const dashboard = createDashboard({ basePath: config.basePath, apiKeysRequired: config.apiKeys.read.length + config.apiKeys.operate.length > 0 });
  const metrics = createMetricsEndpoint({ jobs, publishRetries: () => relay.retries });
  // A job committed anywhere (another instance, a caller's own transaction) is heard here after its
  // commit: publish it now rather than at the next poll.
  events.subscribe((event) => {
    if (event.type === 'enqueued' || event.type === 'requeued') relay.nudge();
  });
  const instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const alerts = createAlerts({
    db: database.db,
    logger,
    measure: { db: database.db, deadLetters: (input) => jobs.qstash.deadLetters(input) },
    webhooks: { attempts: config.alerts.webhookAttempts, backoffMs: config.alerts.webhookBackoffMs, timeoutMs: config.alerts.webhookTimeoutMs },
    defaults: {
      failureRateThreshold: config.policy.failureRateThreshold,
      healthWindowMinutes: config.policy.healthWindowMinutes,
      stuckAfterMinutes: config.policy.stuckAfterMinutes,
      cooldownMinutes: config.alerts.cooldownMinutes,
      webhookUrl: config.alerts.webhookUrl,
      webhookSecret: config.alerts.webhookSecret,
    },
    owner: instanceId,
  });
  const graphql = createGraphQLServer({ jobs, alerts, systemCheck, config, logger, endpoint: `${config.basePath}/graphql`, metricsRegistry: metrics.registry });
  const webSocket = createGraphQLWebSocket(graphql, { config, logger });
  const eventStream = createGraphQLEventStream(graphql, { config, logger });
  const graphqlFastPath = createGraphQLFastPath(graphql, { maxBodyBytes: config.graphqlLimits.maxBodyKiB * 1024 });

  const standInPrefix = config.qstash.kind === 'local' ? `${config.qstash.basePath}/` : undefined;
  /** The path below the base path, or undefined outside it. */
  const below = (pathname: string): string | undefined => {
    if (!config.basePath) return pathname;
    if (pathname === config.basePath) return '/';
    return pathname.startsWith(`${config.basePath}/`) ? pathname.slice(config.basePath.length) : undefined;
  };
  /**
   * The one route table: which of jobscope's routes a request path is, if any. Routing, the
   * middleware's "is this ours?" and the in-flight tracking of deliveries all read it.
   */
  const routeOf = (pathname: string): { route: Route; path: string } | undefined => {
    const path = below(pathname);
    if (path === undefined) return undefined;
    if (standInPrefix !== undefined && path.startsWith(standInPrefix)) return { route: 'standIn', path };
    if (path === '/graphql' || path.startsWith('/graphql/')) return { route: 'graphql', path };
    if (path === '/' || path.startsWith('/dashboard/')) return { route: 'dashboard', path };
    if (registry.forEndpoint(path)) return { route: 'worker', path };
    if (path === '/health' || path === '/health/jobs' || path === '/health/checks') return { route: 'health', path };
    if (path === '/metrics') return { route: 'metrics', path };
    return undefined;
  };

  const route = async (request: Request, url: URL, match: ReturnType<typeof routeOf>): Promise<Response> => {
    learnedUrl ??= url.origin;
    const notFound = () =>
      json(404, {
        error: `Not found: ${request.method} ${url.pathname}${below(url.pathname) === undefined ? ` (jobscope serves ${config.basePath}/…)` : ''}`,
      });
    switch (match?.route) {
      case 'standIn':
        return standIn!.fetch(request);
      case 'graphql':
        return graphql.fetch(request, {});
      case 'dashboard':
        return dashboard(request, match.path) ?? notFound();
      case 'worker':
        return (await worker(request, match.path, url.search)) ?? notFound();
      case 'health':
        return (await health(request, match.path, url.searchParams)) ?? notFound();
      case 'metrics':
        return (await metrics(request, match.path)) ?? notFound();
      case undefined:
        return notFound();
    }
  };

  // Deliveries in flight, until their outcome is recorded and answered: drain waits for them, so
  // that every run that started is recorded and QStash hears its outcome.
  const inFlight = new Set<Promise<unknown>>();

  // Readers are exact without it; compaction keeps the pending deltas they add few.
  let compactor: RollupCompactor | undefined;
  let retention: Periodic | undefined;
  // Closes attempts whose worker died and settles their jobs, even when QStash has given up.
  let reaper: Reaper | undefined;
  // Works through running bulk operations, one instance per operation (a lease on its row).
  let bulkRunner: Periodic | undefined;
  let stoppingBulk = false;

  let draining: Promise<void> | undefined;
  const drain = () => {
    draining ??= (async () => {
      await alerts.evaluator.stop();
      await compactor?.stop();
      await relay.stop();
      await retention?.stop();
      await reaper?.stop();
      await bulkRunner?.stop();
      await standIn?.close();
      await webSocket.close();
      // Bounded by the longest job timeout: a hung handler does not hold shutdown for ever.
      const longest = Math.max(0, ...registry.list().map((d) => d.timeoutSeconds)) * 1000;
      await Promise.race([Promise.allSettled([...inFlight]), new Promise((r) => setTimeout(r, longest + 1_000).unref())]);
    })();
    return draining;
  };
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= drain()
      .then(() => jobLogTransport.flush())
      .then(() => {
        logger.remove(jobLogTransport);
        return events.close();
      });
    return closing;
  };

  return {
    config,
    logger,
    database,
    jobs,
    graphql,
    webSocket,
    eventStream,
    graphqlFastPath,
    relay,
    alerts,
    standIn,
    baseUrl,
    async fetch(request) {
      const url = new URL(request.url);
      const match = routeOf(url.pathname);
      const answer = route(request, url, match).catch((error: unknown) => {
        // A client that went away is not an error of ours, and logging it as one costs time under load.
        if (request.signal.aborted) {
          logger.debug('[http] Request aborted by the client', { method: request.method, path: url.pathname });
          return new Response(null, { status: 499 });
        }
        logger.error('[http] Unhandled error', { error: error instanceof Error ? error.message : String(error) });
        return isDatabaseUnavailable(error) ? databaseUnavailable() : json(500, { error: 'Internal server error' });
      });
      if (request.method === 'POST' && match?.route === 'worker') {
        inFlight.add(answer);
        void answer.finally(() => inFlight.delete(answer));
      }
      return answer;
    },
    routeOf: (pathname) => routeOf(pathname)?.route,
    seen(origin) {
      learnedUrl ??= origin;
    },
    bound(url) {
      boundUrl = url;
    },
    start() {
      alerts.evaluator.start(config.alerts.intervalSeconds);
      relay.start();
      compactor ??= startRollupCompaction(database, {
        intervalMs: ROLLUP_COMPACTION_INTERVAL_MS,
        onError: (error) => logger.warn('[db] Rollup compaction failed', { error: error instanceof Error ? error.message : String(error) }),
      });
      const days = config.policy.retentionDays;
      if (days !== undefined) {
        const log = logger.child({ actor: actorLabel(RETENTION_ACTOR) });
        retention ??= startRetention(database.db, {
          days,
          intervalMs: RETENTION_INTERVAL_MS,
          onPurged: (result, olderThan) => logPurge(log, result, olderThan),
          onError: (error) => log.warn('[jobs] Retention purge failed', { error: error instanceof Error ? error.message : String(error) }),
        });
      }
      bulkRunner ??= startPeriodic(() => jobs.runBulk(instanceId, () => stoppingBulk), {
        intervalMs: BULK_POLL_INTERVAL_MS,
        onStop: () => (stoppingBulk = true),
        onError: (error) => logger.warn('[jobs] Bulk operation runner failed', { error: error instanceof Error ? error.message : String(error) }),
      });
      if (config.reaper.intervalSeconds > 0) {
        reaper ??= startReaper(() => jobs.reap(), {
          intervalMs: config.reaper.intervalSeconds * 1000,
          onError: (error) => logger.warn('[jobs] Reaper pass failed', { error: error instanceof Error ? error.message : String(error) }),
        });
      }
    },
    drain,
    close,
  };
}
