/**
 * `npm run qstash:dev`: the local QStash stand-in on its own, like `qstash dev`.
 * Listens on port 8080 (env PORT overrides) with the public dev credentials.
 */
import { createServer } from 'node:http';
import { createServerAdapter } from '@whatwg-node/server';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from './dev-credentials.js';
import { createQStashStandIn } from './standin/index.js';

if (process.env.NODE_ENV === 'production') {
  console.error('The local QStash stand-in uses public development credentials and refuses to run with NODE_ENV=production.');
  process.exit(1);
}

const port = Number(process.env.PORT || 8080);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`Invalid PORT: ${process.env.PORT}`);
  process.exit(1);
}

/** A positive number from the environment, `1` when unset; exits with the hint when it is not one. */
function positiveFactor(name: string, hint: string): number {
  const text = process.env[name];
  const value = text ? Number(text) : 1;
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`Invalid ${name}: ${text} (${hint})`);
    process.exit(1);
  }
  return value;
}

// Scale the retry backoff (and Retry-After answers) and the schedule clock like the in-process
// stand-in's options, so tests and demos against this process see retries and cron runs in seconds.
const retryDelayFactor = positiveFactor('QSTASH_RETRY_DELAY_FACTOR', "a positive number, 1 = QStash's real delays");
const scheduleTimeScale = positiveFactor('QSTASH_SCHEDULE_TIME_SCALE', 'a positive number, 1 = real time, 60 = a minute per second');

const log =
  (level: string) =>
  (message: string, meta?: object): void => {
    console.log(`${new Date().toISOString()} ${level} ${message}${meta ? ` ${JSON.stringify(meta)}` : ''}`);
  };

const standIn = createQStashStandIn({
  token: DEV_QSTASH_TOKEN,
  currentSigningKey: DEV_CURRENT_SIGNING_KEY,
  nextSigningKey: DEV_NEXT_SIGNING_KEY,
  retryDelayFactor,
  scheduleTimeScale,
  logger: {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: process.env.QSTASH_STANDIN_DEBUG ? log('debug') : () => {},
  },
});

const server = createServer(createServerAdapter((request: Request) => standIn.fetch(request)));

server.listen(port, () => {
  const address = server.address();
  const actualPort = typeof address === 'object' && address ? address.port : port;
  console.log(`QStash stand-in running at http://localhost:${actualPort}

A local QStash for development: messages live in memory and are lost on exit.
Use these environment variables:

QSTASH_URL=http://localhost:${actualPort}
QSTASH_TOKEN=${DEV_QSTASH_TOKEN}
QSTASH_CURRENT_SIGNING_KEY=${DEV_CURRENT_SIGNING_KEY}
QSTASH_NEXT_SIGNING_KEY=${DEV_NEXT_SIGNING_KEY}
`);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal} received, shutting down the QStash stand-in`);
  await standIn.close();
  server.closeAllConnections();
  server.close(() => process.exit(0));
}

process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
