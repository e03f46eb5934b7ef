import { createFetchHandler, type FetchHandler } from 'jobscope/fetch';
import config from '../jobscope.config';

/**
 * One jobscope per process. `next dev` evaluates route modules again when files change; a second
 * instance would open the PGlite folder a second time (one process may hold it), so the handler is
 * kept on globalThis, which survives those reloads. jobscope itself starts on the first request.
 */
const globalForJobscope = globalThis as typeof globalThis & { jobscopeHandler?: FetchHandler };

export const jobscopeHandler = (globalForJobscope.jobscopeHandler ??= createFetchHandler(config));
