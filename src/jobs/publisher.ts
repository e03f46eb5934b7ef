/** The QStash boundary of the jobs domain: the one place the `@upstash/qstash` Client is made. */
import { Client } from '@upstash/qstash';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { parseRetryAfter } from '../qstash/timing.js';

/**
 * The `@upstash/qstash` Client for a configuration: the real QStash (token, optional URL), or the
 * local stand-in that the jobscope server at `serverUrl` (its origin and base path) serves.
 */
export function createQStashClient(
  config: Pick<Config, 'qstash'>,
  serverUrl: () => string,
  { retry = true, logger }: { retry?: boolean; /** Where the SDK's line about a refused call goes (debug), instead of stderr. */ logger?: Logger | undefined } = {},
): Client {
  const { qstash } = config;
  const client = new Client({
    baseUrl: qstash.kind === 'local' ? serverUrl() + qstash.basePath : qstash.url,
    token: qstash.token,
    devMode: false,
    enableTelemetry: false,
    // Bounded, so that a QStash outage is reported to the caller within a second or two. The
    // outbox relay asks for none: it retries itself, with backoff, and counts each attempt.
    retry: retry ? { retries: 2, backoff: (n) => 100 * 2 ** n } : false,
  });
  adaptHttpClient(client, logger);
  return client;
}

/** The wait, in ms, that a refused QStash call's answer asked for (its `Retry-After`), when it named one. */
export function retryAfterMs(error: unknown): number | undefined {
  const wait = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof wait === 'number' && Number.isFinite(wait) ? wait : undefined;
}

/** This Client's own HttpClient: internals of @upstash/qstash 2.12 (`private http` in its types). */
interface SdkHttpClient {
  getResponseError?: (response: Response) => Promise<Error | undefined>;
  checkResponse?: (response: Response, requestLabel: string) => Promise<void>;
}

/**
 * Two changes to this Client's own HttpClient (an internal, `private http` in its types), each
 * skipped should an SDK upgrade rename what it wraps:
 *
 * - @upstash/qstash 2.12 turns a non-2xx answer into a QstashError in `getResponseError(response)`
 *   and keeps only the status and the body: a 503's `Retry-After` is lost, and the Client takes no
 *   `fetch` of the caller's (it calls the global one) nor any other hook on responses. The wrap
 *   notes the header on the error as `retryAfterMs`. Without it the relay falls back to its own
 *   backoff; the outbox test of a 503 with Retry-After then fails.
 * - Its `checkResponse` prints `[Upstash QStash] GET /v2/messages/… failed with status 404` on
 *   stderr for every refused call before throwing, even for answers jobscope expects (a 404 is
 *   how QStash says it no longer holds a message: the reaper asks that on purpose). The error is
 *   thrown as before and its caller decides what to log; the SDK's line goes to `logger` at debug.
 */
function adaptHttpClient(client: Client, logger: Logger | undefined): void {
  const http = (client as unknown as { http?: SdkHttpClient }).http;
  const original = http?.getResponseError;
  if (!http || typeof original !== 'function') return;
  const getResponseError = async (response: Response) => {
    const error = await original.call(http, response);
    const wait = parseRetryAfter(response.headers.get('retry-after'));
    if (error && wait !== undefined) Object.assign(error, { retryAfterMs: wait });
    return error;
  };
  http.getResponseError = getResponseError;
  if (typeof http.checkResponse !== 'function') return;
  http.checkResponse = async (response, requestLabel) => {
    const error = await getResponseError(response);
    if (!error) return;
    logger?.debug('[qstash] Call refused', { request: requestLabel, status: response.status });
    throw error;
  };
}
