/** The QStash boundary of the jobs domain: the one place the `@upstash/qstash` Client is made. */
import { Client } from '@upstash/qstash';
import type { Config } from '../config/index.js';

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
  return new Client({
    baseUrl: qstash.kind === 'local' ? serverUrl() + qstash.basePath : qstash.url,
    token: qstash.token,
    devMode: false,
    enableTelemetry: false,
    // Bounded, so that a QStash outage is reported to the caller within a second or two. The
    // outbox relay asks for none: it retries itself, with backoff, and counts each attempt.
    retry: retry ? { retries: 2, backoff: (n) => 100 * 2 ** n } : false,
  });
}
