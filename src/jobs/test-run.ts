/**
 * The guide's debugging step 3, "test the job handler directly, bypass QStash": runs a type's
 * handler in this process on a payload validated like an enqueue, under the type's timeout, and
 * answers what it returned or threw and the log lines it wrote. Nothing is published and no job
 * table or statistic is written (the handler's own writes are its own).
 */
import { randomUUID } from 'node:crypto';
import type { Database } from '../db/client.js';
import type { JobEnvelope, JobMetadata } from '../db/schema.js';
import { capturingLogger, type CapturedLog, type Logger } from '../logger.js';
import { validatePayload } from './dispatcher.js';
import { errorMessage, JobTimeoutError } from './errors.js';
import type { JobRegistry } from './registry.js';
import { runHandler } from './worker.js';

export interface TestRun {
  jobType: string;
  /** The id the handler saw (`test-run-…`): no job of that id exists. */
  jobId: string;
  ok: boolean;
  result: unknown;
  error: string | null;
  timedOut: boolean;
  durationSeconds: number;
  logs: CapturedLog[];
}

/**
 * Runs the handler of `jobType` once on `payload` (UnknownJobTypeError, InvalidPayloadError before
 * anything runs). A handler that throws or runs past its timeout is an answer, not an error.
 */
export async function testRunJob(
  deps: { db: Database; registry: JobRegistry; logger: Logger },
  input: { jobType: string; payload: unknown; metadata?: JobMetadata | undefined },
): Promise<TestRun> {
  const definition = deps.registry.get(input.jobType);
  const metadata = input.metadata ?? {};
  const payload = validatePayload(definition, input.payload, metadata);
  const jobId = `test-run-${randomUUID()}`;
  const envelope: JobEnvelope = { jobId, type: definition.type, payload, metadata };
  const { logger, entries } = capturingLogger(deps.logger, { jobId, jobType: definition.type, testRun: true });
  const started = performance.now();
  logger.info('[jobs] Test run started', { event: 'test_run' });
  try {
    const result = await runHandler(definition, payload, envelope, { db: deps.db, logger });
    const durationSeconds = (performance.now() - started) / 1000;
    logger.info('[jobs] Test run completed', { durationSeconds });
    return { jobType: definition.type, jobId, ok: true, result: result ?? null, error: null, timedOut: false, durationSeconds, logs: entries };
  } catch (thrown) {
    const durationSeconds = (performance.now() - started) / 1000;
    const error = errorMessage(thrown);
    logger.warn('[jobs] Test run failed', { error, durationSeconds });
    return { jobType: definition.type, jobId, ok: false, result: null, error, timedOut: thrown instanceof JobTimeoutError, durationSeconds, logs: entries };
  }
}
