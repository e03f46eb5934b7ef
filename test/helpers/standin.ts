/**
 * A QStash stand-in on loopback with a destination server that records what it receives, and
 * the real `@upstash/qstash` Client and Receiver pointed at them: the harness of the stand-in's tests.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Receiver } from '@upstash/qstash';
import { createServerAdapter } from '@whatwg-node/server';
import { createQStashStandIn, type QStashStandIn, type QStashStandInOptions } from '../../src/qstash/standin/index.js';

export const TOKEN = 'test-token';
export const CURRENT_SIGNING_KEY = 'sig_currentTestKey123';
export const NEXT_SIGNING_KEY = 'sig_nextTestKey456';

/** One request the destination server received. */
export interface Received {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (the stand-in's timeout has to end the attempt). */
  hang?: boolean;
  /** Answer only once this settles. */
  after?: Promise<unknown>;
}

export type Responder = (request: Received, attempt: number) => Reply;

export interface StandInHarness {
  standIn: QStashStandIn;
  client: Client;
  receiver: Receiver;
  qstashUrl: string;
  destinationUrl: string;
  received: Received[];
  /** Answers by path (query ignored); the default is 200 "ok". */
  responders: Map<string, Responder>;
  /** Requests the destination received on `pathname` (query ignored), in arrival order. */
  requestsTo(pathname: string): Received[];
  /** A raw call to the stand-in's API with the right token. */
  api(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export function header(request: Received | undefined, name: string): string | undefined {
  const value = request?.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export async function startStandInHarness(options: Partial<QStashStandInOptions> = {}): Promise<StandInHarness> {
  const received: Received[] = [];
  const responders = new Map<string, Responder>();
  const requestsTo = (pathname: string) => received.filter((request) => request.path.split('?')[0] === pathname);
  const destinationServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Received = {
        path: req.url ?? '/',
        method: req.method ?? 'GET',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      received.push(request);
      const pathname = request.path.split('?')[0] ?? '/';
      const responder = responders.get(pathname);
      const reply = responder ? responder(request, requestsTo(pathname).length) : {};
      if (reply.hang) return;
      void (reply.after ?? Promise.resolve()).then(() => {
        res.writeHead(reply.status ?? 200, { 'content-type': 'text/plain', ...reply.headers });
        res.end(reply.body ?? 'ok');
      });
    });
  });
  const destinationUrl = await listen(destinationServer);

  const standIn = createQStashStandIn({
    token: TOKEN,
    currentSigningKey: CURRENT_SIGNING_KEY,
    nextSigningKey: NEXT_SIGNING_KEY,
    retryDelayFactor: 0.0001,
    ...options,
  });
  const qstashServer = createServer(createServerAdapter((request: Request) => standIn.fetch(request)));
  const qstashUrl = await listen(qstashServer);
  return {
    standIn,
    client: new Client({ baseUrl: qstashUrl, token: TOKEN, retry: false, enableTelemetry: false }),
    receiver: new Receiver({ currentSigningKey: CURRENT_SIGNING_KEY, nextSigningKey: NEXT_SIGNING_KEY }),
    qstashUrl,
    destinationUrl,
    received,
    responders,
    requestsTo,
    api: (path, init = {}) => fetch(`${qstashUrl}${path}`, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...init.headers } }),
    async close() {
      await standIn.close();
      await stop(qstashServer);
      await stop(destinationServer);
    },
  };
}

/** An http URL on a loopback port nothing listens on any more (deliveries there fail to connect). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  const url = await listen(server);
  await stop(server);
  return url;
}
