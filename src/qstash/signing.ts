import { createHash, createHmac, randomBytes } from 'node:crypto';

/** How long a delivery signature stays valid, in seconds (QStash uses five minutes). */
export const SIGNATURE_TTL_SECONDS = 300;

const ID_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789';

/** A random base58-style identifier of `length` characters, e.g. for `msg_…` ids. */
export function randomId(length = 26): string {
  const bytes = randomBytes(length);
  let id = '';
  for (const byte of bytes) id += ID_ALPHABET[byte % ID_ALPHABET.length];
  return id;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * base64url(SHA-256(body)), keeping the `=` padding as QStash's own signatures do;
 * `Receiver` strips padding on both sides before comparing.
 */
export function bodyHash(body: Uint8Array): string {
  const hash = createHash('sha256').update(body).digest('base64');
  return hash.replaceAll('+', '-').replaceAll('/', '_');
}

/** Claims of a QStash delivery signature. */
export interface SignatureClaims {
  iss: 'Upstash';
  sub: string;
  exp: number;
  nbf: number;
  iat: number;
  jti: string;
  body: string;
}

/**
 * Signs one delivery the way QStash does: an HS256 JWT whose HMAC secret is the UTF-8 bytes of
 * the whole signing key (`sig_` prefix included), `sub` the destination URL exactly as published
 * and `body` the hash of the raw body bytes.
 */
export function signDelivery(options: {
  signingKey: string;
  url: string;
  body: Uint8Array;
  now?: number;
}): string {
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  const claims: SignatureClaims = {
    iss: 'Upstash',
    sub: options.url,
    exp: issuedAt + SIGNATURE_TTL_SECONDS,
    nbf: issuedAt,
    iat: issuedAt,
    jti: `jwt_${randomId(22)}`,
    body: bodyHash(options.body),
  };
  const signingInput = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(claims))}`;
  const signature = createHmac('sha256', Buffer.from(options.signingKey, 'utf8')).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
