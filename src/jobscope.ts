import { basename } from 'node:path';
import { z } from 'zod';
import { createApp, type JobscopeApp } from './app.js';
import { ConfigError, configSecrets, loadConfig, type Config, type JobscopeOptions } from './config/index.js';
import { openDatabase, type DatabaseHandle } from './db/client.js';
import { migrateDatabase } from './db/migrate.js';
import type { JobExecution } from './db/schema.js';
import type { Client } from '@upstash/qstash';
import { JobDispatcher } from './jobs/dispatcher.js';
import type { CommandOptions, EnqueueCommand, Jobs } from './jobs/index.js';
import { exampleJobs } from './jobs/types/index.js';
import { createQStashClient } from './jobs/publisher.js';
import { JobDefinitionSchema, JobRegistry, type JobDefinition } from './jobs/registry.js';
import { JobQueues } from './jobs/ops/queues.js';
import { PublishRelay } from './jobs/relay.js';
import { createLogger, type Logger } from './logger.js';

/** What `jobscope.config.ts` exports and `createJobscope` takes: the team's job types and options. */
export interface JobscopeConfig extends JobscopeOptions {
  /** The team's job types (`defineJob`). Default: the shipped examples, `send-email` and `generate-report`. */
  jobs?: readonly JobDefinition<any>[];
}

/** Types a config file: `export default defineConfig({ jobs: [resizeImage], port: 4100 })`. */
export function defineConfig(config: JobscopeConfig): JobscopeConfig {
  return config;
}

export interface CreateJobscopeOptions extends JobscopeConfig {
  /** A winston logger of the app's own; default: jobscope's, from the `log` options. */
  logger?: Logger;
  /**
   * Variables laid over the options, so deployment parameters (ports, URLs, keys) can stay in the
   * environment: default `process.env`; `false` for none.
   */
  environment?: Readonly<Record<string, string | undefined>> | false;
  /** Where the options came from, for error messages (the CLI passes the config file's path). */
  source?: string;
}

/**
 * A running jobscope, for the app it is mounted in: its HTTP surface as one WHATWG handler and the
 * commands the API offers, callable from the app's own code.
 */
export interface Jobscope {
  readonly config: Config;
  /** The winston logger jobscope writes its `[jobs] …` lines to. */
  readonly logger: Logger;
  /** The domain: `jobs.read.*` answers the API's questions, `jobs.registry` lists the job types. */
  readonly jobs: Jobs;
  /** GraphQL (HTTP and SSE), the worker endpoints, health and metrics, under `basePath`. */
  fetch(request: Request): Promise<Response>;
  enqueue(type: string, payload: unknown, command?: EnqueueCommand): Promise<JobExecution>;
  retry(jobId: string, options?: CommandOptions): Promise<JobExecution>;
  cancel(jobId: string, options?: CommandOptions): Promise<JobExecution>;
  /** Finishes deliveries in flight, then closes the event bus and the database jobscope opened. */
  close(): Promise<void>;
}

const apps = new WeakMap<Jobscope, JobscopeApp>();

/** The app behind a Jobscope, for the adapters in this package. */
export function appOf(jobscope: Jobscope): JobscopeApp {
  const app = apps.get(jobscope);
  if (!app) throw new TypeError('not a jobscope instance: create it with createJobscope()');
  return app;
}

const JobsOptionSchema = z.object({ jobs: z.array(JobDefinitionSchema).optional() });

/**
 * Checks a config (a file's default export, or `createJobscope`'s options) and resolves it with the
 * environment laid over it. Every problem, in the options and in each job definition, is reported
 * in one ConfigError that names `source`.
 */
