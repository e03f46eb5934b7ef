import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient as createSSEClient } from 'graphql-sse';
import { createClient as createWSClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { createApp, type JobscopeApp } from '../../src/app.js';
import { defineJob } from '../../src/jobs/registry.js';
import { wrapApp, type Jobscope } from '../../src/jobscope.js';
import { createTestLogger, testConfig } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';

/** The prefix every adapter test mounts jobscope under, next to the app's own routes. */
export const BASE_PATH = '/jobscope';
/** What the app's own `GET /` answers, to show jobscope leaves the app's routes alone. */
export const APP_HOME = 'the app itself';

export const contractJob = defineJob({
  type: 'contract-job',
  endpoint: '/api/jobs/contract',
  schema: z.object({ key: z.string() }),
  timeoutSeconds: 5,
  retries: 1,
  async handler(payload) {
    return { handled: payload.key };
  },
});

/** `close` for a node server, without waiting for keep-alive sockets. */
export function closer(server: Server): () => Promise<void> {
  return async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  };
}

/** The loopback origin a node server listens on. */
export const originOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

export interface Mounted {
  /** The app's origin, `http://127.0.0.1:<port>`. */
  origin: string;
  /** Where the app's own `GET /` is, when not at `origin`. */
  appOrigin?: string;
  close(): Promise<void>;
}

interface ContractOptions {
  /** Mounts the jobscope in the framework's real server, listening on a loopback port. */
  mount: (jobscope: Jobscope) => Promise<Mounted>;
  /** Whether the adapter carries graphql-ws (the node adapter does; fetch handlers cannot). */
  webSocket: boolean;
}

const ENQUEUE = /* GraphQL */ `
  mutation ($key: String!) {
    enqueueJob(input: { jobType: "contract-job", payload: { key: $key } }) { jobId }
  }`;
const JOB = /* GraphQL */ `
  query ($jobId: ID!) {
    jobExecution(jobId: $jobId) { status result attempts { attempt httpStatus } }
  }`;
const EVENTS = /* GraphQL */ `subscription { jobEvents(jobType: "contract-job") { type jobId } }`;

/**
 * What every way of mounting jobscope must do, against the framework's real server: answer a
 * GraphQL query, stream a subscription over SSE (and WebSocket where it can), take a delivery
 * signed by the stand-in through the real Client and Receiver and show it in GraphQL, refuse a bad
 * signature with 401, and leave the app's own routes alone.
 */
