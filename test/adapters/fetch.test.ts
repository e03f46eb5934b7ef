import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { serve as serveHono } from '@hono/node-server';
import { createServerAdapter } from '@whatwg-node/server';
import { Hono } from 'hono';
import { describe, expect, it, vi } from 'vitest';
import { createFetchHandler } from '../../src/adapters/fetch.js';
import { APP_HOME, BASE_PATH, closer, describeAdapter, originOf, type Mounted } from './contract.js';

describeAdapter('hono (app.all on the base path, c.req.raw)', {
  webSocket: false,
  async mount(jobscope): Promise<Mounted> {
    const app = new Hono();
    app.get('/', (c) => c.text(APP_HOME));
    const handler = createFetchHandler(jobscope);
    app.all(`${BASE_PATH}/*`, (c) => handler(c.req.raw));
    const server = serveHono({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    await once(server, 'listening');
    return { origin: originOf(server), close: closer(server) };
  },
});

/**
 * A Next.js App Router route module, `app/jobscope/[...path]/route.ts`, is the handler exported
 * once per HTTP method; Next calls the export named by the request's method with a Request (and a
 * context holding the dynamic segments). The server here does exactly that over loopback, so the
 * stand-in's deliveries reach the module as they would in Next.
 */
describeAdapter('Next.js route module (GET/POST exports called with Request objects)', {
  webSocket: false,
  async mount(jobscope): Promise<Mounted> {
    const handler = createFetchHandler(jobscope);
    const route: Record<string, (request: Request, context: { params: Promise<{ path: string[] }> }) => Promise<Response>> = {
      GET: handler,
      POST: handler,
    };
    const next = createServerAdapter(async (request: Request) => {
      const { pathname } = new URL(request.url);
      if (pathname === '/') return new Response(APP_HOME, { headers: { 'content-type': 'text/plain' } });
      if (!pathname.startsWith(`${BASE_PATH}/`)) return new Response('Not found', { status: 404 });
      const method = route[request.method];
      if (!method) return new Response('Method not allowed', { status: 405 });
      const path = pathname.slice(BASE_PATH.length + 1).split('/');
      return method(request, { params: Promise.resolve({ path }) });
    });
    const server = createServer(next);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { origin: originOf(server), close: closer(server) };
  },
});

describe('a fetch handler whose jobscope cannot start', () => {
  it('answers 503 with the reason in development, logs it, and tries again on the next request', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const handler = createFetchHandler({ policy: { stuckAfterMinutes: -1 }, environment: { NODE_ENV: 'development' } });
      const first = await handler(new Request('http://localhost/jobscope/health'));
      expect(first.status).toBe(503);
      expect(await first.json()).toEqual({ error: 'jobscope failed to start', reason: expect.stringContaining('policy.stuckAfterMinutes') });
      expect(logged).toHaveBeenCalledWith(expect.stringMatching(/^\[jobscope\] failed to start: .*policy\.stuckAfterMinutes/s));
      await handler(new Request('http://localhost/jobscope/health'));
      expect(logged).toHaveBeenCalledTimes(2);
    } finally {
      logged.mockRestore();
    }
  });
});
