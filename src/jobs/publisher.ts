/** The QStash boundary of the jobs domain: the one place the `@upstash/qstash` Client is made. */
import { Client } from '@upstash/qstash';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { parseRetryAfter } from '../qstash/timing.js';
import { errorMessage } from './errors.js';

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
  processRequest?: (request: unknown) => [string | URL, RequestInit];
  requestWithBackoff?: (request: unknown) => Promise<{ response: Response; error: unknown }>;
  retry?: { attempts: number; backoff: (retryCount: number) => number };
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
 * - Its `requestWithBackoff` prints `[Upstash QStash] POST … failed (attempt 1/3), retrying…` with
 *   console.warn for each call that got no answer (QStash unreachable: refused, reset, DNS), and
 *   `… failed after 3 attempts: fetch failed (cause: connect ECONNREFUSED …)` with console.error
 *   when it gives up. The same loop here (the same fetch, attempts and backoff) sends those lines
 *   to `logger` at debug, structured (`request`, `attempt`, `attempts`, `error`), by the same rule
 *   as a refused call: the error still reaches the caller, which reports it where it matters (the
 *   relay's `publish_retry` warn per job, the reaper's warn, GraphQL's QSTASH_ERROR), so a line at
 *   warn here would say the same thing twice for every job of a round.
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
  const checkResponse = async (response: Response, requestLabel: string) => {
    const error = await getResponseError(response);
    if (!error) return;
    logger?.debug('[qstash] Call refused', { request: requestLabel, status: response.status });
    throw error;
  };
  http.checkResponse = checkResponse;
  const { processRequest, retry } = http;
  if (typeof processRequest !== 'function' || typeof http.requestWithBackoff !== 'function' || !retry) return;
  http.requestWithBackoff = async (request) => {
    const [url, init] = processRequest.call(http, request);
    const label = describeRequest(init.method, url);
    const attempts = retry.attempts + 1;
    let response: Response | undefined;
    let error: unknown;
    for (let index = 0; index < attempts; index++) {
      try {
        response = await fetch(url.toString(), init);
        break;
      } catch (failure) {
        error = failure;
        if (index + 1 < attempts) {
          const backoffMs = retry.backoff(index);
          logger?.debug('[qstash] Call got no answer, retrying', { request: label, attempt: index + 1, attempts, retryInMs: Math.round(backoffMs), error: errorMessage(failure) });
          await new Promise((resolve) => setTimeout(resolve, backoffMs));
        }
      }
    }
    if (!response) {
      const final = error ?? new Error('Exhausted all retries');
      logger?.debug('[qstash] Call got no answer', { request: label, attempts, error: errorMessage(final) });
      throw final;
    }
    await checkResponse(response, label);
    return { response, error };
  };
}

/**
 * `METHOD origin/path` of a call, the destination of a publish cut to its origin (as the SDK's own
 * label does): a destination's path and query may carry what a team would not want in its logs.
 */
function describeRequest(method: string | undefined, target: string | URL): string {
  const url = new URL(target);
  const path = url.pathname.replace(/\/[a-z][\w+.-]*:\/\/.*$/i, (destination) => {
    try {
      const destinationUrl = new URL(destination.slice(1));
      return `/${destinationUrl.origin}${destinationUrl.pathname === '/' ? '' : '/…'}`;
    } catch {
      return '/<destination>';
    }
  });
  return `${method ?? 'GET'} ${url.origin}${path}`;
}

