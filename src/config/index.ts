import { z } from 'zod';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from '../qstash/dev-credentials.js';
import { mergeOptions, optionsFromEnv, type EnvOptions } from './env.js';
import { OptionsSchema, type ResolvedOptions } from './options.js';
import type { Policy } from './policy.js';

export type { JobscopeOptions, ResolvedOptions } from './options.js';
export { DEFAULT_POLICY, type Policy } from './policy.js';

/** Where jobs are published: the real QStash, or the stand-in served by this process. */
export type QStashMode =
  | { kind: 'remote'; url: string | undefined; token: string }
  | { kind: 'local'; basePath: string; token: string };

/** A configured API key and the name its holder goes by (`key#3f9a` when it has none). */
export interface NamedApiKey {
  name: string;
  key: string;
}

export interface Config {
  env: ResolvedOptions['env'];
  port: number;
  host: string;
  /** Explicit BASE_URL, or undefined to derive it from the bound port (or first request) at start-up. */
  baseUrl: string | undefined;
  /** Prefix of every jobscope route: '' (the root) or e.g. '/jobscope'. */
  basePath: string;
  database:
    | { kind: 'postgres'; url: string; schema?: string | undefined }
    | { kind: 'pglite'; dataDir: string; schema?: string | undefined };
  qstash: QStashMode;
  signingKeys: { current: string; next: string };
  retryDelayFactor: number;
  /** The local stand-in's schedule clock speed (1 = real time). */
  scheduleTimeScale: number;
  /** How the outbox relay retries a publish, and when it gives up. */
  publish: ResolvedOptions['publish'];
  /** Per-type QStash queues: on or off, the default parallelism, the name prefix. */
  queues: ResolvedOptions['queues'];
  log: { level: ResolvedOptions['log']['level']; format: 'pretty' | 'json'; dir: string | undefined };
  apiKeys: { read: NamedApiKey[]; operate: NamedApiKey[] };
  /** How often the alert rules are evaluated, and the settings of their webhooks and of the two default rules. */
  alerts: ResolvedOptions['alerts'];
  /** Liveness of running attempts: heartbeat interval and the misses after which a worker is lost. */
  heartbeat: ResolvedOptions['heartbeat'];
  /** The reaper of attempts that lost their worker; `intervalSeconds: 0` turns it off. */
  reaper: ResolvedOptions['reaper'];
  /** Pacing and size cap of bulk operations (retryJobs, cancelJobs). */
  bulk: ResolvedOptions['bulk'];
  /** The one set of thresholds (stuck, health window, failure rate) every surface uses. */
  policy: Policy;
  /** Keep-alives of quiet subscriptions, and how long the job event log keeps events. */
  events: ResolvedOptions['events'];
  /** Operations over any of these are rejected before they run. */
  graphqlLimits: ResolvedOptions['graphql'];
  /** Body limits, timeouts and load shedding of the HTTP surface. */
  http: ResolvedOptions['http'];
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly problems: string[],
    /** The config file the problems are in, when they came from one. */
    readonly file?: string,
  ) {
    super(`Invalid configuration${file ? ` in ${file}` : ''}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Local stand-in mount path, under the base path: one port serves GraphQL, the workers and the stand-in. */
export const LOCAL_QSTASH_PATH = '/qstash';

/** Options a config file (or `createJobscope`) gave, and where they came from for error messages. */
export interface OptionsSource {
  options: unknown;
  /** e.g. `jobscope.config.ts`; problems in these options are reported with it. */
  label: string;
}

/**
 * Resolves the configuration once: the given options (a config file's, or `createJobscope`'s)
 * with the environment laid over them, checked by the one options schema. Every problem is
 * reported in one ConfigError, named by its variable when the environment set it and by its
 * option path otherwise; production refuses the public dev credentials and a missing signing
 * configuration.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, source?: OptionsSource): Config {
  const fromEnv = optionsFromEnv(env);
  const parsed = OptionsSchema.safeParse(mergeOptions(source?.options ?? {}, fromEnv.options));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => describeIssue(issue, fromEnv, source)));
  }
  const options = parsed.data;
  const problems = productionProblems(options);
  if (problems.length > 0) throw new ConfigError(problems);
  return toConfig(options);
}

function describeIssue(issue: z.core.$ZodIssue, fromEnv: EnvOptions, source: OptionsSource | undefined): string {
  // A problem inside a value the environment gave (e.g. one key of a list) is that variable's.
  for (let length = issue.path.length; length > 0; length--) {
    const name = fromEnv.sources.get(issue.path.slice(0, length).map(String).join('.'));
    if (name) return `${name}: ${issue.message}`;
  }
  const path = issue.path.map(String).join('.');
  const where = source ? `${source.label}: ` : '';
  if (issue.code === 'unrecognized_keys') {
    return `${where}${path ? `${path}: ` : ''}unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return `${where}${path || '(options)'}: ${issue.message}`;
}

/** A deployment parameter as a reader looks for it: the variable, and the option in a config file. */
const named = (variable: string, option: string) => `${variable} (${option})`;

function productionProblems(options: ResolvedOptions): string[] {
  const problems: string[] = [];
  const { qstash } = options;
  const remote = qstash.token !== undefined;
  if (options.env === 'production') {
    const token = named('QSTASH_TOKEN', 'qstash.token');
    if (!remote) problems.push(`${token}: required in production (the local QStash stand-in is for development only)`);
    if (qstash.token === DEV_QSTASH_TOKEN) problems.push(`${token}: the public development token is refused in production`);
    for (const [variable, option] of [
      ['QSTASH_CURRENT_SIGNING_KEY', 'currentSigningKey'],
      ['QSTASH_NEXT_SIGNING_KEY', 'nextSigningKey'],
    ] as const) {
      const value = qstash[option];
      const name = named(variable, `qstash.${option}`);
      if (value === undefined) problems.push(`${name}: required in production`);
      else if (value === DEV_CURRENT_SIGNING_KEY || value === DEV_NEXT_SIGNING_KEY) {
        problems.push(`${name}: the public development signing key is refused in production`);
      }
    }
    if (options.baseUrl === undefined) {
      problems.push(`${named('BASE_URL', 'baseUrl')}: required in production (QStash must reach the worker endpoints)`);
    }
    if (options.apiKeys.read.length + options.apiKeys.operate.length === 0) {
      problems.push(
        `${named('JOBSCOPE_READ_KEYS / JOBSCOPE_OPERATE_KEYS', 'apiKeys')}: at least one API key is required in production`,
      );
    }
  } else if (remote && (qstash.currentSigningKey === undefined || qstash.nextSigningKey === undefined)) {
    problems.push(
      `${named('QSTASH_CURRENT_SIGNING_KEY / QSTASH_NEXT_SIGNING_KEY', 'qstash.currentSigningKey / nextSigningKey')}: required when QSTASH_TOKEN is set`,
    );
  }
  return problems;
}

function toConfig(options: ResolvedOptions): Config {
  const { qstash, database } = options;
  const production = options.env === 'production';
  return {
    env: options.env,
    port: options.port,
    host: options.host,
    baseUrl: options.baseUrl,
    basePath: options.basePath,
    database: database.url
      ? { kind: 'postgres', url: database.url, schema: database.schema }
      : { kind: 'pglite', dataDir: database.pgliteDir, schema: database.schema },
    qstash:
      qstash.token !== undefined
        ? { kind: 'remote', url: qstash.url, token: qstash.token }
        : { kind: 'local', basePath: LOCAL_QSTASH_PATH, token: DEV_QSTASH_TOKEN },
    signingKeys: {
      current: qstash.currentSigningKey ?? DEV_CURRENT_SIGNING_KEY,
      next: qstash.nextSigningKey ?? DEV_NEXT_SIGNING_KEY,
    },
    retryDelayFactor: qstash.retryDelayFactor,
    scheduleTimeScale: qstash.scheduleTimeScale,
    publish: options.publish,
    queues: options.queues,
    log: {
      level: options.log.level,
      format: options.log.format ?? (production ? 'json' : 'pretty'),
      dir: options.log.dir === false ? undefined : options.log.dir,
    },
    apiKeys: options.apiKeys,
    alerts: options.alerts,
    heartbeat: options.heartbeat,
    reaper: options.reaper,
    bulk: options.bulk,
    policy: options.policy,
    events: options.events,
    graphqlLimits: options.graphql,
    http: options.http,
  };
}

/** The values no log line may show: signing keys, the QStash token, the alert webhook's secret, API keys. */
export function configSecrets(config: Config): string[] {
  return [
    config.signingKeys.current,
    config.signingKeys.next,
    config.qstash.token,
    ...(config.alerts.webhookSecret ? [config.alerts.webhookSecret] : []),
    ...[...config.apiKeys.read, ...config.apiKeys.operate].map((k) => k.key),
  ];
}
