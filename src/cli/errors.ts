/**
 * The exit status of every `jobscope` command, so scripts can branch on it (README: "The CLI").
 */
export const EXIT = {
  ok: 0,
  /** A health check failed, the system is UNHEALTHY, or the server refused the action (e.g. not retryable). */
  failed: 1,
  /** Bad flags or arguments, or input the server rejected as such. */
  usage: 2,
  notFound: 3,
  /** A missing or unknown API key, or a read key asked to operate. */
  auth: 4,
  /** The server could not be reached or failed. */
  server: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure a command reports in one line (and in `--json`), then exits with `exitCode`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** The server's `extensions.code`, when it gave one. */
    readonly code?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Where each `extensions.code` the API answers with sends the exit status; any other is a server error. */
const BY_CODE: Record<string, ExitCode> = {
  UNAUTHENTICATED: EXIT.auth,
  FORBIDDEN: EXIT.auth,
  JOB_NOT_FOUND: EXIT.notFound,
  BULK_OPERATION_NOT_FOUND: EXIT.notFound,
  DEAD_LETTER_NOT_FOUND: EXIT.notFound,
  SCHEDULE_NOT_FOUND: EXIT.notFound,
  BAD_USER_INPUT: EXIT.usage,
  BAD_REQUEST: EXIT.usage,
  GRAPHQL_VALIDATION_FAILED: EXIT.usage,
  UNKNOWN_JOB_TYPE: EXIT.usage,
  INVALID_PAYLOAD: EXIT.usage,
  BULK_TOO_LARGE: EXIT.usage,
  JOB_NOT_RETRYABLE: EXIT.failed,
  JOB_NOT_CANCELLABLE: EXIT.failed,
};

export function exitCodeOf(code: string | undefined, httpStatus?: number): ExitCode {
  if (code !== undefined && BY_CODE[code] !== undefined) return BY_CODE[code];
  if (httpStatus === 401 || httpStatus === 403) return EXIT.auth;
  return EXIT.server;
}
