import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { createClient } from 'graphql-sse';
import { CliError, EXIT, exitCodeOf } from './errors.js';

/** Where the API is and who the CLI is to it: `--url`/JOBSCOPE_URL, `--api-key`/JOBSCOPE_API_KEY. */
export interface Connection {
  url: string;
  apiKey?: string | undefined;
}

interface WireError {
  message: string;
  extensions?: { code?: string; [key: string]: unknown };
}

interface WireResult<T> {
  data?: T | null;
  errors?: WireError[];
}

const headers = (connection: Connection): Record<string, string> =>
  connection.apiKey ? { authorization: `Bearer ${connection.apiKey}` } : {};

/** The first error of a GraphQL answer as a CliError with the exit status its code calls for. */
function toCliError(errors: readonly WireError[], httpStatus?: number): CliError {
  const first = errors[0]!;
  const code = first.extensions?.code;
  return new CliError(exitCodeOf(code, httpStatus), first.message, code);
}

/** Runs one query or mutation; its data, or a CliError. */
export async function request<TResult, TVariables>(
  connection: Connection,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
): Promise<TResult> {
  let response: Response;
  try {
    response = await fetch(connection.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...headers(connection) },
      body: JSON.stringify({ query: print(document), variables }),
    });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new CliError(EXIT.server, `cannot reach ${connection.url}: ${cause}`, undefined, { cause: error });
  }
  const text = await response.text();
  let body: WireResult<TResult>;
  try {
    body = JSON.parse(text) as WireResult<TResult>;
  } catch {
    throw new CliError(exitCodeOf(undefined, response.status), `${connection.url} answered HTTP ${response.status} without GraphQL: ${text.slice(0, 200)}`);
  }
  if (body.errors?.length) throw toCliError(body.errors, response.status);
  if (!body.data) throw new CliError(EXIT.server, `${connection.url} answered HTTP ${response.status} with no data`);
  return body.data;
}

/**
 * A subscription over SSE (graphql-sse, distinct connections: what Yoga serves on the same URL),
 * each event handed to `onData`; resolves when the server completes it or `signal` aborts.
 */
export async function subscribe<TResult, TVariables>(
  connection: Connection,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables,
  onData: (data: TResult) => void | 'stop',
  signal?: AbortSignal,
): Promise<void> {
  const client = createClient({ url: connection.url, headers: headers(connection), retryAttempts: 0 });
  const results = client.iterate<TResult>({ query: print(document), variables: variables as Record<string, unknown> });
  const stop = () => void results.return?.();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    for await (const result of results) {
      if (result.errors?.length) throw toCliError(result.errors as readonly WireError[]);
      if (result.data && onData(result.data) === 'stop') break;
    }
  } catch (error) {
    throw subscriptionError(error, connection.url);
  } finally {
    signal?.removeEventListener('abort', stop);
    client.dispose();
  }
}

/** graphql-sse rejects with the failed Response (a 401), an array of GraphQL errors, or a network error. */
function subscriptionError(error: unknown, url: string): CliError {
  if (error instanceof CliError) return error;
  if (Array.isArray(error)) return toCliError(error as WireError[]);
  const response = (error as { response?: Response }).response;
  if (response) return new CliError(exitCodeOf(undefined, response.status), `${url} refused the subscription: HTTP ${response.status} ${response.statusText}`);
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(EXIT.server, `subscription to ${url} failed: ${message}`, undefined, { cause: error });
}
