import { UNAVAILABLE_RETRY_AFTER_SECONDS } from '../db/client.js';

/** A JSON response with the given status and extra headers. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** 503 with Retry-After: the database cannot be reached (the driver's words go to the log only). */
export function databaseUnavailable(body: Record<string, unknown> = {}): Response {
  return json(503, { status: 'error', database: 'unreachable', ...body }, { 'Retry-After': String(UNAVAILABLE_RETRY_AFTER_SECONDS) });
}
