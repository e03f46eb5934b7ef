import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

const READ_KEY = 'keepalive-read';
const SUBSCRIPTION = 'subscription { jobEvents { type jobId } }';

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, { env: { JOBSCOPE_READ_KEYS: READ_KEY, JOBSCOPE_KEEPALIVE_SECONDS: '1' } });
});
afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

describe(`keep-alives of quiet subscriptions on ${databaseKind}`, () => {
  it('an idle SSE subscription gets a keep-alive comment every JOBSCOPE_KEEPALIVE_SECONDS', async () => {
    const controller = new AbortController();
    const response = await fetch(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${READ_KEY}`, accept: 'text/event-stream', 'content-type': 'application/json' },
      body: JSON.stringify({ query: SUBSCRIPTION }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const started = Date.now();
    try {
      // The first `:` comes at once (the stream opens with it); the second is the keep-alive.
      while ((text.match(/^:\n\n/gm) ?? []).length < 2) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the stream ended: ${text}`);
        text += decoder.decode(value, { stream: true });
      }
      expect(text).not.toContain('event: next');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      controller.abort();
      await reader.cancel().catch(() => {});
    }
  });

  it('an idle WebSocket gets ping frames, and one that stops answering them is closed', async () => {
    const ws = new WebSocket(`${t.baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { autoPong: true });
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    try {
      ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${READ_KEY}` } }));
      await new Promise<void>((resolve) => ws.once('message', () => resolve()));
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION } }));
      await new Promise<void>((resolve) => ws.once('ping', () => resolve()));
    } finally {
      ws.close();
    }

    // A peer that no longer answers (autoPong off): terminated after the next round.
    const silent = new WebSocket(`${t.baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws', { autoPong: false });
    await new Promise<void>((resolve, reject) => silent.once('open', () => resolve()).once('error', reject));
    silent.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${READ_KEY}` } }));
    const code = await new Promise<number>((resolve) => silent.once('close', (c) => resolve(c)));
    expect(code).toBe(1006);
  });
});
