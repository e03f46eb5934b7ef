import { randomUUID } from 'node:crypto';
import { QstashError, type Client } from '@upstash/qstash';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { jobExecutions, type JobEnvelope, type JobExecution, type JobMetadata } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { actorLabel, APP_ACTOR, type Actor } from './actor.js';
import { errorMessage, InvalidPayloadError, PublishError, toPayloadIssues } from './errors.js';
import { UNSTORABLE_TEXT, unstorablePaths } from './storable.js';
import type { JobDefinition, JobRegistry } from './registry.js';

/**
 * Seconds QStash waits for an attempt beyond the handler's own timeout, so the worker has time to
 * record a timed-out run and answer before QStash gives up on the request.
 */
export const QSTASH_TIMEOUT_GRACE_SECONDS = 10;

export interface EnqueueCommand {
  /** Stored with the job; `userId` and `organizationId` (strings) are indexed for filters. */
  metadata?: JobMetadata | undefined;
  /** Deliver no sooner than this many seconds from now. */
  delaySeconds?: number | undefined;
  /** Who asked, named on the `[jobs]` log lines; default: the embedding app. */
  actor?: Actor | undefined;
}

export interface RepublishOptions {
  /** Deliver no sooner than this many seconds from now. */
  delaySeconds?: number | undefined;
  /** The caller's logger (it names the actor). */
  logger?: Logger | undefined;
}

export interface DispatcherDeps {
  db: Database;
  registry: JobRegistry;
  /** The QStash client (created once the server knows its own address). */
  qstash: () => Client;
  /** Public URL of a worker endpoint path (base URL + base path + path; known once the server is reachable). */
  endpointUrl: (path: string) => string;
  logger: Logger;
}

/** Validates, records and publishes jobs. */
export class JobDispatcher {
  constructor(private readonly deps: DispatcherDeps) {}

  /**
   * Validates `payload` against the type's schema (InvalidPayloadError, nothing written), inserts
   * the `pending` row, publishes it to QStash and stores the message id. A publish failure marks
   * the row `failed` with the reason and throws PublishError: no job is left pending by us.
   */
  async enqueue(type: string, payload: unknown, command: EnqueueCommand = {}): Promise<JobExecution> {
    const metadata = command.metadata ?? {};
    const definition = this.deps.registry.get(type);
    const parsed = definition.schema.safeParse(payload);
    if (!parsed.success) throw new InvalidPayloadError(type, toPayloadIssues(parsed.error));
    // What PostgreSQL refuses would fail the insert as an unexpected error: refused here, named.
    const unstorable = unstorablePaths({ payload: parsed.data, metadata });
    if (unstorable.length > 0) {
      throw new InvalidPayloadError(type, unstorable.map((path) => ({ path, message: UNSTORABLE_TEXT })));
    }

    const jobId = randomUUID();
    const envelope: JobEnvelope = {
      jobId,
      type,
      payload: parsed.data,
      metadata: { ...metadata, createdAt: new Date().toISOString() },
    };
    const [row] = await this.deps.db
      .insert(jobExecutions)
      .values({
        jobId,
        jobType: type,
        status: 'pending',
        payload: envelope,
        maxRetries: definition.retries,
        userId: stringOrNull(metadata.userId),
        organizationId: stringOrNull(metadata.organizationId),
      })
      .returning();
    const logger = this.deps.logger.child({ actor: actorLabel(command.actor ?? APP_ACTOR) });
    return this.publish(definition, envelope, row!, { delaySeconds: command.delaySeconds, logger });
  }

  /**
   * Publishes an existing row's envelope again (the manual retry). The caller has already reset
   * the row; failures are recorded exactly as for a first publish.
   */
  async republish(execution: JobExecution, options: RepublishOptions = {}): Promise<JobExecution> {
    const definition = this.deps.registry.get(execution.jobType);
    return this.publish(definition, execution.payload, execution, options);
  }

  /**
   * Whether QStash still holds `messageId` (it will deliver it again): false once it was
   * delivered, dead-lettered or cancelled, which `GET /v2/messages/{id}` answers with 404.
   */
  async holdsMessage(messageId: string): Promise<boolean> {
    try {
      await this.deps.qstash().messages.get(messageId);
      return true;
    } catch (error) {
      if (error instanceof QstashError && error.status === 404) return false;
      throw error;
    }
  }

  /**
   * Asks QStash to drop a message that has not been delivered yet. A message QStash no longer
   * holds (already delivered, failed or cancelled) is not an error: answers false.
   */
  async cancelMessage(messageId: string): Promise<boolean> {
    try {
      const { cancelled } = await this.deps.qstash().messages.cancel(messageId);
      return cancelled > 0;
    } catch (error) {
      if (error instanceof QstashError && error.status === 404) return false;
      throw error;
    }
  }

  private async publish(
    definition: JobDefinition,
    envelope: JobEnvelope,
    row: JobExecution,
    options: RepublishOptions,
  ): Promise<JobExecution> {
    const { jobId, type } = envelope;
    const url = this.deps.endpointUrl(definition.endpoint);
    const log = (options.logger ?? this.deps.logger).child({ jobId, jobType: type });
    log.info('[jobs] Enqueueing job', { jobId, type, url });
    let messageId: string;
    try {
      const response = await this.deps.qstash().publishJSON({
        url,
        body: envelope,
        retries: definition.retries,
        // Whole seconds: QStash takes `Upstash-Timeout` as an integer duration.
        timeout: Math.ceil(definition.timeoutSeconds) + QSTASH_TIMEOUT_GRACE_SECONDS,
        ...(options.delaySeconds ? { delay: options.delaySeconds } : {}),
      });
      messageId = response.messageId;
    } catch (cause) {
      const error = new PublishError(jobId, { cause });
      log.error('[jobs] Job enqueue failed', { jobId, type, error: errorMessage(cause), event: 'failed' });
      await this.deps.db
        .update(jobExecutions)
        .set({ status: 'failed', error: error.message, completedAt: new Date(), updatedAt: new Date() })
        .where(eq(jobExecutions.jobId, jobId));
      throw error;
    }
    // Only the id: by now the delivery may already have moved the row on.
    const [updated] = await this.deps.db
      .update(jobExecutions)
      .set({ messageId })
      .where(eq(jobExecutions.jobId, jobId))
      .returning();
    log.info('[jobs] Job enqueued successfully', { jobId, type, messageId, event: 'enqueued' });
    return updated ?? { ...row, messageId };
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}
