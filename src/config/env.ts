/**
 * Environment variables as option paths. A variable only turns its text into the option's type
 * (number, list, `off`); the option's constraints live in options.ts alone. Variables override
 * what a config file says, so deployment parameters (ports, URLs, keys) stay in the environment.
 */

type Coercion = 'string' | 'number' | 'boolean' | 'list' | 'logDir';

interface EnvOption {
  path: readonly string[];
  as: Coercion;
}

const v = (as: Coercion, ...path: string[]): EnvOption => ({ path, as });

export const ENV_OPTIONS = {
  NODE_ENV: v('string', 'env'),
  // After NODE_ENV, so it wins: frameworks set NODE_ENV=production for their own reasons (`next
  // start` always does), and jobscope's production rules then ask for QStash credentials.
  JOBSCOPE_ENV: v('string', 'env'),
  PORT: v('number', 'port'),
  HOST: v('string', 'host'),
  BASE_URL: v('string', 'baseUrl'),
  JOBSCOPE_BASE_PATH: v('string', 'basePath'),
  DATABASE_URL: v('string', 'database', 'url'),
  PGLITE_DIR: v('string', 'database', 'pgliteDir'),
  JOBSCOPE_DB_SCHEMA: v('string', 'database', 'schema'),
  QSTASH_URL: v('string', 'qstash', 'url'),
  QSTASH_TOKEN: v('string', 'qstash', 'token'),
  QSTASH_CURRENT_SIGNING_KEY: v('string', 'qstash', 'currentSigningKey'),
  QSTASH_NEXT_SIGNING_KEY: v('string', 'qstash', 'nextSigningKey'),
  QSTASH_RETRY_DELAY_FACTOR: v('number', 'qstash', 'retryDelayFactor'),
  QSTASH_SCHEDULE_TIME_SCALE: v('number', 'qstash', 'scheduleTimeScale'),
  JOBSCOPE_PUBLISH_DEADLINE_SECONDS: v('number', 'publish', 'deadlineSeconds'),
  JOBSCOPE_PUBLISH_RETRY_BASE_MS: v('number', 'publish', 'retryBaseMs'),
  JOBSCOPE_PUBLISH_BATCH_SIZE: v('number', 'publish', 'batchSize'),
  JOBSCOPE_PUBLISH_LEASE_SECONDS: v('number', 'publish', 'leaseSeconds'),
  JOBSCOPE_PUBLISH_POLL_MS: v('number', 'publish', 'pollIntervalMs'),
  JOBSCOPE_QUEUES: v('boolean', 'queues', 'enabled'),
  JOBSCOPE_QUEUE_PARALLELISM: v('number', 'queues', 'parallelism'),
  JOBSCOPE_QUEUE_PREFIX: v('string', 'queues', 'prefix'),
  JOBSCOPE_READ_KEYS: v('list', 'apiKeys', 'read'),
  JOBSCOPE_OPERATE_KEYS: v('list', 'apiKeys', 'operate'),
  LOG_LEVEL: v('string', 'log', 'level'),
  LOG_FORMAT: v('string', 'log', 'format'),
  LOG_DIR: v('logDir', 'log', 'dir'),
  ALERT_INTERVAL_SECONDS: v('number', 'alerts', 'intervalSeconds'),
  ALERT_WEBHOOK_URL: v('string', 'alerts', 'webhookUrl'),
  ALERT_WEBHOOK_SECRET: v('string', 'alerts', 'webhookSecret'),
  ALERT_COOLDOWN_MINUTES: v('number', 'alerts', 'cooldownMinutes'),
  JOBSCOPE_HEARTBEAT_SECONDS: v('number', 'heartbeat', 'intervalSeconds'),
  JOBSCOPE_HEARTBEAT_MISSES: v('number', 'heartbeat', 'misses'),
  JOBSCOPE_REAPER_INTERVAL_SECONDS: v('number', 'reaper', 'intervalSeconds'),
  JOBSCOPE_REAPER_UNDELIVERED_AFTER_SECONDS: v('number', 'reaper', 'undeliveredAfterSeconds'),
  JOBSCOPE_BULK_RATE_PER_SECOND: v('number', 'bulk', 'ratePerSecond'),
  JOBSCOPE_BULK_MAX_JOBS: v('number', 'bulk', 'maxJobs'),
  ALERT_STUCK_MINUTES: v('number', 'policy', 'stuckAfterMinutes'),
  HEALTH_WINDOW_MINUTES: v('number', 'policy', 'healthWindowMinutes'),
  ALERT_FAILURE_RATE: v('number', 'policy', 'failureRateThreshold'),
  JOBSCOPE_RETENTION_DAYS: v('number', 'policy', 'retentionDays'),
  JOBSCOPE_KEEPALIVE_SECONDS: v('number', 'events', 'keepAliveSeconds'),
  JOBSCOPE_EVENT_LOG_RETENTION_MINUTES: v('number', 'events', 'logRetentionMinutes'),
  GRAPHQL_MAX_DEPTH: v('number', 'graphql', 'maxDepth'),
  GRAPHQL_MAX_ALIASES: v('number', 'graphql', 'maxAliases'),
  GRAPHQL_MAX_TOKENS: v('number', 'graphql', 'maxTokens'),
  GRAPHQL_MAX_COST: v('number', 'graphql', 'maxCost'),
  GRAPHQL_SUBSCRIPTION_BUFFER_KIB: v('number', 'graphql', 'subscriptionBufferKiB'),
  GRAPHQL_MAX_BODY_KIB: v('number', 'graphql', 'maxBodyKiB'),
  HTTP_MAX_CONCURRENT_REQUESTS: v('number', 'http', 'maxConcurrentRequests'),
  HTTP_MAX_CONCURRENT_LARGE_BODIES: v('number', 'http', 'maxConcurrentLargeBodies'),
  HTTP_HEADERS_TIMEOUT_SECONDS: v('number', 'http', 'headersTimeoutSeconds'),
  HTTP_REQUEST_TIMEOUT_SECONDS: v('number', 'http', 'requestTimeoutSeconds'),
  WORKER_MAX_BODY_KIB: v('number', 'http', 'workerMaxBodyKiB'),
} as const satisfies Record<string, EnvOption>;

