import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

describe(`a request the client aborts, on ${databaseKind}`, () => {
  let database: TestDatabase;
  let t: TestApp;
  beforeAll(async () => {
    database = await createTestDatabase();
    t = await startTestApp(database.handle);
  });
  afterAll(async () => {
    await t?.close();
    await database?.destroy();
  });

  it('is logged at debug level, not as an unhandled error', async () => {
    const controller = new AbortController();
    const request = new Request(`${t.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ jobStats { jobType count } }' }),
      signal: controller.signal,
    });
    const answer = t.app.fetch(request);
    controller.abort();
    expect((await answer).status).toBe(499);
    expect(t.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([]);
    expect(t.logs.find((l) => l.message === '[http] Request aborted by the client')).toMatchObject({ level: 'debug', path: '/graphql' });
  });

  it('is not an error on the node server either, where GraphQL requests go straight to Yoga', async () => {
    const { port } = new URL(t.baseUrl);
    const body = JSON.stringify({ query: '{ jobStats { jobType count } jobExecutions(first: 50) { nodes { jobId attempts { attempt } } } }' });
    // Clients that hang up right after sending: some mid-parse, some mid-execution, some mid-answer.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        new Promise<void>((resolve) => {
          const socket = connect(Number(port), '127.0.0.1', () => {
            socket.write(`POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`);
            socket.write(i % 2 === 0 ? body : body.slice(0, 10));
            setImmediate(() => socket.destroy());
          });
          socket.on('close', () => resolve());
          socket.on('error', () => resolve());
        }),
      ),
    );
    // The server still answers, and logged none of it as an error.
    const res = await fetch(`${t.baseUrl}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(res.status).toBe(200);
    expect(t.logs.filter((l) => l.level === 'error').map((l) => l.message)).toEqual([]);
  });
});
