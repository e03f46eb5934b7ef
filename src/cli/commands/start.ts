import { serve } from '../../adapters/node.js';
import { findConfigFile, importConfigFile } from '../../config/file.js';
import { createJobscope } from '../../jobscope.js';
import { errorMessage } from '../../jobs/errors.js';

export interface StartOptions {
  /** A config file; default: `jobscope.config.{ts,mts,js,mjs,cjs}` in the working directory, if any. */
  config?: string | undefined;
  port?: number | undefined;
  host?: string | undefined;
}

/**
 * `jobscope start`: the standalone server, from the team's config file (or, without one, the
 * shipped example job types), until SIGINT or SIGTERM.
 */
export async function start(options: StartOptions): Promise<void> {
  const file = options.config ?? findConfigFile();
  const fileConfig = file ? await importConfigFile(file) : {};
  const jobscope = await createJobscope({
    ...(fileConfig as object),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(file ? { source: file } : {}),
  });
  const { config, logger } = jobscope;
  let served: Awaited<ReturnType<typeof serve>>;
  try {
    served = await serve(jobscope, {
      // The command line wins over the environment: `--port` is the most specific thing said.
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
    });
  } catch (error) {
    await jobscope.close();
    throw error;
  }
  const publicUrl = (config.baseUrl ?? served.url) + config.basePath;
  logger.info(`[jobscope] Listening on ${publicUrl}, GraphiQL at ${publicUrl}/graphql`, {
    env: config.env,
    config: file ?? '(none: the example job types)',
    database: config.database.kind === 'postgres' ? 'postgres' : `pglite (${config.database.dataDir})`,
    qstash: config.qstash.kind === 'local' ? `local stand-in at ${publicUrl}${config.qstash.basePath}` : 'Upstash QStash',
    jobTypes: jobscope.jobs.registry.list().map((d) => `${d.type} → ${config.basePath}${d.endpoint}`),
  });

  // A promise rejected with nobody listening is a bug (ours, a library's, or a handler's that fires
  // and forgets). Node ends the process for it, taking every run in flight down with it; nothing is
  // lost that way (a delivery is acknowledged only after its run commits), but every run in flight
  // is redelivered and run again. The standalone server logs it, with its stack, and stays up.
  // Mounted in a team's own app, jobscope installs no process handler: the app decides.
  process.on('unhandledRejection', (reason) => {
    logger.error('[jobscope] Unhandled promise rejection: a bug, in jobscope or in a job handler; the server keeps running', {
      error: errorMessage(reason),
      stack: reason instanceof Error ? reason.stack : undefined,
    });
  });

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info(`[jobscope] ${signal}: shutting down`);
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    await served.close();
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}
