import { z } from 'zod';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from './qstash/dev-credentials.js';

/** An empty string in the environment means "unset", as in most deployment tools. */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const url = z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, ''));
const list = z.string().transform((s) =>
  s.split(',').map((k) => k.trim()).filter((k) => k.length > 0),
);

const EnvSchema = z.object({
  NODE_ENV: optional(z.enum(['development', 'production', 'test'])).default('development'),
  PORT: optional(z.coerce.number().int().min(0).max(65535)).default(4000),
  HOST: optional(z.string()).default('0.0.0.0'),
  /** Public URL QStash uses to reach this server; signatures are checked against it. */
  BASE_URL: optional(url),
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')),
  /** Folder of the embedded PGlite database used when DATABASE_URL is unset. */
  PGLITE_DIR: optional(z.string()).default('.data/pglite'),
  QSTASH_URL: optional(url),
  QSTASH_TOKEN: optional(z.string()),
  QSTASH_CURRENT_SIGNING_KEY: optional(z.string()),
  QSTASH_NEXT_SIGNING_KEY: optional(z.string()),
  /** Scales the local stand-in's retry backoff (1 = QStash's real delays). */
  QSTASH_RETRY_DELAY_FACTOR: optional(z.coerce.number().positive()).default(1),
  LOG_LEVEL: optional(z.enum(['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'])).default('info'),
  LOG_FORMAT: optional(z.enum(['pretty', 'json'])),
  /** Folder of the daily log files; "off" disables them. */
  LOG_DIR: optional(z.string()).default('logs'),
  JOBSCOPE_READ_KEYS: optional(list).default([]),
  JOBSCOPE_OPERATE_KEYS: optional(list).default([]),
  /** Seconds between alert checks (failure rate, stuck jobs); 0 disables them. */
  ALERT_INTERVAL_SECONDS: optional(z.coerce.number().min(0)).default(300),
  /** Failure rate over the last hour at or above which an alert is raised. */
  ALERT_FAILURE_RATE: optional(z.coerce.number().gt(0).max(1)).default(0.05),
  /** Minutes in `processing` after which a job counts as stuck. */
  ALERT_STUCK_MINUTES: optional(z.coerce.number().int().positive()).default(10),
  /** Optional URL that receives each alert as a JSON POST (Slack-style webhooks take `text`). */
  ALERT_WEBHOOK_URL: optional(url),
  /** Deepest selection nesting an operation may have (introspection excluded). */
  GRAPHQL_MAX_DEPTH: optional(z.coerce.number().int().positive()).default(10),
  /** Aliases per operation, fragments included. */
  GRAPHQL_MAX_ALIASES: optional(z.coerce.number().int().positive()).default(30),
  /** Lexer tokens per document; bounds parsing work before anything else runs. */
  GRAPHQL_MAX_TOKENS: optional(z.coerce.number().int().positive()).default(3000),
  /** graphql-armor cost (objects 2, scalars 1, ×1.5 per level, × literal `first`/`last`). */
  GRAPHQL_MAX_COST: optional(z.coerce.number().int().positive()).default(200_000),
});

export type Env = z.infer<typeof EnvSchema>;

/** Where jobs are published: the real QStash, or the stand-in served by this process. */
export type QStashMode =
  | { kind: 'remote'; url: string | undefined; token: string }
  | { kind: 'local'; basePath: string; token: string };

