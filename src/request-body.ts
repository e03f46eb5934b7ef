/** Reading a fetch Request body within a size limit: the worker endpoints and GraphQL both limit theirs. */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * A request body read up to `maxBytes`, or undefined past it. Past it the stream is left unread
 * rather than cancelled: cancelling destroys the socket before the 413 is sent, and the server
 * discards the unread rest after answering.
 */
export async function readLimited(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Buffer<ArrayBuffer> | undefined> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      size += next.value.byteLength;
      if (size > maxBytes) return undefined;
      chunks.push(next.value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks);
}

/**
 * What a request's Content-Length says about `maxBytes`: 'within' or 'tooLarge' (an HTTP server
 * never hands on more bytes than it declares, so a declared length needs no counting),
 * 'badLength' for a malformed header, 'undeclared' without one (a chunked body: count it).
 */
export function declaredLength(request: Request, maxBytes: number): 'within' | 'tooLarge' | 'badLength' | 'undeclared' {
  const declared = request.headers.get('content-length');
  if (declared === null) return 'undeclared';
  if (!/^\d+$/.test(declared)) return 'badLength';
  return Number(declared) > maxBytes ? 'tooLarge' : 'within';
}

/**
 * Whether a request's body is within `maxBytes`, by {@link declaredLength} where declared, else by
 * reading it. The text when it is, 'tooLarge' or 'badLength' otherwise.
 */
export async function limitedText(request: Request, maxBytes: number): Promise<string | 'tooLarge' | 'badLength'> {
  const declared = declaredLength(request, maxBytes);
  if (declared === 'within') return request.text();
  if (declared !== 'undeclared') return declared;
  if (!request.body) return '';
  const bytes = await readLimited(request.body, maxBytes);
  return bytes === undefined ? 'tooLarge' : bytes.toString('utf8');
}

/**
 * Reads a node request's whole body (its length already checked by the caller) and hands it to
 * `onBody`; a request that fails mid-body destroys the response.
 */
export function readNodeBody(req: IncomingMessage, res: ServerResponse, onBody: (body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    chunks.push(chunk);
  });
  req.once('error', () => res.destroy());
  req.once('end', () => onBody(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
}
