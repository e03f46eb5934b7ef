import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient as createSSEClient } from 'graphql-sse';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { jobExecutions } from '../../src/db/schema.js';
import { JobEventsLostError } from '../../src/jobs/errors.js';
import { JobEventBus, type JobEvent } from '../../src/jobs/events.js';
import { maskError } from '../../src/graphql/errors.js';
import { GraphQLError } from 'graphql';
import { createTestLogger, startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

/**
 * The event stream across a lost database connection: jobscope reaches PostgreSQL through a TCP
 * proxy that the test cuts and restores (PGlite is in-process: nothing to cut there).
 */
const READ_KEY = 'fault-read';
const CUT_MS = 3_000;

let database: TestDatabase;
let proxy: TcpProxy;
/** The database as jobscope sees it: through the proxy. */
let proxied: DatabaseHandle;

function proxiedUrl(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

const insertJob = (jobType: string, jobId = randomUUID()) =>
  database.handle.db.insert(jobExecutions).values({ jobId, jobType, payload: { jobId, type: jobType, payload: {}, metadata: {} } });

describe.skipIf(databaseKind !== 'postgres')('the job event stream across a cut database connection', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    const target = database.target as { kind: 'postgres'; url: string };
    const url = new URL(target.url);
    proxy = await startTcpProxy(Number(url.port || 5432), url.hostname);
    proxied = await openDatabase({ kind: 'postgres', url: proxiedUrl(target.url, proxy.port) });
  });
  afterAll(async () => {
    await proxy?.restore();
    await proxied?.close();
    await proxy?.close();
    await database?.destroy();
  });

  it('a GraphQL subscriber over SSE receives every event recorded before, during and after a cut of several seconds, once each', async () => {
    const t: TestApp = await startTestApp(proxied, { env: { JOBSCOPE_READ_KEYS: READ_KEY } });
    const client = createSSEClient({ url: `${t.baseUrl}/graphql`, headers: { authorization: `Bearer ${READ_KEY}` }, retryAttempts: 0 });
    const jobType = `cut-${randomUUID().slice(0, 8)}`;
    const received: string[] = [];
    const errors: unknown[] = [];
    const results = client.iterate<{ jobEvents: { type: string; jobId: string } }>({
      query: 'subscription ($jobType: String) { jobEvents(jobType: $jobType) { type jobId } }',
      variables: { jobType },
    });
    const reading = (async () => {
      for await (const result of results) {
        if (result.errors) errors.push(result.errors);
        if (result.data) received.push(result.data.jobEvents.jobId);
      }
    })();
    const recorded: string[] = [];
    let writing = true;
    // A steady stream of recorded changes, written straight to PostgreSQL (not through the proxy).
    const writer = (async () => {
      while (writing) {
        const jobId = randomUUID();
        await insertJob(jobType, jobId);
        recorded.push(jobId);
        await delay(20);
      }
    })();
    try {
      // Before: the subscriber hears the stream.
      await vi.waitFor(() => expect(received.length).toBeGreaterThan(10), { timeout: 10_000 });
      await proxy.cut('hold');
      const beforeCut = recorded.length;
      await delay(CUT_MS);
      const duringCut = recorded.length - beforeCut;
      await proxy.restore();
      await vi.waitFor(() => expect(t.logs.some((e) => e.message.includes('[events] Job event listener is listening again'))).toBe(true), {
        timeout: 15_000,
      });
      // After: more changes, heard live again.
      const afterRestore = recorded.length;
      await vi.waitFor(() => expect(recorded.length).toBeGreaterThan(afterRestore + 20), { timeout: 10_000 });
      writing = false;
      await writer;
      await vi.waitFor(() => expect(received.length).toBeGreaterThanOrEqual(recorded.length), { timeout: 15_000 });

      expect(duringCut).toBeGreaterThan(50);
      const missed = recorded.filter((id) => !received.includes(id));
      expect({ missed: missed.length, duplicates: received.length - new Set(received).size }).toEqual({ missed: 0, duplicates: 0 });
      expect(received).toHaveLength(recorded.length);
      // In order: one writer, so commit order is insert order.
      expect(received).toEqual(recorded);
      expect(errors).toEqual([]);
      expect(t.logs.some((e) => e.level === 'warn' && e.message.includes('[events] Job event listener lost its database connection'))).toBe(true);
    } finally {
      writing = false;
      await writer;
      await results.return?.();
      await reading;
      client.dispose();
      await t.close();
    }
  }, 60_000);

  it('replays an event whose transaction committed while the bus was deaf, though its id is below one already delivered', async () => {
    const bus = new JobEventBus(proxied, createTestLogger().logger, { heartbeatMs: 100, reconnectMinMs: 20, reconnectMaxMs: 200 });
    await bus.start();
    const jobType = `order-${randomUUID().slice(0, 8)}`;
    const heard: JobEvent[] = [];
    const stop = bus.subscribe((e) => e.jobType === jobType && heard.push(e));
    const sql = postgres((database.target as { url: string }).url, { max: 2, onnotice: () => {} });
    const [early, late, deaf] = [randomUUID(), randomUUID(), randomUUID()];
    try {
      let commit!: () => void;
      const committed = new Promise<void>((resolve) => (commit = resolve));
      let inserted!: () => void;
      const insertedEarly = new Promise<void>((resolve) => (inserted = resolve));
      // `early` takes the lower log id, then stays uncommitted while `late` commits and is heard.
      const open = sql.begin(async (tx) => {
        await tx`INSERT INTO job_executions (job_id, job_type, payload) VALUES (${early}, ${jobType}, ${sql.json({ jobId: early })})`;
        inserted();
        await committed;
      });
      await insertedEarly;
      await insertJob(jobType, late);
      await vi.waitFor(() => expect(heard.map((e) => e.jobId)).toEqual([late]), { timeout: 5_000 });
      // Several heartbeats (100 ms) while `early` is open: the horizon must not move past it.
      await delay(500);

      await proxy.cut('hold');
      commit();
      await open;
      await insertJob(jobType, deaf);
      await proxy.restore();
      await vi.waitFor(() => expect(heard.map((e) => e.jobId).sort()).toEqual([early, late, deaf].sort()), { timeout: 10_000 });
      // Replayed in log order: `early` (the lower id) before `deaf`.
      expect(heard.map((e) => e.jobId)).toEqual([late, early, deaf]);
      await insertJob(jobType, randomUUID());
      await vi.waitFor(() => expect(heard).toHaveLength(4), { timeout: 5_000 });
      expect(new Set(heard.map((e) => e.jobId)).size).toBe(4);
    } finally {
      stop();
      await sql.end();
      await bus.close();
    }
  }, 30_000);

  it('delivers a live event that arrives with LISTEN\'s answer after the events replayed before it, not ahead of them', async () => {
    const jobType = `race-${randomUUID().slice(0, 8)}`;
    const [deaf, live] = [randomUUID(), randomUUID()];
    let listens = 0;
    // The database as it is, except that the bus's second LISTEN (its reconnect) happens with a
    // change committed while it was deaf (replayed next), and only resolves once a notification
    // that came after LISTEN has been handed over: the order a single socket read can produce.
    const racing: DatabaseHandle = {
      ...proxied,
      async listen(channel, onPayload) {
        if (++listens === 1) return proxied.listen(channel, onPayload);
        await insertJob(jobType, deaf);
        let arrived!: () => void;
        const handedOver = new Promise<void>((resolve) => (arrived = resolve));
        const session = await proxied.listen(channel, (payload) => {
          onPayload(payload);
          if (payload.includes(live)) arrived();
        });
        await insertJob(jobType, live);
        await handedOver;
        return session;
      },
    };
    const bus = new JobEventBus(racing, createTestLogger().logger, { heartbeatMs: 100, reconnectMinMs: 20, reconnectMaxMs: 100 });
    await bus.start();
    const heard: string[] = [];
    const stop = bus.subscribe((e) => e.jobType === jobType && heard.push(e.jobId));
    try {
      await database.handle.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'jobscope-listen' AND datname = current_database()`);
      await vi.waitFor(() => expect(heard).toHaveLength(2), { timeout: 10_000 });
      expect(listens).toBe(2);
      expect(heard).toEqual([deaf, live]);
    } finally {
      stop();
      await bus.close();
    }
  }, 30_000);

  it('ends a subscriber with EVENTS_LOST when the bus was deaf longer than the event log keeps events', async () => {
    const { logger, entries } = createTestLogger();
    const bus = new JobEventBus(proxied, logger, { heartbeatMs: 100, reconnectMinMs: 20, reconnectMaxMs: 100, retentionMs: 300 });
    await bus.start();
    const jobType = `gap-${randomUUID().slice(0, 8)}`;
    const events = bus.iterate(undefined, (e) => e.jobType === jobType);
    const first = events.next();
    try {
      await insertJob(jobType);
      expect((await first).done).toBe(false);
      await proxy.cut('hold');
      await delay(800);
      await proxy.restore();
      const error = await events.next().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(JobEventsLostError);
      expect(entries.some((e) => e.level === 'error' && e.message.includes('[events] Job events may have been lost'))).toBe(true);
      const masked = maskError(new GraphQLError((error as Error).message, { originalError: error as Error }), 'Unexpected error.', false);
      expect((masked as GraphQLError).extensions.code).toBe('EVENTS_LOST');
      // The bus itself listens again: a new subscriber hears new events.
      await vi.waitFor(() => expect(bus.listening).toBe(true), { timeout: 5_000 });
      const again = bus.iterate(undefined, (e) => e.jobType === jobType);
      const next = again.next();
      await insertJob(jobType);
      expect((await next).done).toBe(false);
      await again.return(undefined);
    } finally {
      await bus.close();
    }
  }, 30_000);
});
