/** Reading a publish request (destination, `Upstash-*` headers, body) into a `PublishSpec`. */
import { createHash } from 'node:crypto';
import { compileRetryDelay, parseDuration } from '../timing.js';
import { ApiError } from './api.js';
import { queueName } from './queues.js';
import type { PublishSpec } from './types.js';

const HTTP_METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']);
const DEFAULT_RETRIES = 3;
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

/** Splits request headers into the `Upstash-*` settings (lower-cased names) and the headers to forward. */
export function splitHeaders(headers: Iterable<[string, string]>): { settings: Map<string, string>; forwardHeaders: Array<[string, string]> } {
  const settings = new Map<string, string>();
  const forwardHeaders: Array<[string, string]> = [];
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (key.startsWith('upstash-forward-')) {
      const forwarded = key.slice('upstash-forward-'.length);
      if (forwarded !== '' && !UNFORWARDABLE.has(forwarded)) forwardHeaders.push([forwarded, value]);
    } else {
      settings.set(key, value);
    }
  }
  return { settings, forwardHeaders };
}

/** The delivery settings a publish may set, and what they are when it does not. */
type Settings = Pick<
  PublishSpec,
  | 'method'
  | 'maxRetries'
  | 'retryDelayExpression'
  | 'timeoutMs'
  | 'callback'
  | 'failureCallback'
  | 'notBefore'
  | 'delayed'
  | 'deduplicationId'
  | 'contentBasedDeduplication'
  | 'labels'
  | 'scheduleId'
  | 'queueName'
>;

/**
 * The settings among `Upstash-*` headers (lower-cased names), only those present: a publish fills
 * in the defaults, a DLQ retry keeps the original message's. Throws a 400 `ApiError` naming the
 * first bad header.
 */
export function parseSettings(lower: Map<string, string>, now: number): Partial<Settings> {
  const settings: Partial<Settings> = {};
  const methodHeader = lower.get('upstash-method');
  if (methodHeader !== undefined) {
    const method = methodHeader.trim().toUpperCase();
    if (!HTTP_METHODS.has(method)) throw new ApiError(400, `invalid Upstash-Method header: ${method}`);
    settings.method = method;
  }

  const retriesHeader = lower.get('upstash-retries');
  if (retriesHeader !== undefined) settings.maxRetries = parseNonNegativeInteger('Upstash-Retries', retriesHeader);

  const retryDelayExpression = lower.get('upstash-retry-delay')?.trim() || undefined;
  if (retryDelayExpression !== undefined) {
    try {
      compileRetryDelay(retryDelayExpression)(0);
    } catch (error) {
      throw new ApiError(400, `invalid Upstash-Retry-Delay header: ${retryDelayExpression} (${(error as Error).message})`);
    }
    settings.retryDelayExpression = retryDelayExpression;
  }

  const timeoutHeader = lower.get('upstash-timeout');
  if (timeoutHeader !== undefined) {
    const timeoutMs = parseDuration(timeoutHeader);
    if (timeoutMs === undefined || timeoutMs <= 0) throw new ApiError(400, `invalid Upstash-Timeout header: ${timeoutHeader}`);
    settings.timeoutMs = timeoutMs;
  }

  const notBeforeHeader = lower.get('upstash-not-before');
  const delayHeader = lower.get('upstash-delay');
  if (notBeforeHeader !== undefined) {
    // Upstash-Not-Before (unix seconds) takes precedence over Upstash-Delay.
    settings.notBefore = Math.max(now, parseNonNegativeInteger('Upstash-Not-Before', notBeforeHeader) * 1000);
    settings.delayed = true;
  } else if (delayHeader !== undefined) {
    const delayMs = parseDuration(delayHeader);
    if (delayMs === undefined) throw new ApiError(400, `invalid Upstash-Delay header: ${delayHeader}`);
    settings.notBefore = now + delayMs;
    settings.delayed = true;
  }

  const callback = lower.get('upstash-callback')?.trim() || undefined;
  if (callback !== undefined) {
    if (!isHttpUrl(callback)) throw new ApiError(400, `invalid Upstash-Callback header: ${callback}`);
    settings.callback = callback;
  }
  const failureCallback = lower.get('upstash-failure-callback')?.trim() || undefined;
  if (failureCallback !== undefined) {
    if (!isHttpUrl(failureCallback)) throw new ApiError(400, `invalid Upstash-Failure-Callback header: ${failureCallback}`);
    settings.failureCallback = failureCallback;
  }

  const deduplicationId = lower.get('upstash-deduplication-id')?.trim() || undefined;
  if (deduplicationId !== undefined) settings.deduplicationId = deduplicationId;
  const contentBasedHeader = lower.get('upstash-content-based-deduplication');
  if (contentBasedHeader !== undefined) settings.contentBasedDeduplication = contentBasedHeader.trim().toLowerCase() === 'true';
  const queueHeader = lower.get('upstash-queue-name')?.trim() || undefined;
  if (queueHeader !== undefined) settings.queueName = queueName(queueHeader);
  const labelHeader = lower.get('upstash-label');
  if (labelHeader !== undefined) {
    settings.labels = labelHeader
      .split(',')
      .map((label) => label.trim())
      .filter((label) => label !== '');
  }
  return settings;
}

/** What a publish gets for each setting it does not make. */
function defaultSettings(now: number): Settings {
  return {
    method: 'POST',
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
    scheduleId: undefined,
    queueName: undefined,
  };
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
  const { settings, forwardHeaders } = splitHeaders(headers);
  return { ...defaultSettings(now), ...parseSettings(settings, now), url, contentType: settings.get('content-type'), forwardHeaders, body };
}

/** A plain signed JSON POST to `url` with QStash's defaults (used for callbacks). */
export function jsonPostSpec(url: string, payload: unknown, now: number): PublishSpec {
  return { ...defaultSettings(now), url, contentType: 'application/json', forwardHeaders: [], body: Buffer.from(JSON.stringify(payload)) };
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
