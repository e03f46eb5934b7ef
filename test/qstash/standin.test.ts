import { Client, QstashError } from '@upstash/qstash';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQStashStandIn, type QStashStandIn } from '../../src/qstash/standin/index.js';
import {
  closedPortUrl,
  CURRENT_SIGNING_KEY,
  header,
  NEXT_SIGNING_KEY,
  type Received,
  type Responder,
  type StandInHarness,
  startStandInHarness,
  TOKEN,
} from '../helpers/standin.js';

let harness: StandInHarness;
let standIn: QStashStandIn;
let qstashUrl: string;
let destinationUrl: string;
let client: Client;
let responders: Map<string, Responder>;
let requestsTo: (pathname: string) => Received[];

async function verify(request: Received | undefined, url: string, body = request?.body ?? ''): Promise<boolean> {
  return harness.receiver.verify({ signature: header(request, 'upstash-signature') ?? '', body, url });
}

async function eventStates(messageId: string): Promise<string[]> {
  const { events } = await client.logs({ filter: { messageId } });
  return events.map((event) => event.state).reverse();
}

beforeAll(async () => {
  harness = await startStandInHarness();
  ({ standIn, qstashUrl, destinationUrl, client, responders, requestsTo } = harness);
});

afterAll(async () => {
  await harness?.close();
});

