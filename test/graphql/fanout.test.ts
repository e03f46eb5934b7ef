import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { eq, inArray } from 'drizzle-orm';
import { createClient as createWSClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { jobExecutions } from '../../src/db/schema.js';
import { SUBSCRIBER_TOO_SLOW } from '../../src/graphql/fanout.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

const READ_KEY = 'fanout-read';
const OPERATE_KEY = 'fanout-operate';

/** One SSE message as the server wrote it. */
interface Message {
  event: string;
  data: string;
}

/**
 * A raw SSE subscriber over loopback: one socket, the request written by hand, the stream read as
 * it arrives (chunked transfer encoding undone). `pause()` stops reading, as a slow client does.
 */
class RawSubscriber {
  readonly messages: Message[] = [];
  status = 0;
  ended = false;
  private readonly socket: Socket;
  private raw = Buffer.alloc(0);
  private headersDone = false;
  private text = '';
  readonly opened: Promise<void>;
  readonly closed: Promise<void>;

  /** `origin`: send an Origin header, as browsers do: then Yoga answers, with the shared bytes in its Response. */
  constructor(baseUrl: string, query: string, variables: Record<string, unknown> = {}, options: { origin?: string; key?: string } = {}) {
    const { hostname, port } = new URL(baseUrl);
    const body = JSON.stringify({ query, variables });
    this.socket = connect(Number(port), hostname);
    this.socket.write(
      `POST /graphql HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${options.key ?? READ_KEY}\r\nAccept: text/event-stream\r\n` +
        (options.origin ? `Origin: ${options.origin}\r\n` : '') +
        `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    let opened: () => void;
    this.opened = new Promise((resolve) => (opened = resolve));
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => {
      this.raw = Buffer.concat([this.raw, chunk]);
      this.parse();
      if (this.headersDone) opened();
    });
    this.socket.on('error', () => {});
  }

  get events(): { data?: { jobEvents: Record<string, unknown> }; errors?: { message: string; extensions?: Record<string, unknown> }[] }[] {
    return this.messages.filter((m) => m.event === 'next').map((m) => JSON.parse(m.data));
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    if (!this.headersDone) {
      const end = this.raw.indexOf('\r\n\r\n');
      if (end < 0) return;
      this.status = Number(this.raw.toString('latin1', 9, 12));
      this.headersDone = true;
      this.raw = this.raw.subarray(end + 4);
    }
    // Chunked transfer encoding: <hex size>\r\n<bytes>\r\n, a 0 size ends the body.
    for (;;) {
      const line = this.raw.indexOf('\r\n');
      if (line < 0) return;
      const size = parseInt(this.raw.toString('latin1', 0, line), 16);
      if (size === 0) {
        this.ended = true;
        return;
      }
      if (this.raw.length < line + 2 + size + 2) return;
      this.text += this.raw.toString('utf8', line + 2, line + 2 + size);
      this.raw = this.raw.subarray(line + 2 + size + 2);
      let boundary: number;
      while ((boundary = this.text.indexOf('\n\n')) >= 0) {
        const block = this.text.slice(0, boundary);
        this.text = this.text.slice(boundary + 2);
        if (block.startsWith(':')) continue; // a ping
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        const data = /^data:(?: (.*))?$/m.exec(block)?.[1] ?? '';
        this.messages.push({ event, data });
      }
    }
  }
}

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, { env: { JOBSCOPE_READ_KEYS: READ_KEY, JOBSCOPE_OPERATE_KEYS: OPERATE_KEY, GRAPHQL_SUBSCRIPTION_BUFFER_KIB: '64' } });
});
afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

const envelope = (jobId: string, jobType: string, padding = '') => ({ jobId, type: jobType, payload: { padding }, metadata: {} });

describe(`jobEvents fan-out on ${databaseKind}`, () => {
  it('delivers every event to 200 SSE subscribers and 10 WebSocket ones, each with its own filter and selection, one execution per key', async () => {
    const jobType = `fanout-${randomUUID().slice(0, 8)}`;
    const other = `${jobType}-other`;
    const plain = 'subscription ($jobType: String) { jobEvents(jobType: $jobType) { type jobId status } }';
    const withExecution = 'subscription ($jobType: String) { jobEvents(jobType: $jobType) { type jobId status execution { jobId status } } }';
    const failedOnly = 'subscription { jobEvents(statuses: [FAILED]) { type jobId jobType status } }';
    const everything = 'subscription { jobEvents { jobId execution { jobType } } }';
    const groups = {
      plain: Array.from({ length: 100 }, () => new RawSubscriber(t.baseUrl, plain, { jobType })),
      withExecution: Array.from({ length: 50 }, () => new RawSubscriber(t.baseUrl, withExecution, { jobType })),
      failedOnly: Array.from({ length: 40 }, () => new RawSubscriber(t.baseUrl, failedOnly)),
      everything: Array.from({ length: 10 }, () => new RawSubscriber(t.baseUrl, everything)),
    };
    const ws = createWSClient({
      url: `${t.baseUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${READ_KEY}` },
      retryAttempts: 0,
    });
    const wsEvents: Record<string, unknown>[][] = Array.from({ length: 10 }, () => []);
    const wsStops = wsEvents.map((events) =>
      ws.subscribe<{ jobEvents: Record<string, unknown> }>(
        { query: plain, variables: { jobType } },
        { next: (r) => r.data && events.push(r.data.jobEvents), error: () => {}, complete: () => {} },
      ),
    );
    const all = Object.values(groups).flat();
    const reads = vi.spyOn(t.app.jobs.read, 'get');
    try {
      await Promise.all(all.map((s) => s.opened));
      expect(all.every((s) => s.status === 200)).toBe(true);
      // Four keys (the WebSocket subscribers share the first one's source): four executions per event, not 210.
      await vi.waitFor(() => expect(t.app.graphql.fanout.stats()).toEqual({ sources: 4, subscribers: 210 }), { timeout: 10_000 });

      // Real writes: the NOTIFY trigger emits one event per insert and per status change.
      const ours = Array.from({ length: 10 }, () => randomUUID());
      const theirs = Array.from({ length: 5 }, () => randomUUID());
      const db = database.handle.db;
      await db.insert(jobExecutions).values([...ours.map((id) => ({ jobId: id, jobType, payload: envelope(id, jobType) })), ...theirs.map((id) => ({ jobId: id, jobType: other, payload: envelope(id, other) }))]);
      const failed = [ours[0]!, ours[1]!, theirs[0]!];
      await db.update(jobExecutions).set({ status: 'failed', error: 'boom', completedAt: new Date() }).where(inArray(jobExecutions.jobId, failed));
      await db.update(jobExecutions).set({ status: 'processing', startedAt: new Date() }).where(eq(jobExecutions.jobId, ours[2]!));

      const expectedOurs = [...ours.map((id) => ({ type: 'ENQUEUED', jobId: id, status: 'PENDING' })), ...[ours[0]!, ours[1]!].map((id) => ({ type: 'FAILED', jobId: id, status: 'FAILED' })), { type: 'STARTED', jobId: ours[2]!, status: 'PROCESSING' }];
      const sameSet = <T>(list: T[]) => expect.arrayContaining(list.map((x) => expect.objectContaining(x as object)));
      await vi.waitFor(
        () => {
          for (const s of groups.plain) expect(s.events).toHaveLength(expectedOurs.length);
          for (const s of groups.withExecution) expect(s.events).toHaveLength(expectedOurs.length);
          for (const s of groups.failedOnly) expect(s.events).toHaveLength(3);
          for (const s of groups.everything) expect(s.events).toHaveLength(15 + 3 + 1);
          for (const events of wsEvents) expect(events).toHaveLength(expectedOurs.length);
        },
        { timeout: 15_000, interval: 50 },
      );

      for (const s of groups.plain) {
        // Exactly the selection asked for: no execution leaks in from the other key's results.
        expect(s.events.map((e) => e.data!.jobEvents)).toEqual(sameSet(expectedOurs));
        expect(s.events.every((e) => !('execution' in e.data!.jobEvents) && e.errors === undefined)).toBe(true);
      }
      for (const events of wsEvents) expect(events).toEqual(sameSet(expectedOurs));
      for (const s of groups.withExecution) {
        const events = s.events.map((e) => e.data!.jobEvents as { jobId: string; type: string; execution: { jobId: string; status: string } | null });
        expect(events.map(({ execution: _e, ...rest }) => rest)).toEqual(sameSet(expectedOurs));
        expect(events.every((e) => e.execution?.jobId === e.jobId)).toBe(true);
        // A job that did not change again reads as the event left it.
        expect(events.filter((e) => e.type === 'FAILED').map((e) => e.execution!.status)).toEqual(['FAILED', 'FAILED']);
      }
      for (const s of groups.failedOnly) {
        expect(s.events.map((e) => e.data!.jobEvents)).toEqual(sameSet(failed.map((jobId) => ({ type: 'FAILED', jobId, status: 'FAILED' }))));
        expect(s.events.map((e) => e.data!.jobEvents['jobType']).sort()).toEqual([jobType, jobType, other].sort());
      }
      for (const s of groups.everything) expect(s.events.every((e) => typeof (e.data!.jobEvents['execution'] as { jobType: string }).jobType === 'string')).toBe(true);
      // The per-event loader: `execution` read once per event although two keys select it
      // (19 events reached the unfiltered key; the filtered one's 13 are among them).
      expect(reads).toHaveBeenCalledTimes(19);
    } finally {
      reads.mockRestore();
      for (const s of all) s.close();
      for (const stop of wsStops) stop();
      await ws.dispose();
    }
    await vi.waitFor(() => expect(t.app.graphql.fanout.stats()).toEqual({ sources: 0, subscribers: 0 }), { timeout: 5_000 });
  });

  it('shares a source only within one scope: a read key and an operate key get a source each, both every event', async () => {
    const jobType = `fanout-scope-${randomUUID().slice(0, 8)}`;
    const query = 'subscription ($jobType: String) { jobEvents(jobType: $jobType) { jobId } }';
    const readers = [new RawSubscriber(t.baseUrl, query, { jobType }), new RawSubscriber(t.baseUrl, query, { jobType })];
    const operator = new RawSubscriber(t.baseUrl, query, { jobType }, { key: OPERATE_KEY });
    const all = [...readers, operator];
    try {
      await Promise.all(all.map((s) => s.opened));
      await vi.waitFor(() => expect(t.app.graphql.fanout.stats()).toEqual({ sources: 2, subscribers: 3 }), { timeout: 5_000 });
      const jobId = randomUUID();
      await database.handle.db.insert(jobExecutions).values({ jobId, jobType, payload: envelope(jobId, jobType) });
      await vi.waitFor(() => {
        for (const s of all) expect(s.events).toEqual([{ data: { jobEvents: { jobId } } }]);
      }, { timeout: 5_000 });
    } finally {
      for (const s of all) s.close();
    }
    await vi.waitFor(() => expect(t.app.graphql.fanout.stats().subscribers).toBe(0), { timeout: 5_000 });
  });

  it.each([
    ['written to the node response', false],
    ['through Yoga (a browser: Origin header)', true],
  ])('drops a subscriber that stops reading, %s: SUBSCRIBER_TOO_SLOW after what was queued, then the end; the others get every event', async (_how, viaYoga) => {
    const options = viaYoga ? { origin: t.baseUrl } : {};
    const jobType = `fanout-slow-${randomUUID().slice(0, 8)}`;
    // Large events (8 KiB payloads are selected) fill the socket buffers quickly; the server keeps at most 64 KiB more.
    const query = 'subscription ($jobType: String) { jobEvents(jobType: $jobType) { jobId execution { payload } } }';
    const slow = new RawSubscriber(t.baseUrl, query, { jobType }, options);
    const fast = new RawSubscriber(t.baseUrl, query, { jobType }, options);
    try {
      await Promise.all([slow.opened, fast.opened]);
      slow.pause();
      await vi.waitFor(() => expect(t.app.graphql.fanout.stats().subscribers).toBe(2), { timeout: 5_000 });

      // One row at a time, as jobs are recorded, until the server drops the slow one (its socket
      // buffers in the kernel hold a few MiB first); the fast one keeps up all along.
      const padding = 'x'.repeat(8 * 1024);
      const ids: string[] = [];
      while (t.app.graphql.fanout.stats().subscribers === 2 && ids.length < 5_000) {
        const id = randomUUID();
        ids.push(id);
        await database.handle.db.insert(jobExecutions).values({ jobId: id, jobType, payload: envelope(id, jobType, padding) });
        // A turn of the event loop between writes (PGlite runs in this process): sockets move, the fast client reads.
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const rows = ids.length;
      await vi.waitFor(() => expect(fast.events).toHaveLength(rows), { timeout: 30_000, interval: 100 });
      expect(fast.events.map((e) => e.data!.jobEvents['jobId'])).toEqual(ids);
      expect(fast.ended).toBe(false);
      // The slow one has left the source: only the fast one is still subscribed.
      expect(t.app.graphql.fanout.stats().subscribers).toBe(1);
      expect(t.logs.some((l) => l.level === 'warn' && String(l.message).includes('Dropped a subscriber'))).toBe(true);

      slow.resume();
      await vi.waitFor(() => expect(slow.ended).toBe(true), { timeout: 10_000 });
      const received = slow.events;
      const last = received.at(-1)!;
      expect(last.errors).toEqual([expect.objectContaining({ extensions: { code: SUBSCRIBER_TOO_SLOW } })]);
      expect(last.errors![0]!.message).toMatch(/too slow/);
      // What arrived before the error is a gapless prefix of the events, and not all of them.
      const delivered = received.slice(0, -1).map((e) => e.data!.jobEvents['jobId']);
      expect(delivered.length).toBeLessThan(rows);
      expect(delivered).toEqual(ids.slice(0, delivered.length));
      expect(slow.messages.at(-1)).toEqual({ event: 'complete', data: '' });
      await slow.closed;
    } finally {
      slow.close();
      fast.close();
    }
  }, 60_000);

  it('leaves what it does not share to Yoga, answered as Yoga answers it: a bad key, a syntax error, another operation', async () => {
    const post = (body: object, headers: Record<string, string>) =>
      fetch(`${t.baseUrl}/graphql`, {
        method: 'POST',
        headers: { accept: 'text/event-stream', 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      }).then(async (res) => ({ status: res.status, text: (await res.text()).replace(/^:\n\n/, '') }));
    const cases: [object, Record<string, string>][] = [
      [{ query: 'subscription { jobEvents { jobId } }' }, { authorization: 'Bearer wrong' }],
      [{ query: 'subscription { jobEvents { jobId }' }, { authorization: `Bearer ${READ_KEY}` }],
      [{ query: 'subscription { jobEvents(statuses: [NOPE]) { jobId } }' }, { authorization: `Bearer ${READ_KEY}` }],
      [{ query: '{ jobTypes { name } }' }, { authorization: `Bearer ${READ_KEY}` }],
    ];
    for (const [body, headers] of cases) {
      // With an Origin header (a browser) the request always goes to Yoga: the reference answer.
      const viaYoga = await post(body, { ...headers, origin: t.baseUrl });
      expect(await post(body, headers)).toEqual(viaYoga);
    }
    expect((await post(cases[0]![0], cases[0]![1])).status).toBe(401);
  });
});
