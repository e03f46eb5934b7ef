import { afterAll, beforeAll } from 'vitest';
import Transport from 'winston-transport';
import { createApp, type JobscopeApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { serveNode, type NodeServer } from '../../src/adapters/node-server.js';
import type { DatabaseHandle } from '../../src/db/client.js';
import { getJobExecutionByJobId } from '../../src/jobs/read/index.js';
import type { JobDefinition } from '../../src/jobs/registry.js';
import type { JobExecution, JobStatus } from '../../src/db/schema.js';
import { createLogger, type Logger } from '../../src/logger.js';
import { createTestDatabase, type TestDatabase } from './db.js';

/** A log entry as winston hands it to transports. */
export type LogEntry = { level: string; message: string; [key: string]: unknown };

/** Keeps every entry in memory so tests can assert the operators' log lines. */
class MemoryTransport extends Transport {
  readonly entries: LogEntry[] = [];
  override log(info: LogEntry, next: () => void): void {
    this.entries.push(info);
    next();
  }
}

export function createTestLogger(): { logger: Logger; entries: LogEntry[] } {
  const logger = createLogger({ level: 'debug', silent: true, secrets: [] });
  const memory = new MemoryTransport();
  logger.add(memory);
  return { logger, entries: memory.entries };
}

/** Environment of a test instance: local stand-in with millisecond backoff, no log files. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', QSTASH_RETRY_DELAY_FACTOR: '0.0001', LOG_DIR: 'off', ...env });
}

export interface TestApp {
  app: JobscopeApp;
  /** The node server it is served on. */
  server: NodeServer;
  baseUrl: string;
  logs: LogEntry[];
  close(): Promise<void>;
}

/** A real jobscope on 127.0.0.1 with an ephemeral port, over the given database. */
export async function startTestApp(
  database: DatabaseHandle,
  options: { jobs?: JobDefinition<any>[]; env?: Record<string, string>; /** Default: any free port. */ port?: number } = {},
): Promise<TestApp> {
  const { logger, entries } = createTestLogger();
  const app = await createApp({
    config: testConfig(options.env),
    logger,
    database,
    ...(options.jobs ? { jobs: options.jobs } : {}),
  });
  const server = await serveNode(app, { port: options.port ?? 0, host: '127.0.0.1' });
  return { app, server, baseUrl: app.baseUrl(), logs: entries, close: () => server.close() };
}

/** Polls the job row until `predicate` holds (deliveries are asynchronous by nature). */
export async function waitForJob(
  database: DatabaseHandle,
  jobId: string,
  predicate: (row: JobExecution) => boolean,
  timeoutMs = 10_000,
): Promise<JobExecution> {
  const deadline = Date.now() + timeoutMs;
  let last: JobExecution | undefined;
  while (Date.now() < deadline) {
    last = await getJobExecutionByJobId(database.db, jobId);
    if (last && predicate(last)) return last;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`job ${jobId} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

export const hasStatus = (...statuses: JobStatus[]) => (row: JobExecution) => statuses.includes(row.status);

/**
 * A fresh database and a test app on it for the enclosing file or describe block: started in
 * beforeAll, closed and dropped in afterAll. Read `.app` and `.database` inside tests.
 */
export function useTestApp(options: { jobs?: JobDefinition<any>[]; env?: Record<string, string> } = {}): {
  readonly app: TestApp;
  readonly database: TestDatabase;
} {
  let app: TestApp | undefined;
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    app = await startTestApp(database.handle, options);
  });
  afterAll(async () => {
    await app?.close();
    await database?.destroy();
  });
  return {
    get app() {
      return app!;
    },
    get database() {
      return database!;
    },
  };
}
