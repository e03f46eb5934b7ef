import { parse, print, validate } from 'graphql';
import { createClient as createSSEClient } from 'graphql-sse';
import { createClient as createWSClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { EXAMPLE_OPERATION_FILES, readExampleOperations } from '../../src/graphql/graphiql.js';
import { schema } from '../../src/graphql/schema.js';
import { EnqueueJobDocument, JobEventsDocument, type JobEventsSubscription, type JobEventsSubscriptionVariables } from '../gql/graphql.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';

const READ_KEY = 'transports-read';
const OPERATE_KEY = 'transports-operate';
const emailInput = (subject: string) => ({ jobType: 'send-email', payload: { to: 'ada@example.com', subject, text: 'hello' } });

type JobEvent = JobEventsSubscription['jobEvents'];

/** Consumes a subscription in the background; `stop()` ends it the way a client unsubscribes. */
function collect(results: AsyncIterableIterator<{ data?: JobEventsSubscription | null; errors?: unknown }>) {
  const events: JobEvent[] = [];
  const errors: unknown[] = [];
  const done = (async () => {
    for await (const result of results) {
      if (result.errors) errors.push(result.errors);
      if (result.data) events.push(result.data.jobEvents);
    }
  })();
  return { events, errors, stop: async () => { await results.return?.(); await done; } };
}

let database: TestDatabase;
let t: TestApp;
let busSubscriptions: ReturnType<typeof vi.spyOn>;

/** Resolves once the server has subscribed `n` listeners to the event bus in total. */
const serverSubscribed = (n: number) => vi.waitFor(() => expect(busSubscriptions).toHaveBeenCalledTimes(n), { timeout: 5_000 });

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, { env: { JOBSCOPE_READ_KEYS: READ_KEY, JOBSCOPE_OPERATE_KEYS: OPERATE_KEY } });
  busSubscriptions = vi.spyOn(t.app.jobs.events, 'subscribe');
});
afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

describe(`subscriptions on ${databaseKind}`, () => {
  it('delivers jobEvents over SSE to the graphql-sse client, for a job enqueued through the API', async () => {
    const client = createSSEClient({ url: `${t.baseUrl}/graphql`, headers: { authorization: `Bearer ${READ_KEY}` }, retryAttempts: 0 });
    const variables: JobEventsSubscriptionVariables = { filter: { jobType: ['send-email'] } };
    const subscription = collect(client.iterate<JobEventsSubscription>({ query: print(JobEventsDocument), variables }));
    try {
      await serverSubscribed(1);
      const { enqueueJob } = await graphqlData(t.baseUrl, EnqueueJobDocument, { key: OPERATE_KEY, variables: { input: emailInput('over SSE') } });

      await vi.waitFor(() => expect(subscription.events.map((e) => e.type)).toContain('COMPLETED'), { timeout: 10_000 });
      const ours = subscription.events.filter((e) => e.jobId === enqueueJob.jobId);
      expect(ours.map((e) => e.type)).toEqual(['ENQUEUED', 'STARTED', 'COMPLETED']);
      expect(ours.at(-1)).toMatchObject({
        jobType: 'send-email',
        status: 'COMPLETED',
        error: null,
        execution: { jobId: enqueueJob.jobId, status: 'COMPLETED', attempts: [{ attempt: 0, httpStatus: 200 }] },
      });
      expect(Date.parse(ours[0]!.occurredAt)).not.toBeNaN();
      expect(subscription.errors).toEqual([]);
    } finally {
      await subscription.stop();
      client.dispose();
    }
  });

  it('delivers jobEvents over WebSocket to the graphql-ws client, filtered on the server', async () => {
    const client = createWSClient({
      url: `${t.baseUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${READ_KEY}` },
      retryAttempts: 0,
    });
    const variables: JobEventsSubscriptionVariables = { filter: { status: ['COMPLETED'] } };
    const subscription = collect(client.iterate<JobEventsSubscription>({ query: print(JobEventsDocument), variables }));
    try {
      await serverSubscribed(2);
      const { enqueueJob } = await graphqlData(t.baseUrl, EnqueueJobDocument, { key: OPERATE_KEY, variables: { input: emailInput('over WebSocket') } });

      await vi.waitFor(() => expect(subscription.events.map((e) => e.jobId)).toContain(enqueueJob.jobId), { timeout: 10_000 });
      // Only the final event passed the server-side filter.
      expect(subscription.events).toEqual([
        expect.objectContaining({ type: 'COMPLETED', jobId: enqueueJob.jobId, status: 'COMPLETED', execution: expect.objectContaining({ status: 'COMPLETED' }) }),
      ]);
      expect(subscription.errors).toEqual([]);
    } finally {
      await subscription.stop();
      await client.dispose();
    }
  });

  it('ends open WebSocket subscriptions promptly when the app closes', async () => {
    const other = await startTestApp(database.handle);
    const spy = vi.spyOn(other.app.jobs.events, 'subscribe');
    const client = createWSClient({ url: `${other.baseUrl.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
    const ended = new Promise<unknown>((resolve) => {
      client.subscribe({ query: print(JobEventsDocument) }, { next: () => {}, error: resolve, complete: () => resolve('complete') });
    });
    await vi.waitFor(() => expect(spy).toHaveBeenCalledTimes(1), { timeout: 5_000 });
    const started = Date.now();
    await other.close();
    expect(await ended).toMatchObject({ code: 1001 });
    expect(Date.now() - started).toBeLessThan(2_000);
    await client.dispose();
  });
});

describe('GraphiQL', () => {
  it('opens in a browser with the dashboard query, the example tabs and SSE subscriptions', async () => {
    const res = await fetch(`${t.baseUrl}/graphql`, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    for (const operation of ['query Dashboard', 'query JobExecutions', 'mutation EnqueueJob', 'mutation RetryJob', 'subscription JobEvents']) {
      expect(html).toContain(operation);
    }
    expect(html).toContain('"subscriptionsProtocol":"SSE"');
    // Its scripts are served inline, so it opens without reaching a CDN.
    expect(html).not.toMatch(/<script[^>]+src=["']?https?:/);
    expect(html).toContain('renderYogaGraphiQL');
    expect(html).toContain('Bearer <your API key>');
  });

  it('has a valid example for every query, mutation and subscription field', () => {
    const used = new Set<string>();
    for (const file of EXAMPLE_OPERATION_FILES) {
      const document = parse(readExampleOperations(file));
      expect(validate(schema, document).map(String), file).toEqual([]);
      for (const definition of document.definitions) {
        if (definition.kind !== 'OperationDefinition') continue;
        for (const selection of definition.selectionSet.selections) {
          if (selection.kind === 'Field') used.add(`${definition.operation}.${selection.name.value}`);
        }
      }
    }
    const rootFields = [
      ...Object.keys(schema.getQueryType()!.getFields()).map((f) => `query.${f}`),
      ...Object.keys(schema.getMutationType()!.getFields()).map((f) => `mutation.${f}`),
      ...Object.keys(schema.getSubscriptionType()!.getFields()).map((f) => `subscription.${f}`),
    ];
    expect(rootFields.filter((f) => !used.has(f))).toEqual([]);
  });
});
