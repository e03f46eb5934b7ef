import { z } from 'zod';
import type { Database } from '../db/client.js';
import type { JobEnvelope } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { UnknownJobTypeError } from './errors.js';

/** What becomes of a job whose run lost its worker; see {@link JobDefinition.onWorkerLost}. */
export type WorkerLostPolicy = 'retry' | 'fail';

/** What a handler gets besides its payload. */
export interface JobContext {
  /** Aborted when the job's timeout passes: long work should stop when it fires. */
  signal: AbortSignal;
  /** `logger.child({ jobId, jobType })`. */
  logger: Logger;
  db: Database;
}

export interface JobDefinition<TSchema extends z.ZodType = z.ZodType> {
  /** The job type, e.g. `send-email`. */
  type: string;
  /** Worker endpoint path QStash delivers to, e.g. `/api/jobs/email`. */
  endpoint: string;
  /** Validates the payload at enqueue and again on delivery. */
  schema: TSchema;
  /** Longest a single attempt may run. */
  timeoutSeconds: number;
  /** Retries QStash makes after the first attempt fails. */
  retries: number;
  description?: string;
  /**
   * What the reaper does with a job whose attempt lost its worker (the process died mid-run) once
   * QStash will not deliver it again: `retry` re-enqueues it (as a manual retry does, while the
   * job has lost its worker no more than `retries` times), `fail` fails it. Default `retry`.
   * Jobs that must not run twice in part (a payment without an idempotency key) choose `fail`.
   */
  onWorkerLost?: WorkerLostPolicy;
  /**
   * How many of its runs QStash delivers at once: the parallelism of the type's QStash queue
   * (default: the `queues.parallelism` option). A run holds its turn through its retries.
   */
  parallelism?: number;
  /** Runs the job; what it returns (JSON) is stored as the execution's result. */
  handler: (payload: z.output<TSchema>, job: JobEnvelope, context: JobContext) => Promise<unknown>;
}

/**
 * What a job definition must hold, checked where definitions come from outside (a config file,
 * `createJobscope`): every problem is named at once instead of failing at the first delivery.
 */
export const JobDefinitionSchema = z.looseObject({
  type: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/, 'must be a name of letters, digits, ".", "_", ":" or "-"'),
  endpoint: z.string().regex(/^\/[A-Za-z0-9._~\/-]*$/, 'must be a path starting with /, e.g. /api/jobs/email'),
  // Duck-typed: the team's zod may be another copy than jobscope's.
  schema: z.custom<z.ZodType>((v) => typeof (v as { safeParse?: unknown } | null)?.safeParse === 'function', 'must be a zod schema'),
  timeoutSeconds: z.number().positive(),
  retries: z.number().int().min(0).max(100),
  description: z.string().optional(),
  onWorkerLost: z.enum(['retry', 'fail']).optional(),
  parallelism: z.number().int().min(1).max(1000).optional(),
  handler: z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', 'must be a function'),
});

/** Keeps the payload type flowing from the schema into the handler. */
export function defineJob<TSchema extends z.ZodType>(definition: JobDefinition<TSchema>): JobDefinition<TSchema> {
  return definition;
}

/** Job type → definition, and endpoint path → definition for the worker routes. */
export class JobRegistry {
  private readonly byType = new Map<string, JobDefinition>();
  private readonly byEndpoint = new Map<string, JobDefinition>();

  constructor(definitions: readonly JobDefinition<any>[]) {
    for (const definition of definitions) {
      if (this.byType.has(definition.type)) throw new Error(`Job type "${definition.type}" is registered twice`);
      if (this.byEndpoint.has(definition.endpoint)) {
        throw new Error(`Endpoint ${definition.endpoint} is registered twice`);
      }
      if (!definition.endpoint.startsWith('/')) throw new Error(`Endpoint of "${definition.type}" must start with /`);
      this.byType.set(definition.type, definition);
      this.byEndpoint.set(definition.endpoint, definition);
    }
  }

  /** The definition of `type`, or UnknownJobTypeError. */
  get(type: string): JobDefinition {
    const definition = this.byType.get(type);
    if (!definition) throw new UnknownJobTypeError(type, this.types());
    return definition;
  }

  /** The definition of `type`, or undefined (a job recorded under a type no longer registered). */
  forType(type: string): JobDefinition | undefined {
    return this.byType.get(type);
  }

  forEndpoint(path: string): JobDefinition | undefined {
    return this.byEndpoint.get(path);
  }

  list(): JobDefinition[] {
    return [...this.byType.values()];
  }

  types(): string[] {
    return [...this.byType.keys()];
  }
}
