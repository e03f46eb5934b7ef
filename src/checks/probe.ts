/**
 * The signed self-probe of a worker endpoint: a POST through the URL QStash would call, signed
 * as QStash signs (with the current signing key), carrying a probe body the worker recognises
 * after verifying it and answers without running or recording a job. It proves the whole path
 * from outside in: BASE_URL, routing, the signing keys and the URL the signature covers.
 */
import { randomUUID } from 'node:crypto';
import { signDelivery } from '../qstash/signing.js';

/** The body of a probe: `{ "jobscopeProbe": "<nonce>" }`. */
export const PROBE_FIELD = 'jobscopeProbe';
const PROBE_TIMEOUT_MS = 5_000;

/** The probe's nonce when a verified delivery body is a probe, else undefined. */
export function probeNonce(body: string): string | undefined {
  if (!body.startsWith(`{"${PROBE_FIELD}":`)) return undefined;
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const nonce = parsed[PROBE_FIELD];
    return typeof nonce === 'string' && Object.keys(parsed).length === 1 ? nonce : undefined;
  } catch {
    return undefined;
  }
}

export async function probeEndpoint(
  url: string,
  signingKey: string,
): Promise<{ ok: boolean; ms: number; status?: number; body?: string; error?: string }> {
  const nonce = randomUUID();
  const body = JSON.stringify({ [PROBE_FIELD]: nonce });
  const started = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'upstash-signature': signDelivery({ signingKey, url, body: Buffer.from(body) }),
        'upstash-message-id': `probe_${nonce}`,
        'upstash-retried': '0',
      },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    const text = (await response.text()).slice(0, 200);
    const ms = performance.now() - started;
    let answered: unknown;
    try {
      answered = (JSON.parse(text) as Record<string, unknown>)[PROBE_FIELD];
    } catch {
      answered = undefined;
    }
    return response.status === 200 && answered === nonce ? { ok: true, ms } : { ok: false, ms, status: response.status, body: text };
  } catch (error) {
    const cause = (error as { cause?: { message?: string } }).cause?.message;
    return { ok: false, ms: performance.now() - started, error: cause ?? (error instanceof Error ? error.message : String(error)) };
  }
}
