/** How messages, headers and bodies are written in the API's JSON answers. */
import type { LiveMessage, Outcome, PublishSpec } from './types.js';

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `{ body }` when the bytes are valid UTF-8, else `{ bodyBase64 }`, as the message API answers. */
export function bodyFields(bytes: Uint8Array, prefix: 'body' | 'responseBody'): Record<string, string> {
  try {
    return { [prefix]: strictUtf8.decode(bytes) };
  } catch {
    return { [`${prefix}Base64`]: toBase64(bytes) };
  }
}

function canonicalHeaderName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());
}

export function headersToRecord(entries: Iterable<[string, string]>): Record<string, string[]> {
  const record: Record<string, string[]> = {};
  for (const [name, value] of entries) {
    const key = canonicalHeaderName(name.toLowerCase());
    (record[key] ??= []).push(value);
  }
  return record;
}

export function messageHeaderRecord(spec: PublishSpec): Record<string, string[]> {
  const entries: Array<[string, string]> = [...spec.forwardHeaders];
  if (spec.contentType !== undefined) entries.push(['content-type', spec.contentType]);
  return headersToRecord(entries);
}

/** The message as `GET /v2/messages/{id}` and the DLQ describe it. */
export function messagePayload(message: LiveMessage): Record<string, unknown> {
  const { spec } = message;
  return {
    messageId: message.id,
    url: spec.url,
    method: spec.method,
    header: messageHeaderRecord(spec),
    ...bodyFields(spec.body, 'body'),
    maxRetries: spec.maxRetries,
    ...(spec.retryDelayExpression === undefined ? {} : { retryDelayExpression: spec.retryDelayExpression }),
    notBefore: spec.notBefore,
    createdAt: message.createdAt,
    ...(spec.callback === undefined ? {} : { callback: spec.callback }),
    ...(spec.failureCallback === undefined ? {} : { failureCallback: spec.failureCallback }),
    ...(spec.labels.length === 0 ? {} : { label: spec.labels[0], labels: spec.labels }),
    ...(spec.scheduleId === undefined ? {} : { scheduleId: spec.scheduleId }),
    ...(spec.queueName === undefined ? {} : { queueName: spec.queueName }),
  };
}

/** An attempt's outcome as the event log and the DLQ write it. */
export function outcomeFields(outcome: Outcome): Record<string, unknown> {
  if (outcome.kind === 'error') return { error: outcome.error };
  return {
    responseStatus: outcome.status,
    responseHeader: headersToRecord(outcome.headers),
    ...bodyFields(outcome.body, 'responseBody'),
  };
}
