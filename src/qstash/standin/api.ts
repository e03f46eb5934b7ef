/** HTTP plumbing of the stand-in's API: errors, JSON answers, bodies, raw paths. */

const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** An API answer other than 2xx, surfaced as `{ "error": message }`. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function json(status: number, data: unknown): Response {
  return new Response(JSON.stringify(data), { status, headers: { 'content-type': 'application/json' } });
}

/** The raw path and query of a request URL, untouched by URL normalisation. */
export function rawPathAndQuery(requestUrl: string): string {
  const schemeEnd = requestUrl.indexOf('//');
  const pathStart = requestUrl.indexOf('/', schemeEnd < 0 ? 0 : schemeEnd + 2);
  if (pathStart < 0) return '/';
  const hash = requestUrl.indexOf('#', pathStart);
  return requestUrl.slice(pathStart, hash < 0 ? undefined : hash);
}

export async function readBody(request: Request): Promise<Uint8Array<ArrayBuffer>> {
  const body = new Uint8Array(await request.arrayBuffer());
  if (body.byteLength > MAX_BODY_BYTES) throw new ApiError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
  return body;
}

export async function readJson(request: Request): Promise<unknown> {
  const text = Buffer.from(await readBody(request)).toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'request body is not valid JSON');
  }
}

/** `{ ...data, cursor }` only when there is a next page, as the real API answers. */
export function withCursor(data: Record<string, unknown>, cursor: string | undefined): Record<string, unknown> {
  return cursor === undefined ? data : { ...data, cursor };
}

/** What a route reads of its request: routes.ts adds the stand-in's stores (RouteContext). */
export interface RequestContext {
  request: Request;
  method: string;
  rawPath: string;
  /** The raw path and query after `/v2/{resource}/`, undecoded (a schedule's destination). */
  tail: string;
  id: string | undefined;
  extra: string | undefined;
  query: URLSearchParams;
  /** Throws the 405 for a method the resource does not serve. */
  notAllowed(): never;
}
