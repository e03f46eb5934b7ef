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
});
