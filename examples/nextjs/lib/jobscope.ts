import { createFetchHandler, type FetchHandler } from 'jobscope/fetch';
import config from '../jobscope.config';

/**
 * One jobscope per process. `next dev` evaluates route modules again when files change; a second
 * instance would open the PGlite folder a second time (one process may hold it), so the handler is
 * kept on globalThis, which survives those reloads. jobscope itself starts on the first request.
 */
const globalForJobscope = globalThis as typeof globalThis & { jobscopeHandler?: FetchHandler };

export const jobscopeHandler = (globalForJobscope.jobscopeHandler ??= createFetchHandler({
  ...config,
  // `next start` sets NODE_ENV=production, on a laptop too, and jobscope reads NODE_ENV as its own
  // `env`: production needs a real QStash token, signing keys, BASE_URL and API keys. JOBSCOPE_ENV,
  // when set, says which one jobscope runs as (`development` keeps the local QStash stand-in).
  environment: { ...process.env, NODE_ENV: process.env.JOBSCOPE_ENV ?? process.env.NODE_ENV },
}));
