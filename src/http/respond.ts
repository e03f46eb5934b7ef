import { Response as FetchResponse } from '@whatwg-node/fetch';
import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../db/client.js';

/**
 * A JSON response with the given status and extra headers. Built with whatwg-node's Response,
 * Yoga's own: the node server writes its string body in one call, where a global Response's body
 * is pumped through a ReadableStream (about 4 % of a worker delivery's CPU). Frameworks take it
 * as they take Yoga's answers.
 */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new FetchResponse(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** 503 with Retry-After: the database cannot be reached (the driver's words go to the log only). */
export function databaseUnavailable(body: Record<string, unknown> = {}): Response {
  return json(503, { status: 'error', database: 'unreachable', ...body }, { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) });
}