export type EnvName = keyof typeof ENV_OPTIONS;

/**
 * `API keys`, `name:key` entries: a name of letters, digits, `.`, `_` or `-` before the first
 * colon names the key (`grafana:3f9a…`); anything else is a bare key.
 */
function parseKey(entry: string): string | { name: string; key: string } {
  const match = /^([A-Za-z][\w.-]{0,99}):(.+)$/.exec(entry);
  return match ? { name: match[1]!, key: match[2]! } : entry;
}

function coerce(text: string, as: Coercion): unknown {
  switch (as) {
    case 'string':
      return text.trim();
    case 'number':
      // Non-numbers reach the option's schema as text, which names the variable and the expected type.
      return text.trim() !== '' && Number.isFinite(Number(text)) ? Number(text) : text;
    case 'boolean': {
      // on/off, true/false, 1/0; anything else reaches the schema as text, which names the variable.
      const word = text.trim().toLowerCase();
      return ['on', 'true', '1'].includes(word) ? true : ['off', 'false', '0'].includes(word) ? false : text;
    }
    case 'list':
      return text
        .split(',')
        .map((k) => k.trim())
        .filter((k) => k.length > 0)
        .map(parseKey);
    case 'logDir':
      return text.trim() === 'off' ? false : text.trim();
  }
}

/** The options the environment sets, and which variable set each option path. */
export interface EnvOptions {
  /** Nested as in a config file. */
  options: Record<string, unknown>;
  /** `database.url` → `DATABASE_URL`: the variable that gave each path its value. */
  sources: Map<string, EnvName>;
}

/**
 * The options the environment sets. An empty value means unset, as in most deployment tools; of
 * two variables for one option, the later in ENV_OPTIONS wins.
 */
export function optionsFromEnv(env: Readonly<Record<string, string | undefined>>): EnvOptions {
  const options: Record<string, unknown> = {};
  const sources = new Map<string, EnvName>();
  for (const [name, option] of Object.entries(ENV_OPTIONS) as [EnvName, EnvOption][]) {
    const text = env[name];
    if (text === undefined || text.trim() === '') continue;
    setPath(options, option.path, coerce(text, option.as));
    sources.set(option.path.join('.'), name);
  }
  return { options, sources };
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}

/** `override` laid over `base`, object by object; arrays and values are replaced whole. */
export function mergeOptions(base: unknown, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = isPlainObject(base) ? { ...base } : {};
  for (const [key, value] of Object.entries(override)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? mergeOptions(out[key], value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
