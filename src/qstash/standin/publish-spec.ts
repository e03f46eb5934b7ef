/** Reading a publish request (destination, `Upstash-*` headers, body) into a `PublishSpec`. */
import { createHash } from 'node:crypto';
import { compileRetryDelay, parseDuration } from '../timing.js';
import { ApiError } from './api.js';
import type { PublishSpec } from './types.js';

const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
export const DEFAULT_RETRIES = 3;
/** Headers a destination request may not carry even when the publisher asks to forward them. */
const UNFORWARDABLE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'host',
  'content-length',
  'proxy-connection',
  'expect',
]);

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Takes the raw text after `/v2/publish/` as the destination (the Client does not encode it). */
function normaliseDestination(raw: string): string {
  let destination = raw;
  if (/^https?%3A/i.test(destination)) {
    try {
      destination = decodeURIComponent(destination);
    } catch {
      throw new ApiError(400, `invalid destination: ${raw}`);
    }
  }
  // Some proxies collapse `//` in paths; QStash destinations always carry a scheme and host.
  return destination.replace(/^(https?):\/(?!\/)/i, '$1://');
}

function parseNonNegativeInteger(name: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new ApiError(400, `invalid ${name} header: ${value}`);
  return Number(value.trim());
}

/**
 * Validates a publish (destination, headers, body) into a `PublishSpec`; throws a 400
 * `ApiError` naming the first bad header.
 */
export function parsePublish(rawDestination: string, headers: Iterable<[string, string]>, body: Uint8Array<ArrayBuffer>, now: number): PublishSpec {
  const url = normaliseDestination(rawDestination);
  if (!isHttpUrl(url)) {
    throw new ApiError(400, `invalid destination: "${rawDestination}" (the stand-in only delivers to http(s) URLs; URL groups and APIs are not supported)`);
  }
  const lower = new Map<string, string>();
  const forwardHeaders: Array<[string, string]> = [];
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (key.startsWith('upstash-forward-')) {
      const forwarded = key.slice('upstash-forward-'.length);
      if (forwarded !== '' && !UNFORWARDABLE.has(forwarded)) forwardHeaders.push([forwarded, value]);
    } else {
      lower.set(key, value);
    }
  }

  const method = (lower.get('upstash-method') ?? 'POST').trim().toUpperCase();
  if (!HTTP_METHODS.has(method)) throw new ApiError(400, `invalid Upstash-Method header: ${method}`);

  const retriesHeader = lower.get('upstash-retries');
  const maxRetries = retriesHeader === undefined ? DEFAULT_RETRIES : parseNonNegativeInteger('Upstash-Retries', retriesHeader);

  const retryDelayExpression = lower.get('upstash-retry-delay')?.trim() || undefined;
  if (retryDelayExpression !== undefined) {
    try {
      compileRetryDelay(retryDelayExpression)(0);
    } catch (error) {
      throw new ApiError(400, `invalid Upstash-Retry-Delay header: ${retryDelayExpression} (${(error as Error).message})`);
    }
  }

  let timeoutMs: number | undefined;
  const timeoutHeader = lower.get('upstash-timeout');
  if (timeoutHeader !== undefined) {
    timeoutMs = parseDuration(timeoutHeader);
    if (timeoutMs === undefined || timeoutMs <= 0) throw new ApiError(400, `invalid Upstash-Timeout header: ${timeoutHeader}`);
  }

  let notBefore = now;
  let delayed = false;
  const notBeforeHeader = lower.get('upstash-not-before');
  const delayHeader = lower.get('upstash-delay');
  if (notBeforeHeader !== undefined) {
    // Upstash-Not-Before (unix seconds) takes precedence over Upstash-Delay.
    notBefore = Math.max(now, parseNonNegativeInteger('Upstash-Not-Before', notBeforeHeader) * 1000);
    delayed = true;
  } else if (delayHeader !== undefined) {
    const delayMs = parseDuration(delayHeader);
    if (delayMs === undefined) throw new ApiError(400, `invalid Upstash-Delay header: ${delayHeader}`);
    notBefore = now + delayMs;
    delayed = true;
  }

  const callback = lower.get('upstash-callback')?.trim() || undefined;
  if (callback !== undefined && !isHttpUrl(callback)) throw new ApiError(400, `invalid Upstash-Callback header: ${callback}`);
  const failureCallback = lower.get('upstash-failure-callback')?.trim() || undefined;
  if (failureCallback !== undefined && !isHttpUrl(failureCallback)) {
    throw new ApiError(400, `invalid Upstash-Failure-Callback header: ${failureCallback}`);
  }

  const contentBasedHeader = lower.get('upstash-content-based-deduplication');
  const labels = (lower.get('upstash-label') ?? '')
    .split(',')
    .map((label) => label.trim())
    .filter((label) => label !== '');

  return {
    url,
    method,
    contentType: lower.get('content-type'),
    forwardHeaders,
    body,
    maxRetries,
    retryDelayExpression,
    timeoutMs,
    callback,
    failureCallback,
    notBefore,
    delayed,
    deduplicationId: lower.get('upstash-deduplication-id')?.trim() || undefined,
    contentBasedDeduplication: contentBasedHeader?.trim().toLowerCase() === 'true',
    labels,
  };
}

/** A plain signed JSON POST to `url` with QStash's defaults (used for callbacks). */
export function jsonPostSpec(url: string, payload: unknown, now: number): PublishSpec {
  return {
    url,
    method: 'POST',
    contentType: 'application/json',
    forwardHeaders: [],
    body: Buffer.from(JSON.stringify(payload)),
    maxRetries: DEFAULT_RETRIES,
    retryDelayExpression: undefined,
    timeoutMs: undefined,
    callback: undefined,
    failureCallback: undefined,
    notBefore: now,
    delayed: false,
    deduplicationId: undefined,
    contentBasedDeduplication: false,
    labels: [],
  };
}

/** The key two publishes share when the second one is a duplicate; `undefined` when not deduplicated. */
export function deduplicationKey(spec: PublishSpec): string | undefined {
  if (spec.deduplicationId !== undefined) return `id:${spec.deduplicationId}`;
  if (!spec.contentBasedDeduplication) return undefined;
  const hash = createHash('sha256');
  hash.update(JSON.stringify([spec.url, spec.method, spec.contentType ?? '', [...spec.forwardHeaders].sort()]));
  hash.update(spec.body);
  return `content:${hash.digest('hex')}`;
}
