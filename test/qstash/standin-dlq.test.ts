/** The stand-in's dead-letter queue through the real Client: paging, filters, get, bulk delete and retry. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { header, type StandInHarness, startStandInHarness } from '../helpers/standin.js';

let harness: StandInHarness;

beforeAll(async () => {
  harness = await startStandInHarness();
});

afterAll(async () => {
  await harness?.close();
});

/** Publishes `count` messages to `path` that fail at once (no retries), and waits for them to land in the DLQ. */
async function deadLetters(path: string, count: number, label: string): Promise<string[]> {
  harness.responders.set(path, () => ({ status: 503, headers: { 'x-failure': 'overloaded' }, body: `down at ${path}` }));
  const ids: string[] = [];
  for (let index = 0; index < count; index++) {
    const { messageId } = await harness.client.publishJSON({ url: `${harness.destinationUrl}${path}`, body: { index }, retries: 0, label });
    ids.push(messageId);
  }
  await harness.standIn.idle();
  return ids;
}

describe('QStash stand-in DLQ', () => {
  it('keeps the last answer (status, headers, body) and pages newest first with a cursor', async () => {
    const ids = await deadLetters('/dlq/paged', 5, 'paged');
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await harness.client.dlq.listMessages({ count: 2, cursor, filter: { label: 'paged' } });
      expect(page.messages.length).toBeLessThanOrEqual(2);
      seen.push(...page.messages.map((message) => message.messageId));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());

    const { messages } = await harness.client.dlq.listMessages({ filter: { messageId: ids[0] } });
    expect(messages[0]).toMatchObject({
      messageId: ids[0],
      url: `${harness.destinationUrl}/dlq/paged`,
      body: '{"index":0}',
      responseStatus: 503,
      responseBody: 'down at /dlq/paged',
      responseHeader: expect.objectContaining({ 'X-Failure': ['overloaded'] }),
    });

    const oldestFirst = await harness.api('/v2/dlq?order=earliestFirst&label=paged&count=2');
    expect(((await oldestFirst.json()) as { messages: Array<{ messageId: string }> }).messages.map((m) => m.messageId)).toEqual(ids.slice(0, 2));

    const one = await harness.api(`/v2/dlq/${messages[0]?.dlqId}`);
    expect(await one.json()).toMatchObject({ dlqId: messages[0]?.dlqId, messageId: ids[0], responseStatus: 503 });
    const byIds = await harness.client.dlq.listMessages({ dlqIds: [messages[0]?.dlqId ?? ''] });
    expect(byIds.messages.map((message) => message.messageId)).toEqual([ids[0]]);
  });

  it('filters by response status and date', async () => {
    const before = Date.now();
    harness.responders.set('/dlq/gone', () => ({ status: 410 }));
    const { messageId } = await harness.client.publishJSON({ url: `${harness.destinationUrl}/dlq/gone`, body: {}, retries: 0 });
    await harness.standIn.idle();
    const byStatus = await harness.client.dlq.listMessages({ filter: { responseStatus: 410 } });
    expect(byStatus.messages.map((message) => message.messageId)).toEqual([messageId]);
    const later = await harness.client.dlq.listMessages({ filter: { responseStatus: 410, fromDate: Date.now() + 1000 } });
    expect(later.messages).toEqual([]);
    const since = await harness.client.dlq.listMessages({ filter: { responseStatus: 410, fromDate: before } });
    expect(since.messages).toHaveLength(1);
  });

  it('deletes by ids, by filter and all, and refuses an unknown id', async () => {
    await deadLetters('/dlq/delete', 4, 'delete-me');
    const { messages } = await harness.client.dlq.listMessages({ filter: { label: 'delete-me' } });
    const [first, second, ...rest] = messages.map((message) => message.dlqId);
    await expect(harness.client.dlq.delete([first ?? '', second ?? ''])).resolves.toMatchObject({ deleted: 2 });
    await expect(harness.client.dlq.delete({ filter: { label: 'delete-me' } })).resolves.toMatchObject({ deleted: rest.length });
    await expect(harness.client.dlq.listMessages({ filter: { label: 'delete-me' } })).resolves.toMatchObject({ messages: [] });
    await expect(harness.client.dlq.delete('1-unknown')).rejects.toMatchObject({ status: 404 });
    await expect(harness.client.dlq.delete(['1-unknown'])).rejects.toMatchObject({ status: 404 });

    await deadLetters('/dlq/all', 3, 'all');
    let deleted = 0;
    let cursor: string | undefined;
    do {
      const result = await harness.client.dlq.delete({ all: true, count: 2, cursor });
      deleted += result.deleted;
      cursor = result.cursor;
    } while (cursor);
    expect(deleted).toBeGreaterThanOrEqual(3);
    await expect(harness.client.dlq.listMessages()).resolves.toMatchObject({ messages: [] });
  });

  it('retries as a new message (same body and headers, retried from 0) and removes the entry; retry headers override the original', async () => {
    const [original] = await deadLetters('/dlq/retry', 1, 'retry-me');
    const [entry] = (await harness.client.dlq.listMessages({ filter: { messageId: original } })).messages;
    harness.responders.set('/dlq/retry', (_, attempt) => (attempt <= 2 ? { status: 500 } : {}));

    // The single form answers the new message itself; Upstash-Retries on the retry request overrides the original's 0.
    const single = await harness.api(`/v2/dlq/retry/${entry?.dlqId}`, { method: 'POST', headers: { 'upstash-retries': '2' } });
    expect(single.status).toBe(200);
    const { messageId } = (await single.json()) as { messageId: string };
    expect(messageId).toMatch(/^msg_/);
    expect(messageId).not.toBe(original);
    await harness.standIn.idle();
    const deliveries = harness.requestsTo('/dlq/retry').filter((request) => header(request, 'upstash-message-id') === messageId);
    expect(deliveries.map((request) => header(request, 'upstash-retried'))).toEqual(['0', '1']);
    expect(deliveries[0]?.body).toBe('{"index":0}');
    await expect(harness.client.dlq.listMessages({ filter: { messageId: original } })).resolves.toMatchObject({ messages: [] });
    await expect(harness.client.dlq.retry(entry?.dlqId ?? '')).rejects.toMatchObject({ status: 404 });

    const bad = await harness.api('/v2/dlq/retry?dlqIds=1-unknown', { method: 'POST', headers: { 'upstash-retries': 'many' } });
    expect(bad.status).toBe(400);
  });

  it('retries every entry a filter matches, a page at a time', async () => {
    const ids = await deadLetters('/dlq/bulk-retry', 3, 'bulk-retry');
    harness.responders.set('/dlq/bulk-retry', () => ({}));
    const { responses, cursor } = await harness.client.dlq.retry({ filter: { label: 'bulk-retry' }, count: 2 });
    expect(responses).toHaveLength(2);
    expect(cursor).toBeTruthy();
    const rest = await harness.client.dlq.retry({ filter: { label: 'bulk-retry' }, count: 2 });
    expect(rest.responses).toHaveLength(1);
    expect(rest.cursor).toBeUndefined();
    await harness.standIn.idle();
    const redelivered = harness.requestsTo('/dlq/bulk-retry').slice(ids.length);
    expect(redelivered.map((request) => request.body).sort()).toEqual(['{"index":0}', '{"index":1}', '{"index":2}']);
  });
});