export function resolveConfig(
  value: unknown,
  {
    environment = process.env,
    source = 'options',
  }: { environment?: Readonly<Record<string, string | undefined>> | false; source?: string } = {},
): { config: Config; jobs: JobDefinition<any>[] | undefined } {
  const label = source === 'options' ? source : basename(source);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError([`${label}: must be an object (export default defineConfig({ … }))`], source);
  }
  const { jobs: rawJobs, ...options } = value as Record<string, unknown>;
  const problems: string[] = [];
  const jobs = JobsOptionSchema.safeParse({ jobs: rawJobs });
  if (!jobs.success) {
    for (const issue of jobs.error.issues) {
      const [, index, ...field] = issue.path;
      const type = Array.isArray(rawJobs) && typeof index === 'number' ? (rawJobs[index] as { type?: unknown } | undefined)?.type : undefined;
      const name = typeof type === 'string' ? ` ("${type}")` : '';
      problems.push(`${label}: jobs${index !== undefined ? `[${String(index)}]` : ''}${name}${field.length ? `.${field.join('.')}` : ''}: ${issue.message}`);
    }
  } else if (jobs.data.jobs) {
    try {
      new JobRegistry(rawJobs as JobDefinition[]);
    } catch (error) {
      problems.push(`${label}: jobs: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  let config: Config | undefined;
  try {
    config = loadConfig(environment === false ? {} : environment, { options, label });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  if (problems.length > 0 || !config) throw new ConfigError(problems, source === 'options' ? undefined : source);
  return { config, jobs: rawJobs as JobDefinition<any>[] | undefined };
}

/** jobscope's own logger for a config: console plus daily files, secrets scrubbed. */
export function loggerFor(config: Config): Logger {
  return createLogger({ level: config.log.level, format: config.log.format, dir: config.log.dir, secrets: configSecrets(config) });
}

/** Opens the configured database and applies jobscope's migrations (idempotent). */
export async function openConfiguredDatabase(config: Config): Promise<DatabaseHandle> {
  const database = await openDatabase(config.database);
  try {
    await migrateDatabase(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

/**
 * jobscope for an app of the team's own: checks the options (and the environment over them),
 * opens and migrates the database, and returns the handler and commands. Mount `fetch` with
 * `jobscope/fetch` or `jobscope/node`, or call `enqueue` from the app's code.
 */
export async function createJobscope(options: CreateJobscopeOptions = {}): Promise<Jobscope> {
  const { logger: givenLogger, environment, source, ...rest } = options;
  const { config, jobs } = resolveConfig(rest, { environment: environment ?? process.env, ...(source ? { source } : {}) });
  const logger = givenLogger ?? loggerFor(config);
  const database = await openConfiguredDatabase(config);
  let app: JobscopeApp;
  try {
    app = await createApp({ config, logger, database, ...(jobs ? { jobs } : {}) });
  } catch (error) {
    await database.close();
    throw error;
  }
  app.start();
  return wrapApp(app, () => database.close());
}

/**
 * The public face of an app: what `createJobscope` returns, and what the adapters take. `close`
 * closes the app, then runs `onClose` (the database, when jobscope opened it).
 */
export function wrapApp(app: JobscopeApp, onClose: () => Promise<void> = async () => {}): Jobscope {
  let closing: Promise<void> | undefined;
  const jobscope: Jobscope = {
    config: app.config,
    logger: app.logger,
    jobs: app.jobs,
    fetch: (request) => app.fetch(request),
    enqueue: (type, payload, command) => app.jobs.enqueue(type, payload, command),
    retry: (jobId, command) => app.jobs.retry(jobId, command),
    cancel: (jobId, command) => app.jobs.cancel(jobId, command),
    close() {
      closing ??= app.close().then(onClose);
      return closing;
    },
  };
  apps.set(jobscope, app);
  return jobscope;
}

export interface CreateDispatcherOptions extends Omit<CreateJobscopeOptions, 'source'> {}

/** Enqueues jobs from code that only publishes: a script, a cron, another service. */
export interface Dispatcher {
  readonly config: Config;
  /**
   * Validates and records a job with its publish request, exactly as the jobscope server's
   * `enqueueJob` does (`{ tx }`: inside the caller's transaction); this process's relay publishes it.
   */
  enqueue(type: string, payload: unknown, command?: EnqueueCommand): Promise<JobExecution>;
  /** Stops the relay (the server's publishes what is left) and closes the database connection. */
  close(): Promise<void>;
}

/**
 * A dispatcher without a server: the same validation, envelope and recording as `enqueueJob`,
 * publishing to QStash (or, in development, to the stand-in of the jobscope server at `baseUrl`),
 * which delivers to that server's worker endpoints. Needs `baseUrl` (BASE_URL), where QStash
 * reaches the workers, and the server's PostgreSQL database (an embedded PGlite folder cannot be
 * shared with the running server).
 */
export async function createDispatcher(options: CreateDispatcherOptions = {}): Promise<Dispatcher> {
  const { logger: givenLogger, environment, ...rest } = options;
  const { config, jobs } = resolveConfig(rest, { environment: environment ?? process.env });
  const baseUrl = config.baseUrl;
  if (baseUrl === undefined) {
    throw new ConfigError([
      'BASE_URL (baseUrl): required for a dispatcher: the URL of the jobscope server whose worker endpoints QStash delivers to',
    ]);
  }
  if (config.database.kind === 'pglite') {
    // One process at a time may open a PGlite folder, and the server holds it.
    throw new ConfigError([
      'DATABASE_URL (database.url): required for a dispatcher: the embedded PGlite folder belongs to the running jobscope ' +
        'server; use a PostgreSQL server, or enqueue through the server (the enqueueJob mutation)',
    ]);
  }
  const logger = givenLogger ?? loggerFor(config);
  const database = await openConfiguredDatabase(config);
  const publicUrl = baseUrl + config.basePath;
  const registry = new JobRegistry(jobs ?? exampleJobs());
  let client: Client | undefined;
  const qstash = () => (client ??= createQStashClient(config, () => publicUrl, { logger }));
  let relayClient: Client | undefined;
  const relay = new PublishRelay({
    db: database.db,
    registry,
    qstash: () => (relayClient ??= createQStashClient(config, () => publicUrl, { retry: false, logger })),
    endpointUrl: (path) => publicUrl + path,
    queues: new JobQueues({ qstash, registry, settings: config.queues, logger }),
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
  relay.start();
  return {
    config,
    enqueue: (type, payload, command) => dispatcher.enqueue(type, payload, command),
    async close() {
      // What this relay has not published yet stays queued: the server's relay publishes it.
      await relay.stop();
      await database.close();
    },
  };
}
