import { randomUUID } from 'node:crypto';
import { randomId, signDelivery } from './src/qstash/signing.js';
const url = 'http://127.0.0.1:4556/api/jobs/email';
const jobId = randomUUID();
const body = JSON.stringify({ jobId, type: 'send-email', payload: { to: 'bench@example.com', subject: 'bench', text: 'hello' }, metadata: { createdAt: new Date().toISOString() } });
const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json', 'upstash-signature': signDelivery({ signingKey: 'sig_bench_deliveries_current_key', url, body: Buffer.from(body) }), 'upstash-message-id': `msg_${randomId()}`, 'upstash-retried': '0' } });
console.log(res.status, await res.text());
