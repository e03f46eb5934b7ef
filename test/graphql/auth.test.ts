import { createClient, type Client } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql } from '../helpers/graphql.js';

const READ_KEY = 'read-key-7f3a';
const OPERATE_KEY = 'operate-key-91bc';
const keysEnv = { JOBSCOPE_READ_KEYS: `other-read, ${READ_KEY}`, JOBSCOPE_OPERATE_KEYS: OPERATE_KEY };

/** Runs one operation over graphql-ws; resolves to its results, rejects with the close event or errors. */
function overWebSocket(client: Client, query: string): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const results: unknown[] = [];
    client.subscribe({ query }, { next: (r) => results.push(r), error: reject, complete: () => resolve(results) });
  });
}

function wsClient(baseUrl: string, connectionParams?: Record<string, unknown>): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    ...(connectionParams ? { connectionParams } : {}),
  });
}

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.destroy();
});

describe(`API keys on ${databaseKind}`, () => {
  let t: TestApp;
  const clients: Client[] = [];
  const ws = (connectionParams?: Record<string, unknown>) => {
    const client = wsClient(t.baseUrl, connectionParams);
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    t = await startTestApp(database.handle, { env: keysEnv });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await t?.close();
  });

  describe('over HTTP', () => {
    it('refuses a request without a key: 401, UNAUTHENTICATED, before parsing', async () => {
      const res = await fetch(`${t.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        // Not even valid GraphQL: the key is checked first.
        body: JSON.stringify({ query: '{ not graphql' }),
      });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      const body = (await res.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
      expect(body.errors).toEqual([
        { message: expect.stringContaining('Authorization: Bearer'), extensions: { code: 'UNAUTHENTICATED' } },
      ]);
    });

    it('refuses unknown keys, other schemes and near misses', async () => {
      for (const headers of [
        { authorization: 'Bearer nope' },
        { authorization: `Basic ${READ_KEY}` },
        { authorization: `Bearer ${READ_KEY}x` },
        { authorization: `Bearer ${READ_KEY.slice(0, -1)}` },
        { authorization: 'Bearer' },
      ]) {
        const response = await graphql(t.baseUrl, '{ __typename }', { headers });
        expect(response.status, JSON.stringify(headers)).toBe(401);
        expect(errorCodes(response)).toEqual(['UNAUTHENTICATED']);
        expect(response.data).toBeUndefined();
      }
    });

    it('lets a read key query', async () => {
      const response = await graphql(t.baseUrl, '{ __typename }', { key: READ_KEY });
      expect(response).toEqual({ status: 200, data: { __typename: 'Query' } });
      // Any key of the comma-separated list, with the scheme in any case.
      const other = await graphql(t.baseUrl, '{ __typename }', { headers: { authorization: 'bearer other-read' } });
      expect(other.data).toEqual({ __typename: 'Query' });
    });

    it('refuses a read key on a mutation with FORBIDDEN, without running it', async () => {
      const response = await graphql(t.baseUrl, 'mutation { __typename }', { key: READ_KEY });
      expect(response.status).toBe(403);
      expect(errorCodes(response)).toEqual(['FORBIDDEN']);
      expect(response.data).toBeUndefined();
    });

    it('lets an operate key query and mutate', async () => {
      expect((await graphql(t.baseUrl, '{ __typename }', { key: OPERATE_KEY })).data).toEqual({ __typename: 'Query' });
      expect((await graphql(t.baseUrl, 'mutation { __typename }', { key: OPERATE_KEY })).data).toEqual({ __typename: 'Mutation' });
    });

    it('checks the key on SSE subscriptions too', async () => {
      const res = await fetch(`${t.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: 'Bearer nope' },
        body: JSON.stringify({ query: 'subscription { jobEvents { jobId } }' }),
      });
      expect(res.status).toBe(401);
      await res.body?.cancel();
    });

    it('serves the GraphiQL page to a browser without a key', async () => {
      const res = await fetch(`${t.baseUrl}/graphql`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('jobscope GraphiQL');
    });
  });

  describe('over WebSocket', () => {
    it('closes the connection with 4401 when connection_init carries no key', async () => {
      await expect(overWebSocket(ws(), '{ __typename }')).rejects.toMatchObject({ code: 4401 });
    });

    it('closes the connection with 4401 for an unknown key', async () => {
      await expect(overWebSocket(ws({ authorization: 'Bearer nope' }), '{ __typename }')).rejects.toMatchObject({ code: 4401 });
      await expect(overWebSocket(ws({ apiKey: 'nope' }), '{ __typename }')).rejects.toMatchObject({ code: 4401 });
    });

    it('accepts a read key in connection_init, as `authorization` or `apiKey`', async () => {
      expect(await overWebSocket(ws({ authorization: `Bearer ${READ_KEY}` }), '{ __typename }')).toEqual([
        { data: { __typename: 'Query' } },
      ]);
      expect(await overWebSocket(ws({ apiKey: READ_KEY }), '{ __typename }')).toEqual([{ data: { __typename: 'Query' } }]);
    });

    it('refuses mutations to a read key and allows them to an operate key', async () => {
      expect(await overWebSocket(ws({ apiKey: READ_KEY }), 'mutation { __typename }')).toEqual([
        { errors: [{ message: expect.stringContaining('may only read'), extensions: { code: 'FORBIDDEN' } }] },
      ]);
      expect(await overWebSocket(ws({ apiKey: OPERATE_KEY }), 'mutation { __typename }')).toEqual([
        { data: { __typename: 'Mutation' } },
      ]);
    });
  });
});

describe(`open mode (no keys configured) on ${databaseKind}`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(database.handle);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('says so at start-up', () => {
    expect(t.logs).toContainEqual(expect.objectContaining({ level: 'warn', message: expect.stringContaining('the GraphQL API is open') }));
  });

  it('lets anyone query and mutate, over HTTP and WebSocket', async () => {
    expect((await graphql(t.baseUrl, '{ __typename }')).data).toEqual({ __typename: 'Query' });
    expect((await graphql(t.baseUrl, 'mutation { __typename }')).data).toEqual({ __typename: 'Mutation' });
    const client = wsClient(t.baseUrl);
    try {
      expect(await overWebSocket(client, 'mutation { __typename }')).toEqual([{ data: { __typename: 'Mutation' } }]);
    } finally {
      await client.dispose();
    }
  });
});