describe('QStash stand-in', () => {
  it('delivers a publishJSON signed for the exact destination URL, with the QStash headers', async () => {
    const url = `${destinationUrl}/jobs/email?x=1`;
    const { messageId, url: answeredUrl } = await client.publishJSON({
      url,
      body: { hello: 'world' },
      headers: { 'X-Job-Type': 'email' },
    });
    expect(messageId).toMatch(/^msg_\w+/);
    expect(answeredUrl).toBe(url);
    await standIn.idle();

    const [delivery, ...others] = requestsTo('/jobs/email');
    expect(others).toHaveLength(0);
    expect(delivery?.path).toBe('/jobs/email?x=1');
    expect(delivery?.method).toBe('POST');
    expect(delivery?.body).toBe('{"hello":"world"}');
    expect(header(delivery, 'upstash-message-id')).toBe(messageId);
    expect(header(delivery, 'upstash-retried')).toBe('0');
    expect(header(delivery, 'user-agent')).toBe('Upstash-QStash');
    expect(header(delivery, 'content-type')).toBe('application/json');
    expect(header(delivery, 'x-job-type')).toBe('email');
    expect(header(delivery, 'authorization')).toBeUndefined();

    await expect(verify(delivery, url)).resolves.toBe(true);
    await expect(verify(delivery, `${destinationUrl}/jobs/email?x=2`)).rejects.toThrow(/invalid subject/);
    await expect(verify(delivery, `${destinationUrl}/jobs/email`)).rejects.toThrow(/invalid subject/);
    await expect(verify(delivery, url, '{"hello":"World"}')).rejects.toThrow(/body hash does not match/);

    const signature = header(delivery, 'upstash-signature') ?? '';
    const claims = JSON.parse(Buffer.from(signature.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: 'Upstash', sub: url });
    expect(claims.exp).toBe((claims.iat as number) + 300);
    expect(claims.nbf).toBe(claims.iat);
    expect(claims.jti).toMatch(/^jwt_/);

    expect(await eventStates(messageId)).toEqual(['CREATED', 'ACTIVE', 'DELIVERED']);
  });

  it('retries failed deliveries with Upstash-Retried 0, 1, 2 until one succeeds', async () => {
    responders.set('/jobs/flaky', (_, attempt) => (attempt < 3 ? { status: 500, body: 'boom' } : {}));
    const url = `${destinationUrl}/jobs/flaky`;
    const { messageId } = await client.publishJSON({ url, body: { n: 1 }, retries: 3 });
    await standIn.idle();

    const attempts = requestsTo('/jobs/flaky');
    expect(attempts.map((request) => header(request, 'upstash-retried'))).toEqual(['0', '1', '2']);
    expect(attempts.every((request) => header(request, 'upstash-message-id') === messageId)).toBe(true);
    for (const attempt of attempts) await expect(verify(attempt, url)).resolves.toBe(true);
    expect(await eventStates(messageId)).toEqual([
      'CREATED',
      'ACTIVE',
      'ERROR',
      'RETRY',
      'ACTIVE',
      'ERROR',
      'RETRY',
      'ACTIVE',
      'DELIVERED',
    ]);
    await expect(client.dlq.listMessages({ filter: { messageId } })).resolves.toMatchObject({ messages: [] });
  });

  it('scales a Retry-After answer by the retry delay factor', async () => {
    responders.set('/jobs/busy', (_, attempt) => (attempt === 1 ? { status: 503, headers: { 'retry-after': '3000' } } : {}));
    await client.publishJSON({ url: `${destinationUrl}/jobs/busy`, body: {} });
    await standIn.idle();
    const [first, second] = requestsTo('/jobs/busy');
    // 3000 s × 0.0001 = 300 ms, far above the default first backoff (12 s × 0.0001 ≈ 1 ms).
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(250);
  });

  it('moves a message to the DLQ when retries are exhausted, then retries and deletes DLQ entries', async () => {
    let healthy = false;
    responders.set('/jobs/broken', () => (healthy ? {} : { status: 500, body: 'still broken' }));
    const url = `${destinationUrl}/jobs/broken`;
    const { messageId } = await client.publishJSON({ url, body: { id: 7 }, retries: 2, label: 'broken' });
    await standIn.idle();

    expect(requestsTo('/jobs/broken').map((request) => header(request, 'upstash-retried'))).toEqual(['0', '1', '2']);
    expect((await eventStates(messageId)).slice(-2)).toEqual(['ERROR', 'FAILED']);
    await expect(client.messages.get(messageId)).rejects.toMatchObject({ status: 404 });

    const { messages } = await client.dlq.listMessages({ filter: { messageId } });
    expect(messages).toHaveLength(1);
    const [dead] = messages;
    expect(dead).toMatchObject({
      messageId,
      url,
      body: '{"id":7}',
      maxRetries: 2,
      responseStatus: 500,
      responseBody: 'still broken',
      labels: ['broken'],
    });
    expect(dead?.dlqId).toBeTruthy();

    healthy = true;
    const { responses } = await client.dlq.retry([dead?.dlqId ?? '']);
    expect(responses).toHaveLength(1);
    const retriedId = responses[0]?.messageId;
    expect(retriedId).toMatch(/^msg_/);
    expect(retriedId).not.toBe(messageId);
    await standIn.idle();
    const redelivery = requestsTo('/jobs/broken').at(-1);
    expect(header(redelivery, 'upstash-message-id')).toBe(retriedId);
    expect(header(redelivery, 'upstash-retried')).toBe('0');
    expect(header(redelivery, 'content-type')).toBe('application/json');
    expect(redelivery?.body).toBe('{"id":7}');
    await expect(verify(redelivery, url)).resolves.toBe(true);
    await expect(client.dlq.listMessages({ filter: { messageId } })).resolves.toMatchObject({ messages: [] });

    healthy = false;
    const second = await client.publishJSON({ url, body: { id: 8 }, retries: 0 });
    await standIn.idle();
    const [entry] = (await client.dlq.listMessages({ filter: { messageId: second.messageId } })).messages;
    await expect(client.dlq.delete(entry?.dlqId ?? '')).resolves.toEqual({ deleted: 1 });
    await expect(client.dlq.listMessages({ filter: { messageId: second.messageId } })).resolves.toMatchObject({ messages: [] });
    await expect(client.dlq.delete(entry?.dlqId ?? '')).rejects.toMatchObject({ status: 404 });
  });

  it('fails a 489 Upstash-NonRetryable-Error answer at once, into the DLQ', async () => {
    responders.set('/jobs/invalid', () => ({ status: 489, headers: { 'upstash-nonretryable-error': 'true' }, body: 'bad payload' }));
    const { messageId } = await client.publishJSON({ url: `${destinationUrl}/jobs/invalid`, body: {}, retries: 3 });
    await standIn.idle();
    expect(requestsTo('/jobs/invalid')).toHaveLength(1);
    expect(await eventStates(messageId)).toEqual(['CREATED', 'ACTIVE', 'ERROR', 'FAILED']);
    const { messages } = await client.dlq.listMessages({ filter: { messageId } });
    expect(messages[0]).toMatchObject({ responseStatus: 489, responseBody: 'bad payload' });
  });

  it('retries a 489 without the non-retryable header like any failure', async () => {
    responders.set('/jobs/489', (_, attempt) => (attempt === 1 ? { status: 489 } : {}));
    await client.publishJSON({ url: `${destinationUrl}/jobs/489`, body: {} });
    await standIn.idle();
    expect(requestsTo('/jobs/489')).toHaveLength(2);
  });

  it('aborts an attempt after Upstash-Timeout and counts it as failed', async () => {
    responders.set('/jobs/slow', () => ({ hang: true }));
    const started = Date.now();
    const { messageId } = await client.publishJSON({ url: `${destinationUrl}/jobs/slow`, body: {}, timeout: '1s', retries: 0 });
    await standIn.idle();
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(requestsTo('/jobs/slow')).toHaveLength(1);
    const { events } = await client.logs({ filter: { messageId } });
    expect(events[0]).toMatchObject({ state: 'FAILED', error: expect.stringMatching(/timed out/) });
    const { messages } = await client.dlq.listMessages({ filter: { messageId } });
    expect(messages).toHaveLength(1);
  });

  it('holds a delayed message until its delay has passed, and shows it while pending', async () => {
    const published = Date.now();
    const { messageId } = await client.publishJSON({ url: `${destinationUrl}/jobs/later`, body: { later: true }, delay: '1s' });
    const pending = await client.messages.get(messageId);
    expect(pending).toMatchObject({ messageId, url: `${destinationUrl}/jobs/later`, body: '{"later":true}', maxRetries: 3 });
    expect(pending.notBefore).toBeGreaterThanOrEqual(published + 1000);
    expect(requestsTo('/jobs/later')).toHaveLength(0);
    await standIn.idle();
    const [delivery] = requestsTo('/jobs/later');
    expect((delivery?.at ?? 0) - published).toBeGreaterThanOrEqual(950);
  });

  it('cancels a scheduled message: CANCEL_REQUESTED, CANCELLED, no delivery', async () => {
    const { messageId } = await client.publishJSON({ url: `${destinationUrl}/jobs/cancelled`, body: {}, delay: 60 });
    await expect(client.messages.cancel(messageId)).resolves.toEqual({ cancelled: 1 });
    await expect(client.messages.get(messageId)).rejects.toBeInstanceOf(QstashError);
    await expect(client.messages.cancel(messageId)).rejects.toMatchObject({ status: 404 });
    await standIn.idle();
    expect(requestsTo('/jobs/cancelled')).toHaveLength(0);
    expect(await eventStates(messageId)).toEqual(['CREATED', 'CANCEL_REQUESTED', 'CANCELLED']);
  });

  it('cancels a message waiting for a retry', async () => {
    responders.set('/jobs/retry-cancel', () => ({ status: 500, headers: { 'retry-after': '600000' } }));
    const { messageId } = await client.publishJSON({ url: `${destinationUrl}/jobs/retry-cancel`, body: {} });
    await standIn.idle(30_000);
    expect(requestsTo('/jobs/retry-cancel')).toHaveLength(1);
    await client.messages.cancel(messageId);
    await standIn.idle();
    expect(requestsTo('/jobs/retry-cancel')).toHaveLength(1);
    expect((await eventStates(messageId)).slice(-3)).toEqual(['RETRY', 'CANCEL_REQUESTED', 'CANCELLED']);
  });

  it('lets an in-flight attempt finish after a cancel, then stops without retrying', async () => {
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    responders.set('/jobs/in-flight', () => {
      arrived();
      return { status: 500, after: released };
    });
    const { messageId } = await client.publishJSON({ url: `${destinationUrl}/jobs/in-flight`, body: {} });
    await arrival;
    await expect(client.messages.cancel(messageId)).resolves.toEqual({ cancelled: 1 });
    release();
    await standIn.idle();
    expect(requestsTo('/jobs/in-flight')).toHaveLength(1);
    expect(await eventStates(messageId)).toEqual(['CREATED', 'ACTIVE', 'CANCEL_REQUESTED', 'CANCELLED']);
    await expect(client.dlq.listMessages({ filter: { messageId } })).resolves.toMatchObject({ messages: [] });
  });

  it('counts a network error as a failed attempt', async () => {
    const closedUrl = await closedPortUrl();
    const { messageId } = await client.publishJSON({ url: `${closedUrl}/gone`, body: {}, retries: 1 });
    await standIn.idle();
    const { events } = await client.logs({ filter: { messageId } });
    expect(events.map((event) => event.state).reverse()).toEqual(['CREATED', 'ACTIVE', 'ERROR', 'RETRY', 'ACTIVE', 'ERROR', 'FAILED']);
    expect(events[0]?.error).toMatch(/ECONNREFUSED/);
    expect((await client.dlq.listMessages({ filter: { messageId } })).messages).toHaveLength(1);
  });

  it('deduplicates by Upstash-Deduplication-Id and by content', async () => {
    const url = `${destinationUrl}/jobs/dedup`;
    const first = await client.publishJSON({ url, body: { a: 1 }, deduplicationId: 'dedup-1' });
    const second = await client.publishJSON({ url, body: { a: 2 }, deduplicationId: 'dedup-1' });
    expect(second).toEqual({ messageId: first.messageId, url, deduplicated: true });
    const byContent = await client.publishJSON({ url, body: { a: 3 }, contentBasedDeduplication: true });
    const sameContent = await client.publishJSON({ url, body: { a: 3 }, contentBasedDeduplication: true });
    expect(sameContent).toMatchObject({ messageId: byContent.messageId, deduplicated: true });
    const otherContent = await client.publishJSON({ url, body: { a: 4 }, contentBasedDeduplication: true });
    expect(otherContent.messageId).not.toBe(byContent.messageId);
    await standIn.idle();
    expect(requestsTo('/jobs/dedup').map((request) => request.body)).toEqual(['{"a":1}', '{"a":3}', '{"a":4}']);
  });

  it('sends signed callbacks after each attempt and a failure callback once retries are exhausted', async () => {
    responders.set('/jobs/doomed', () => ({ status: 500, body: 'nope' }));
    const url = `${destinationUrl}/jobs/doomed`;
    const callback = `${destinationUrl}/hooks/callback`;
    const failureCallback = `${destinationUrl}/hooks/failure`;
    const { messageId } = await client.publishJSON({
      url,
      body: { job: 'doomed' },
      retries: 1,
      callback,
      failureCallback,
      headers: { 'X-Trace': 't-1' },
    });
    await standIn.idle();

    const callbacks = requestsTo('/hooks/callback');
    expect(callbacks).toHaveLength(2);
    for (const request of callbacks) await expect(verify(request, callback)).resolves.toBe(true);
    const bodies = callbacks.map((request) => JSON.parse(request.body) as Record<string, unknown>);
    expect(bodies.map((body) => body.retried)).toEqual([0, 1]);
    expect(bodies[0]).toMatchObject({
      status: 500,
      body: Buffer.from('nope').toString('base64'),
      maxRetries: 1,
      sourceMessageId: messageId,
      url,
      method: 'POST',
      sourceBody: Buffer.from('{"job":"doomed"}').toString('base64'),
      sourceHeader: { 'X-Trace': ['t-1'], 'Content-Type': ['application/json'] },
    });
    expect(header(callbacks[0], 'content-type')).toBe('application/json');

    const failures = requestsTo('/hooks/failure');
    expect(failures).toHaveLength(1);
    await expect(verify(failures[0], failureCallback)).resolves.toBe(true);
    const failure = JSON.parse(failures[0]?.body ?? '{}') as Record<string, unknown>;
    const [dead] = (await client.dlq.listMessages({ filter: { messageId } })).messages;
    expect(failure).toMatchObject({ status: 500, retried: 1, maxRetries: 1, sourceMessageId: messageId, dlqId: dead?.dlqId });
  });

  it('sends a callback with the answer of a successful delivery', async () => {
    responders.set('/jobs/answer', () => ({ status: 201, body: '{"done":true}' }));
    const callback = `${destinationUrl}/hooks/answer`;
    await client.publishJSON({ url: `${destinationUrl}/jobs/answer`, body: {}, callback });
    await standIn.idle();
    const [request] = requestsTo('/hooks/answer');
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({ status: 201, body: Buffer.from('{"done":true}').toString('base64'), retried: 0 });
  });

  it('publishes a batch with batchJSON', async () => {
    const answers = await client.batchJSON([
      { url: `${destinationUrl}/jobs/batch-a`, body: { a: true }, headers: { 'X-Kind': 'a' } },
      { url: `${destinationUrl}/jobs/batch-b?q=1`, body: { b: true }, delay: 0 },
    ]);
    expect(answers).toHaveLength(2);
    await standIn.idle();
    const [a] = requestsTo('/jobs/batch-a');
    const [b] = requestsTo('/jobs/batch-b');
    expect(header(a, 'upstash-message-id')).toBe(answers[0]?.messageId);
    expect(header(b, 'upstash-message-id')).toBe(answers[1]?.messageId);
    expect(header(a, 'x-kind')).toBe('a');
    expect(header(a, 'content-type')).toBe('application/json');
    expect(b?.body).toBe('{"b":true}');
    await expect(verify(a, `${destinationUrl}/jobs/batch-a`)).resolves.toBe(true);
    await expect(verify(b, `${destinationUrl}/jobs/batch-b?q=1`)).resolves.toBe(true);
  });

  it('delivers with the Upstash-Method and passes a raw body through unchanged', async () => {
    const url = `${destinationUrl}/jobs/put`;
    await client.publish({ url, body: 'plain text ✓', method: 'PUT', headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
    await standIn.idle();
    const [delivery] = requestsTo('/jobs/put');
    expect(delivery?.method).toBe('PUT');
    expect(delivery?.body).toBe('plain text ✓');
    expect(header(delivery, 'content-type')).toBe('text/plain; charset=utf-8');
    await expect(verify(delivery, url)).resolves.toBe(true);
  });

  it('signs a GET delivery over the empty body it sends', async () => {
    const url = `${destinationUrl}/jobs/get?id=3`;
    await client.publishJSON({ url, body: { ignored: true }, method: 'GET' });
    await standIn.idle();
    const [delivery] = requestsTo('/jobs/get');
    expect(delivery?.method).toBe('GET');
    expect(delivery?.body).toBe('');
    await expect(verify(delivery, url)).resolves.toBe(true);
  });

  it('answers 401 for a bad token, 400 for bad input, 404 JSON elsewhere, and serves the keys', async () => {
    const intruder = new Client({ baseUrl: qstashUrl, token: 'wrong', retry: false, enableTelemetry: false });
    await expect(intruder.publishJSON({ url: `${destinationUrl}/jobs/x`, body: {} })).rejects.toMatchObject({ status: 401 });
    await expect(client.publishJSON({ url: 'not-a-url', body: {} })).rejects.toMatchObject({ status: 400 });
    await expect(client.publishJSON({ url: `${destinationUrl}/jobs/x`, body: {}, delay: 'soon' as '1s' })).rejects.toMatchObject({
      status: 400,
      message: expect.stringMatching(/Upstash-Delay/),
    });
    await expect(client.messages.get('msg_unknown')).rejects.toMatchObject({ status: 404 });

    const outside = await fetch(`${qstashUrl}/elsewhere`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(outside.status).toBe(404);
    expect(await outside.json()).toHaveProperty('error');

    const keys = await fetch(`${qstashUrl}/v2/keys`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await keys.json()).toEqual({ current: CURRENT_SIGNING_KEY, next: NEXT_SIGNING_KEY });
    expect(requestsTo('/jobs/x')).toHaveLength(0);
  });

  it('pages the event log newest first', async () => {
    const { messageId } = await client.publishJSON({ url: `${destinationUrl}/jobs/paged`, body: {} });
    await standIn.idle();
    const first = await client.logs({ filter: { messageId }, count: 2 });
    expect(first.events.map((event) => event.state)).toEqual(['DELIVERED', 'ACTIVE']);
    expect(first.cursor).toBeTruthy();
    const rest = await client.logs({ filter: { messageId }, count: 2, cursor: first.cursor });
    expect(rest.events.map((event) => event.state)).toEqual(['CREATED']);
    expect(rest.cursor).toBeUndefined();
    const failed = await client.logs({ filter: { state: 'FAILED' } });
    expect(failed.events.length).toBeGreaterThan(0);
    expect(failed.events.every((event) => event.state === 'FAILED')).toBe(true);
  });
});

describe('QStash stand-in under a base path', () => {
  it('answers below basePath only and refuses publishes once closed', async () => {
    const mounted = createQStashStandIn({ token: TOKEN, currentSigningKey: CURRENT_SIGNING_KEY, nextSigningKey: NEXT_SIGNING_KEY, basePath: '/qstash' });
    const auth = { authorization: `Bearer ${TOKEN}` };
    const keys = await mounted.fetch(new Request('http://local/qstash/v2/keys', { headers: auth }));
    expect(keys.status).toBe(200);
    const unmounted = await mounted.fetch(new Request('http://local/v2/keys', { headers: auth }));
    expect(unmounted.status).toBe(404);
    await mounted.close();
    const afterClose = await mounted.fetch(
      new Request(`http://local/qstash/v2/publish/${destinationUrl}/jobs/closed`, { method: 'POST', headers: auth, body: '{}' }),
    );
    expect(afterClose.status).toBe(503);
    await mounted.idle();
  });
});
