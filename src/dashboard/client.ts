import type { TypedDocumentString } from './gql/graphql.js';

/** The base path the server wrote into the page (empty at the root, `/jobscope` when mounted). */
export const BASE_PATH = document.querySelector('meta[name="jobscope-base"]')?.getAttribute('content') ?? '';
export const GRAPHQL_ENDPOINT = `${BASE_PATH}/graphql`;
/** Whether the server has API keys configured: then the page asks for one before its first request. */
export const KEYS_REQUIRED = document.querySelector('meta[name="jobscope-auth"]')?.getAttribute('content') === 'required';

const KEY_STORAGE = 'jobscope.apiKey';

/** The API key: entered once per browser session, kept in sessionStorage (gone when the tab closes). */
export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY_STORAGE),
  set: (key: string): void => sessionStorage.setItem(KEY_STORAGE, key),
  clear: (): void => sessionStorage.removeItem(KEY_STORAGE),
};

export interface GraphQLErrorShape {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; issues?: { path: (string | number)[]; message: string }[]; field?: string; [key: string]: unknown };
}

/** An answer with no data: its errors (or the HTTP failure) as one exception. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    message: string,
    readonly errors: GraphQLErrorShape[],
    readonly status: number,
  ) {
    super(message);
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
  /** The key is missing or unknown: the page asks for one. */
  get unauthenticated(): boolean {
    return this.status === 401 || this.code === 'UNAUTHENTICATED';
  }
}

const headers = (accept: string): Record<string, string> => {
  const key = apiKey.get();
  return { 'content-type': 'application/json', accept, ...(key ? { authorization: `Bearer ${key}` } : {}) };
};

type Result<R> = { data: R; errors: GraphQLErrorShape[] };

/**
 * Runs a typed document. Partial answers keep their data (a QStash failure fails only the fields
 * that read QStash): `errors` lists what failed; an answer without data throws RequestError.
 */
export async function request<R, V>(document: TypedDocumentString<R, V>, variables: V, signal?: AbortSignal): Promise<Result<R>> {
  const response = await fetch(GRAPHQL_ENDPOINT, {
    method: 'POST',
    headers: headers('application/graphql-response+json, application/json'),
    body: JSON.stringify({ query: document.toString(), variables }),
    ...(signal ? { signal } : {}),
  });
  let body: { data?: R | null; errors?: GraphQLErrorShape[] };
  try {
    body = (await response.json()) as typeof body;
  } catch {
    throw new RequestError(`HTTP ${response.status} ${response.statusText}`, [], response.status);
  }
  const errors = body.errors ?? [];
  if (body.data == null) throw new RequestError(errors.map((e) => e.message).join('; ') || `HTTP ${response.status}`, errors, response.status);
  return { data: body.data, errors };
}

/** Like `request`, for the data alone: any error throws. */
export async function requestData<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<R> {
  const { data, errors } = await request(document, variables);
  if (errors.length > 0) throw new RequestError(errors.map((e) => e.message).join('; '), errors, 200);
  return data;
}

export interface Subscription {
  close(): void;
}

/**
 * A subscription over GraphQL over SSE (distinct connections: one stream per subscription), read
 * with fetch so the `Authorization` header goes with it (EventSource cannot send one). A dropped
 * stream is opened again after `retryMs` unless the server said `complete`.
 */
export function subscribe<R, V>(
  document: TypedDocumentString<R, V>,
  variables: V,
  handlers: { next(data: R): void; error?(error: RequestError): void; complete?(): void; open?(): void },
  options: { retryMs?: number } = {},
): Subscription {
  const controller = new AbortController();
  let closed = false;
  const run = async (): Promise<void> => {
    while (!closed) {
      let completed = false;
      try {
        const response = await fetch(GRAPHQL_ENDPOINT, {
          method: 'POST',
          headers: headers('text/event-stream'),
          body: JSON.stringify({ query: document.toString(), variables }),
          signal: controller.signal,
        });
        if (!response.ok || !response.body || !(response.headers.get('content-type') ?? '').includes('text/event-stream')) {
          const body = (await response.json().catch(() => ({}))) as { errors?: GraphQLErrorShape[] };
          const errors = body.errors ?? [];
          handlers.error?.(new RequestError(errors.map((e) => e.message).join('; ') || `HTTP ${response.status}`, errors, response.status));
          if (response.status === 401 || response.status === 403 || response.status === 400) return;
        } else {
          handlers.open?.();
          const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
          let buffer = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buffer += value;
            let end: number;
            while ((end = buffer.indexOf('\n\n')) >= 0) {
              const block = buffer.slice(0, end);
              buffer = buffer.slice(end + 2);
              const event = /^event: ?(.*)$/m.exec(block)?.[1];
              const data = block
                .split('\n')
                .filter((line) => line.startsWith('data:'))
                .map((line) => line.slice(5).replace(/^ /, ''))
                .join('\n');
              if (event === 'complete') {
                completed = true;
                continue;
              }
              if (event !== 'next' || !data) continue; // keep-alive comments
              const result = JSON.parse(data) as { data?: R | null; errors?: GraphQLErrorShape[] };
              if (result.data) handlers.next(result.data);
              else if (result.errors) handlers.error?.(new RequestError(result.errors.map((e) => e.message).join('; '), result.errors, 200));
            }
          }
        }
      } catch (error) {
        if (closed) return;
        handlers.error?.(new RequestError(error instanceof Error ? error.message : String(error), [], 0));
      }
      if (completed) {
        handlers.complete?.();
        return;
      }
      if (closed) return;
      await new Promise((resolve) => setTimeout(resolve, options.retryMs ?? 2_000));
    }
  };
  void run();
  return {
    close() {
      closed = true;
      controller.abort();
    },
  };
}
