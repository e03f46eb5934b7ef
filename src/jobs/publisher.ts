/** The QStash boundary of the jobs domain: the one place the `@upstash/qstash` Client is made. */
import { Client } from '@upstash/qstash';
import type { Config } from '../config/index.js';
import { parseRetryAfter } from '../qstash/timing.js';

/**
 * The `@upstash/qstash` Client for a configuration: the real QStash (token, optional URL), or the
 * local stand-in that the jobscope server at `serverUrl` (its origin and base path) serves.
 */
export function createQStashClient(
  config: Pick<Config, 'qstash'>,
  serverUrl: () => string,
  { retry = true }: { retry?: boolean } = {},
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
  keepRetryAfter(client);
  return client;
}

/** The wait, in ms, that a refused QStash call's answer asked for (its `Retry-After`), when it named one. */
export function retryAfterMs(error: unknown): number | undefined {
  const wait = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof wait === 'number' && Number.isFinite(wait) ? wait : undefined;
}

/**
 * @upstash/qstash 2.12 turns a non-2xx answer into a QstashError in its HttpClient's
 * `getResponseError(response)` and keeps only the status and the body: a 503's `Retry-After` is
 * lost, and the Client takes no `fetch` of the caller's (it calls the global one) nor any other
 * hook on responses. This wraps that one method of this Client's own HttpClient (an internal,
 * `private http` in its types) to note the header on the error as `retryAfterMs`. Should an SDK
 * upgrade rename it, the wrap is skipped and the relay falls back to its own backoff; the outbox
 * test of a 503 with Retry-After then fails.
 */
function keepRetryAfter(client: Client): void {
  const http = (client as unknown as { http?: { getResponseError?: (response: Response) => Promise<Error | undefined> } }).http;
  const original = http?.getResponseError;
  if (!http || typeof original !== 'function') return;
  http.getResponseError = async (response) => {
    const error = await original.call(http, response);
    const wait = parseRetryAfter(response.headers.get('retry-after'));
    if (error && wait !== undefined) Object.assign(error, { retryAfterMs: wait });
    return error;
  };
}
