import { randomUUID } from 'node:crypto';
import { DEV_CURRENT_SIGNING_KEY } from '../../src/qstash/dev-credentials.js';
import { signDelivery } from '../../src/qstash/signing.js';

/** A correctly signed delivery of `body` to the send-email worker, as QStash would make it. */
export async function deliverSigned(baseUrl: string, body: string, messageId = `msg_${randomUUID()}`) {
  const path = '/api/jobs/email';
  const signature = signDelivery({ signingKey: DEV_CURRENT_SIGNING_KEY, url: baseUrl + path, body: Buffer.from(body) });
  const res = await fetch(baseUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'upstash-signature': signature, 'upstash-message-id': messageId, 'upstash-retried': '0' },
    body,
  });
  return { res, messageId, json: (await res.json()) as { jobId?: string; error?: string; issues?: { path: unknown[]; message: string }[] } };
}