export interface Config {
  env: Env['NODE_ENV'];
  port: number;
  host: string;
  /** Explicit BASE_URL, or undefined to derive it from the bound port at start-up. */
  baseUrl: string | undefined;
  database: { kind: 'postgres'; url: string } | { kind: 'pglite'; dataDir: string };
  qstash: QStashMode;
  signingKeys: { current: string; next: string };
  retryDelayFactor: number;
  log: { level: Env['LOG_LEVEL']; format: 'pretty' | 'json'; dir: string | undefined };
  apiKeys: { read: string[]; operate: string[] };
  alerts: { intervalSeconds: number; failureRate: number; stuckMinutes: number; webhookUrl: string | undefined };
  /** Operations over any of these are rejected before they run. */
  graphqlLimits: { maxDepth: number; maxAliases: number; maxTokens: number; maxCost: number };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Local stand-in mount path: one port serves GraphQL, the workers and the stand-in. */
export const LOCAL_QSTASH_PATH = '/qstash';

/**
 * Parses the environment once. Every bad variable is reported in one ConfigError; production
 * refuses the public dev credentials and a missing signing configuration.
 */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`),
    );
  }
  const env = parsed.data;
  const problems: string[] = [];
  const production = env.NODE_ENV === 'production';
  const remote = env.QSTASH_TOKEN !== undefined;

  if (production) {
    if (!remote) problems.push('QSTASH_TOKEN: required in production (the local QStash stand-in is for development only)');
    if (env.QSTASH_TOKEN === DEV_QSTASH_TOKEN) problems.push('QSTASH_TOKEN: the public development token is refused in production');
    for (const name of ['QSTASH_CURRENT_SIGNING_KEY', 'QSTASH_NEXT_SIGNING_KEY'] as const) {
      const value = env[name];
      if (value === undefined) problems.push(`${name}: required in production`);
      else if (value === DEV_CURRENT_SIGNING_KEY || value === DEV_NEXT_SIGNING_KEY) {
        problems.push(`${name}: the public development signing key is refused in production`);
      }
    }
    if (env.BASE_URL === undefined) problems.push('BASE_URL: required in production (QStash must reach the worker endpoints)');
    if (env.JOBSCOPE_READ_KEYS.length + env.JOBSCOPE_OPERATE_KEYS.length === 0) {
      problems.push('JOBSCOPE_READ_KEYS / JOBSCOPE_OPERATE_KEYS: at least one API key is required in production');
    }
  } else if (remote && (env.QSTASH_CURRENT_SIGNING_KEY === undefined || env.QSTASH_NEXT_SIGNING_KEY === undefined)) {
    problems.push('QSTASH_CURRENT_SIGNING_KEY / QSTASH_NEXT_SIGNING_KEY: required when QSTASH_TOKEN is set');
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    env: env.NODE_ENV,
    port: env.PORT,
    host: env.HOST,
    baseUrl: env.BASE_URL,
    database: env.DATABASE_URL
      ? { kind: 'postgres', url: env.DATABASE_URL }
      : { kind: 'pglite', dataDir: env.PGLITE_DIR },
    qstash: remote
      ? { kind: 'remote', url: env.QSTASH_URL, token: env.QSTASH_TOKEN! }
      : { kind: 'local', basePath: LOCAL_QSTASH_PATH, token: DEV_QSTASH_TOKEN },
    signingKeys: {
      current: env.QSTASH_CURRENT_SIGNING_KEY ?? DEV_CURRENT_SIGNING_KEY,
      next: env.QSTASH_NEXT_SIGNING_KEY ?? DEV_NEXT_SIGNING_KEY,
    },
    retryDelayFactor: env.QSTASH_RETRY_DELAY_FACTOR,
    log: {
      level: env.LOG_LEVEL,
      format: env.LOG_FORMAT ?? (production ? 'json' : 'pretty'),
      dir: env.LOG_DIR === 'off' ? undefined : env.LOG_DIR,
    },
    apiKeys: { read: env.JOBSCOPE_READ_KEYS, operate: env.JOBSCOPE_OPERATE_KEYS },
    alerts: {
      intervalSeconds: env.ALERT_INTERVAL_SECONDS,
      failureRate: env.ALERT_FAILURE_RATE,
      stuckMinutes: env.ALERT_STUCK_MINUTES,
      webhookUrl: env.ALERT_WEBHOOK_URL,
    },
    graphqlLimits: {
      maxDepth: env.GRAPHQL_MAX_DEPTH,
      maxAliases: env.GRAPHQL_MAX_ALIASES,
      maxTokens: env.GRAPHQL_MAX_TOKENS,
      maxCost: env.GRAPHQL_MAX_COST,
    },
  };
}
