import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';
import Transport from 'winston-transport';

export type Logger = winston.Logger;

const SECRET_KEY = /token|signature|authorization|signing.?key|secret|password|api.?key/i;
const REDACTED = '[redacted]';

function redactValue(value: unknown, secrets: readonly string[], depth: number): unknown {
  if (typeof value === 'string') {
    let out = value;
    for (const secret of secrets) if (secret.length >= 8) out = out.split(secret).join(REDACTED);
    return out;
  }
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = SECRET_KEY.test(key) ? REDACTED : redactValue(v, secrets, depth + 1);
  }
  return out;
}

/**
 * Drops tokens, signing keys, signatures and Authorization headers from every entry: by field
 * name anywhere in the metadata, and by value for the configured secrets wherever they appear.
 */
const redact = winston.format((info, opts) => {
  const secrets = (opts as { secrets?: readonly string[] } | undefined)?.secrets ?? [];
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    info[key] = SECRET_KEY.test(key) ? REDACTED : redactValue(info[key], secrets, 0);
  }
  return info;
});

export interface LoggerOptions {
  level?: string;
  format?: 'pretty' | 'json';
  /** Folder for daily files `application-YYYY-MM-DD.log`; undefined for console only. */
  dir?: string | undefined;
  /** Secret values (tokens, keys) scrubbed from messages and metadata. */
  secrets?: readonly string[];
  /** Suppress the console transport (tests). */
  silent?: boolean;
}

/** The winston root logger; modules take `logger.child({ jobId, jobType })`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const base = winston.format.combine(
    redact({ secrets: options.secrets ?? [] }),
    winston.format.errors({ stack: true }),
    winston.format.timestamp(),
  );
  const pretty = winston.format.combine(
    winston.format.colorize(),
    winston.format.printf(({ level, message, timestamp, stack, ...meta }) => {
      const rest = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta)}` : '';
      return `${String(timestamp)} ${level} ${String(message)}${rest}${stack ? `\n${String(stack)}` : ''}`;
    }),
  );
  const transports: winston.transport[] = [
    new winston.transports.Console({
      silent: options.silent ?? false,
      format: options.format === 'json' ? winston.format.json() : pretty,
    }),
  ];
  if (options.dir !== undefined) {
    transports.push(
      new DailyRotateFile({
        dirname: options.dir,
        filename: 'application-%DATE%.log',
        datePattern: 'YYYY-MM-DD',
        maxFiles: '14d',
        format: winston.format.json(),
      }),
    );
  }
  const logger = winston.createLogger({ level: options.level ?? 'info', format: base, transports });
  secretsOf.set(logger, options.secrets ?? []);
  return logger;
}

/** The secrets each root logger scrubs; children (winston's `Object.create` of their parent) find their root's. */
const secretsOf = new WeakMap<object, readonly string[]>();

function rootSecrets(logger: Logger): readonly string[] {
  for (let at: object | null = logger; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    const secrets = secretsOf.get(at);
    if (secrets) return secrets;
  }
  return [];
}

/** A log line as a capturing logger keeps it: scrubbed like the files. */
export interface CapturedLog {
  level: string;
  message: string;
  fields: Record<string, unknown>;
  at: Date;
}

class CaptureTransport extends Transport {
  readonly entries: CapturedLog[] = [];
  constructor(private readonly forward: Logger) {
    super();
  }
  override log(info: Record<string | symbol, unknown>, next: () => void): void {
    const { level, message, timestamp, ...fields } = info as { level: string; message: unknown; timestamp?: unknown; [key: string]: unknown };
    this.entries.push({ level, message: String(message), fields, at: typeof timestamp === 'string' ? new Date(timestamp) : new Date() });
    this.forward.log({ level, message: String(message), ...fields });
    next();
  }
}

/**
 * A logger that keeps every line it is given (scrubbed of `parent`'s secrets, at every level) and
 * also writes it through `parent`, with `meta` on each: what `testJob` hands a handler.
 */
export function capturingLogger(parent: Logger, meta: Record<string, unknown>): { logger: Logger; entries: CapturedLog[] } {
  const capture = new CaptureTransport(parent);
  const logger = winston.createLogger({
    level: 'debug',
    defaultMeta: meta,
    format: winston.format.combine(redact({ secrets: rootSecrets(parent) }), winston.format.errors({ stack: true }), winston.format.timestamp()),
    transports: [capture],
  });
  return { logger, entries: capture.entries };
}

/** A logger that writes nowhere: for library use and tests that do not read logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