export function describeAdapter(name: string, options: ContractOptions): void {
  describe(`${name} adapter on ${databaseKind}`, () => {
    let database: TestDatabase;
    let jobscope: Jobscope;
    let graphqlServer: JobscopeApp['graphql'];
    let mounted: Mounted;
    const base = () => `${mounted.origin}${BASE_PATH}`;

    beforeAll(async () => {
      database = await createTestDatabase();
      const app = await createApp({
        config: testConfig({ JOBSCOPE_BASE_PATH: BASE_PATH, ALERT_INTERVAL_SECONDS: '0' }),
        logger: createTestLogger().logger,
        database: database.handle,
        jobs: [contractJob],
      });
      jobscope = wrapApp(app);
      graphqlServer = app.graphql;
      mounted = await options.mount(jobscope);
    });
    afterAll(async () => {
      await mounted?.close();
      await jobscope?.close();
      await database?.destroy();
    });

    /**
     * `opened` resolves once the server holds the subscription. Identical subscriptions share one
     * source (and one bus listener), so this counts subscribers, not bus listeners.
     */
    const opened = () => vi.waitFor(() => expect(graphqlServer.fanout.stats().subscribers).toBe(1), { timeout: 5_000 });

    const enqueue = async (key: string) =>
      (await graphqlData<{ enqueueJob: { jobId: string } }, { key: string }>(base(), ENQUEUE, { variables: { key } })).enqueueJob.jobId;

    it('answers a GraphQL query under the base path', async () => {
      const data = await graphqlData<{ jobTypes: { name: string; endpoint: string }[] }, object>(base(), '{ jobTypes { name endpoint } }');
      expect(data.jobTypes).toEqual([{ name: 'contract-job', endpoint: '/api/jobs/contract' }]);
    });

    it('runs a job the stand-in delivers, signed, to the worker endpoint, and shows it in GraphQL', async () => {
      const jobId = await enqueue('delivered');
      await vi.waitFor(
        async () => {
          const { jobExecution } = await graphqlData<{ jobExecution: { status: string } | null }, { jobId: string }>(base(), JOB, {
            variables: { jobId },
          });
          expect(jobExecution?.status).toBe('COMPLETED');
        },
        { timeout: 10_000, interval: 50 },
      );
      const { jobExecution } = await graphqlData<{ jobExecution: unknown }, { jobId: string }>(base(), JOB, { variables: { jobId } });
      expect(jobExecution).toEqual({ status: 'COMPLETED', result: { handled: 'delivered' }, attempts: [{ attempt: 0, httpStatus: 200 }] });
    });

    /**
     * Opens a subscription to jobEvents with `client`, waits until the server holds it, then runs
     * a job and expects its COMPLETED event on the stream.
     */
    const seesAJobComplete = async (
      transport: string,
      client: { iterate: <T>(request: { query: string }) => AsyncIterableIterator<{ data?: T | null }> },
    ) => {
      const events: { type: string; jobId: string }[] = [];
      const subscription = client.iterate<{ jobEvents: { type: string; jobId: string } }>({ query: EVENTS });
      const reading = (async () => {
        for await (const result of subscription) if (result.data) events.push(result.data.jobEvents);
      })();
      try {
        await opened();
        const jobId = await enqueue(`${transport}-${randomUUID()}`);
        await vi.waitFor(() => expect(events).toContainEqual({ type: 'COMPLETED', jobId }), { timeout: 10_000 });
      } finally {
        await subscription.return?.();
        await reading;
        // The server has let go too, so the next test's `opened` counts its own subscriber.
        await vi.waitFor(() => expect(graphqlServer.fanout.stats().subscribers).toBe(0), { timeout: 5_000 });
      }
    };

    it('streams jobEvents over SSE', async () => {
      const client = createSSEClient({ url: `${base()}/graphql`, retryAttempts: 0 });
      await seesAJobComplete('sse', client).finally(() => client.dispose());
    });

    // Fetch handlers cannot take an HTTP upgrade: WebSocket is the node adapter's.
    if (options.webSocket) {
      it('streams jobEvents over WebSocket (graphql-ws) on the GraphQL path', async () => {
        const client = createWSClient({ url: `${base().replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, retryAttempts: 0 });
        await seesAJobComplete('ws', client).finally(() => client.dispose());
      });
    }

    it('refuses a delivery with a bad signature: 401, nothing recorded', async () => {
      const jobId = randomUUID();
      const res = await fetch(`${base()}/api/jobs/contract`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'upstash-signature': 'not.a.jwt', 'upstash-message-id': 'msg_forged' },
        body: JSON.stringify({ jobId, type: 'contract-job', payload: { key: 'forged' }, metadata: {} }),
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'Invalid QStash signature' });
      const { jobExecution } = await graphqlData<{ jobExecution: unknown }, { jobId: string }>(base(), JOB, { variables: { jobId } });
      expect(jobExecution).toBeNull();
    });

    it('serves the dashboard under the prefix, its assets named from the prefix', async () => {
      const page = await fetch(`${base()}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const html = await page.text();
      expect(html).toContain(`<meta name="jobscope-base" content="${BASE_PATH}" />`);
      expect(html).toContain(`src="${BASE_PATH}/dashboard/app.js"`);
      const script = await fetch(`${base()}/dashboard/app.js`);
      expect(script.status).toBe(200);
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    });

    it("leaves the app's own routes and unknown paths to the app", async () => {
      const home = await fetch(`${mounted.appOrigin ?? mounted.origin}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toBe(APP_HOME);
      // Health under the prefix is jobscope's; the same path without it is not.
      expect((await fetch(`${base()}/health`)).status).toBe(200);
      expect((await fetch(`${mounted.origin}/health`)).status).toBe(404);
    });
  });
}
