import { once } from 'node:events';
import { createServer } from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createNodeHandler, serve } from '../../src/adapters/node.js';
import { createApp } from '../../src/app.js';
import { wrapApp } from '../../src/jobscope.js';
import { createTestLogger, hasStatus, testConfig, waitForJob } from '../helpers/app.js';
import { createTestDatabase } from '../helpers/db.js';
import { APP_HOME, BASE_PATH, closer, contractJob, describeAdapter, originOf, type Mounted } from './contract.js';

describeAdapter('express (app.use under the base path, before express.json)', {
  webSocket: true,
  async mount(jobscope): Promise<Mounted> {
    const app = express();
    app.get('/', (_req, res) => {
      res.type('text/plain').send(APP_HOME);
    });
    const handler = createNodeHandler(jobscope);
    // Express strips the mount path from req.url; the handler reads originalUrl.
    app.use(BASE_PATH, handler);
    app.use(express.json());
    const server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    handler.attach(server);
    return { origin: originOf(server), close: closer(server) };
  },
});

describeAdapter('fastify (hijacked route, body left unparsed)', {
  webSocket: true,
  async mount(jobscope): Promise<Mounted> {
    const fastify = Fastify();
    fastify.get('/', async (_request, reply) => reply.type('text/plain').send(APP_HOME));
    const handler = createNodeHandler(jobscope);
    await fastify.register(async (scope) => {
      // Signatures cover the raw body: no parser may read it first.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
      scope.all(`${BASE_PATH}/*`, (request, reply) => {
        reply.hijack();
        handler(request.raw, reply.raw);
      });
    });
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    handler.attach(fastify.server);
    return { origin: originOf(fastify.server), close: () => fastify.close() };
  },
});

describeAdapter('node:http (the handler as the whole listener, the app routing first)', {
  webSocket: true,
  async mount(jobscope): Promise<Mounted> {
    const handler = createNodeHandler(jobscope);
    const server = createServer((req, res) => {
      if (req.url === '/') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(APP_HOME);
        return;
      }
      if (req.url?.startsWith(`${BASE_PATH}/`)) {
        handler(req, res);
        return;
      }
      res.writeHead(404).end();
    });
    handler.attach(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { origin: originOf(server), close: closer(server) };
  },
});

describeAdapter('serve (jobscope on a server of its own)', {
  webSocket: true,
  async mount(jobscope): Promise<Mounted> {
    const served = await serve(jobscope, { port: 0, host: '127.0.0.1' });
    // Its own server has no app routes: the app's home is a second server here.
    const app = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(APP_HOME));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    return {
      origin: served.url,
      appOrigin: originOf(app),
      close: async () => {
        await closer(app)();
        await served.close();
      },
    };
  },
});

describe('the app enqueues before jobscope has served a request', () => {
  it('works once the handler is attached to a listening server: it learns the address from the server', async () => {
    const database = await createTestDatabase();
    const jobscope = wrapApp(
      await createApp({ config: testConfig({ JOBSCOPE_BASE_PATH: BASE_PATH }), logger: createTestLogger().logger, database: database.handle, jobs: [contractJob] }),
    );
    const app = express();
    const handler = createNodeHandler(jobscope);
    app.use(handler);
    const server = app.listen(0, '127.0.0.1');
    handler.attach(server);
    await once(server, 'listening');
    try {
      const job = await jobscope.enqueue('contract-job', { key: 'first thing' });
      expect((await waitForJob(database.handle, job.jobId, hasStatus('completed'))).result).toEqual({ handled: 'first thing' });
    } finally {
      await closer(server)();
      await jobscope.close();
      await database.destroy();
    }
  });
});
