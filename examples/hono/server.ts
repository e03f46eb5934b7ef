import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { createFetchHandler } from 'jobscope/fetch';
import { notifySlack } from './jobs.js';

const port = Number(process.env.PORT ?? 3000);

// jobscope starts on its first request. Environment variables (DATABASE_URL, QSTASH_TOKEN,
// BASE_URL, …) override these options.
const jobscope = createFetchHandler({ jobs: [notifySlack], basePath: '/jobscope' });

const app = new Hono();
app.get('/', (c) => c.text('my app'));
// The raw Request, body unread: QStash signatures are checked on its bytes.
app.all('/jobscope/*', (c) => jobscope(c.req.raw));

const server = serve({ fetch: app.fetch, port }, () => {
  console.log(`my app on http://localhost:${port}, jobs at http://localhost:${port}/jobscope/graphql`);
});

async function shutdown() {
  server.close();
  await jobscope.close();
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
