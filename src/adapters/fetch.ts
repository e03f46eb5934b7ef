/**
 * `jobscope/fetch`: jobscope as one WHATWG handler, `(request: Request) => Promise<Response>`, for
 * anything that speaks the Fetch API: a Next.js App Router route handler, Hono, Bun, Deno.
 *
 * ```ts
 * // app/jobscope/[...path]/route.ts
 * import { createFetchHandler } from 'jobscope/fetch';
 * import config from '@/jobscope.config';
 * const handler = createFetchHandler({ ...config, basePath: '/jobscope' });
 * export { handler as GET, handler as POST };
 * ```
 */
import { createJobscope, type CreateJobscopeOptions, type Jobscope } from '../jobscope.js';

export interface FetchHandler {
  (request: Request): Promise<Response>;
  /** The instance, started on first use. */
  jobscope(): Promise<Jobscope>;
  /** Closes the instance if it was started. */
  close(): Promise<void>;
}

/**
 * A handler for an instance, or for options: then jobscope starts on the first request (route
 * modules are loaded before any request, and start-up opens the database), once. A start-up
 * failure is logged to the console and answers 503 (with its reason, in development); the next
 * request tries again.
 */
export function createFetchHandler(source: Jobscope | Promise<Jobscope> | CreateJobscopeOptions): FetchHandler {
  let instance: Promise<Jobscope> | undefined = isJobscope(source) || source instanceof Promise ? Promise.resolve(source) : undefined;
  const start = () => {
    instance ??= createJobscope(source as CreateJobscopeOptions).catch((error: unknown) => {
      instance = undefined;
      throw error;
    });
    return instance;
  };
  const handler = (async (request: Request) => {
    let jobscope: Jobscope;
    try {
      jobscope = await start();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      // No logger exists before a start succeeds: the console is where the app's own errors go.
      console.error(`[jobscope] failed to start: ${reason}`);
      // The reason can name hosts and ports; outside development it stays in the log.
      const development = process.env['NODE_ENV'] !== 'production' || process.env['JOBSCOPE_ENV'] === 'development';
      return Response.json({ error: 'jobscope failed to start', ...(development ? { reason } : {}) }, { status: 503 });
    }
    return jobscope.fetch(request);
  }) as FetchHandler;
  handler.jobscope = start;
  handler.close = async () => {
    const started = instance;
    instance = undefined;
    if (started) await (await started).close();
  };
  return handler;
}

function isJobscope(value: unknown): value is Jobscope {
  return value !== null && typeof value === 'object' && typeof (value as Jobscope).fetch === 'function' && 'jobs' in value;
}
