import winston from 'winston';
import DailyRotateFile from 'winston-daily-rotate-file';

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
  return winston.createLogger({ level: options.level ?? 'info', format: base, transports });
}

/** A logger that writes nowhere: for library use and tests that do not read logs. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
