import express from 'express';
import { createJobscope, InvalidPayloadError } from 'jobscope';
import { createNodeHandler } from 'jobscope/node';
import { sendWelcome } from './jobs.js';

const port = Number(process.env.PORT ?? 3000);

// Environment variables (DATABASE_URL, QSTASH_TOKEN, BASE_URL, …) override these options.
const jobscope = await createJobscope({
  jobs: [sendWelcome],
  basePath: '/jobscope',
});
const jobscopeHandler = createNodeHandler(jobscope);

const app = express();
// First, before any body parser: QStash signatures are checked on the raw body. It takes only
// /jobscope/… and passes every other request on.
app.use(jobscopeHandler);
app.use(express.json());

app.get('/', (_req, res) => {
  res.type('text').send('my app');
});

app.post('/signup', async (req, res) => {
  const { email, name } = req.body as { email?: string; name?: string };
  try {
    // The app's own code enqueues: validated, recorded and published exactly like enqueueJob.
    const job = await jobscope.enqueue('send-welcome', { email, name }, { metadata: { userId: email } });
    res.status(201).json({ welcome: job.jobId });
  } catch (error) {
    if (!(error instanceof InvalidPayloadError)) throw error;
    res.status(400).json({ error: error.message });
  }
});

const server = app.listen(port, () => {
  console.log(`my app on http://localhost:${port}, jobs at http://localhost:${port}/jobscope/graphql`);
});
// GraphQL subscriptions over WebSocket on /jobscope/graphql.
jobscopeHandler.attach(server);

async function shutdown() {
  server.close();
  // Deliveries in flight are recorded and answered; WebSockets and the database close.
  await jobscope.close();
  server.closeAllConnections();
}
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
