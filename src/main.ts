import { createJobscope } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/client.js';
import { MigrationError, migrateDatabase } from './db/migrate.js';
import { defaultJobs } from './jobs/index.js';
import { createLogger } from './logger.js';

/** Start-up only: read config, open and migrate the database, listen, shut down cleanly. */
let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

const secrets = [config.signingKeys.current, config.signingKeys.next, config.qstash.token, ...config.apiKeys.read, ...config.apiKeys.operate];
const logger = createLogger({ level: config.log.level, format: config.log.format, dir: config.log.dir, secrets });

const database = await openDatabase(
  config.database.kind === 'postgres' ? config.database : { kind: 'pglite', dataDir: config.database.dataDir },
);
try {
  await migrateDatabase(database);
} catch (error) {
  // E.g. a guide table that cannot be adopted: the database's reason, not a stack trace.
  if (error instanceof MigrationError) {
    console.error(error.message);
    await database.close();
    process.exit(1);
  }
  throw error;
}
// Register your own job types here, next to the shipped examples (README: "Adding a job type").
const jobs = [...defaultJobs({ logger })];
const app = await createJobscope({ config, logger, database, jobs });
const baseUrl = await app.listen();

logger.info(`[jobscope] Listening on ${baseUrl}, GraphiQL at ${baseUrl}/graphql`, {
  env: config.env,
  database: config.database.kind === 'postgres' ? 'postgres' : `pglite (${config.database.dataDir})`,
  qstash: config.qstash.kind === 'local' ? `local stand-in at ${baseUrl}${config.qstash.basePath}` : 'Upstash QStash',
  jobTypes: app.registry.list().map((d) => `${d.type} → ${d.endpoint}`),
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info(`[jobscope] ${signal}: shutting down`);
  const force = setTimeout(() => process.exit(1), 15_000).unref();
  await app.close();
  await database.close();
  clearTimeout(force);
  logger.end();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
