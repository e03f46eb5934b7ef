/** The stand-in's queues through the real Client: FIFO turns, parallelism, retries holding a turn, pause, resume, lag. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { header, type StandInHarness, startStandInHarness } from '../helpers/standin.js';

let harness: StandInHarness;

beforeAll(async () => {
  harness = await startStandInHarness({ retryDelayFactor: 0.0001 });
});

afterAll(async () => {
  await harness?.close();
});

/** A gate the destination holds its answers behind until opened. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('QStash stand-in queues', () => {
  it('delivers one at a time in FIFO order with parallelism 1, a failing message holding its turn through its retries', async () => {
    const queue = harness.client.queue({ queueName: 'fifo-one' });
    await queue.upsert({ parallelism: 1 });
    let inFlight = 0;
    let most = 0;
    harness.responders.set('/q/fifo', (request, attempt) => {
      inFlight++;
      most = Math.max(most, inFlight);
      const body = JSON.parse(request.body) as { n: number };
      const finished = new Promise((resolve) => setTimeout(resolve, 20)).then(() => {
        inFlight--;
      });
      // Message 1 fails twice before it is delivered: 2 must wait for it.
      return { status: body.n === 1 && attempt < 4 ? 500 : 200, after: finished };
    });
    for (let n = 0; n < 4; n++) {
      const result = await queue.enqueueJSON({ url: `${harness.destinationUrl}/q/fifo`, body: { n }, retries: 3 });
      expect(result.messageId).toMatch(/^msg_/);
    }
    await expect.poll(() => harness.requestsTo('/q/fifo').length, { timeout: 10_000 }).toBe(6);
    const order = harness.requestsTo('/q/fifo').map((request) => (JSON.parse(request.body) as { n: number }).n);
    expect(order).toEqual([0, 1, 1, 1, 2, 3]);
    expect(most).toBe(1);
    const details = await queue.get();
    expect(details).toMatchObject({ name: 'fifo-one', parallelism: 1, paused: false, lag: 0 });
    // The last answer may still be on its way back to the stand-in when the destination has seen the request.
    const delivered = async () => (await harness.client.logs({ filter: { queueName: 'fifo-one', state: 'DELIVERED' } })).events.length;
    await expect.poll(delivered).toBe(4);
  });

  it('runs up to `parallelism` at once', async () => {
    const queue = harness.client.queue({ queueName: 'three-wide' });
    await queue.upsert({ parallelism: 3 });
    const held = gate();
    harness.responders.set('/q/wide', () => ({ after: held.promise }));
    for (let n = 0; n < 7; n++) await queue.enqueueJSON({ url: `${harness.destinationUrl}/q/wide`, body: { n } });
    await expect.poll(() => harness.requestsTo('/q/wide').length).toBe(3);
    expect((await queue.get()).lag).toBe(4);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(harness.requestsTo('/q/wide')).toHaveLength(3);
    held.open();
    await expect.poll(() => harness.requestsTo('/q/wide').length).toBe(7);
    expect((await queue.get()).lag).toBe(0);
  });

  it('holds deliveries while paused and releases them in order on resume; the queue is listed', async () => {
    const queue = harness.client.queue({ queueName: 'pausable' });
    await queue.upsert({ parallelism: 2 });
    await queue.pause();
    expect((await queue.get()).paused).toBe(true);
    const ids: string[] = [];
    for (let n = 0; n < 3; n++) ids.push((await queue.enqueueJSON({ url: `${harness.destinationUrl}/q/paused`, body: { n } })).messageId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(harness.requestsTo('/q/paused')).toHaveLength(0);
    expect((await queue.get()).lag).toBe(3);
    const listed = await queue.list();
    expect(listed.find((q) => q.name === 'pausable')).toMatchObject({ paused: true, parallelism: 2, lag: 3 });

    await queue.resume();
    await expect.poll(() => harness.requestsTo('/q/paused').length).toBe(3);
    expect(harness.requestsTo('/q/paused').map((request) => header(request, 'upstash-message-id')).sort()).toEqual([...ids].sort());
    expect((await queue.get()).paused).toBe(false);
  });

  it('creates a queue on first enqueue, keeps a message cancelled while waiting from ever being delivered, and refuses bad names', async () => {
    const queue = harness.client.queue({ queueName: 'implicit' });
    const first = await queue.enqueueJSON({ url: `${harness.destinationUrl}/q/implicit`, body: { n: 0 } });
    expect(await queue.get()).toMatchObject({ name: 'implicit', parallelism: 1 });
    await harness.client.queue({ queueName: 'implicit' }).pause();
    const second = await queue.enqueueJSON({ url: `${harness.destinationUrl}/q/implicit`, body: { n: 1 } });
    await harness.client.messages.delete(second.messageId);
    await queue.resume();
    await expect.poll(() => harness.requestsTo('/q/implicit').length).toBeGreaterThanOrEqual(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(harness.requestsTo('/q/implicit').map((request) => header(request, 'upstash-message-id'))).toEqual([first.messageId]);

    const bad = await harness.api('/v2/enqueue/bad%20name/' + `${harness.destinationUrl}/q/implicit`, { method: 'POST', body: '{}' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('invalid queue name');
    await expect(harness.client.queue({ queueName: 'never-made' }).get()).rejects.toThrow(/queue not found/);
  });
});
