import { randomUUID } from 'node:crypto';
import { QstashError, type Client } from '@upstash/qstash';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type postgres from 'postgres';
import type { Database } from '../db/client.js';
import { relations } from '../db/relations.js';
import { jobExecutions, type JobEnvelope, type JobExecution, type JobMetadata } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { actorLabel, APP_ACTOR, type Actor } from './actor.js';
import { InvalidPayloadError, toPayloadIssues } from './errors.js';
import { queuePublish, requeuePublish, type OutboxWriter } from './outbox.js';
import type { JobDefinition, JobRegistry } from './registry.js';
import { UNSTORABLE_TEXT, unstorablePaths } from './storable.js';

export { QSTASH_TIMEOUT_GRACE_SECONDS } from './relay.js';

/**
 * A transaction of the caller's own that an enqueue joins: a drizzle transaction (or database) on
 * jobscope's database, or a postgres.js transaction (`sql.begin(async (tx) => …)`). The job and
 * its publish request commit or roll back with the caller's writes.
 */
export type EnqueueTransaction = OutboxWriter | postgres.TransactionSql | postgres.Sql;

export interface EnqueueCommand {
  /** Stored with the job; `userId` and `organizationId` (strings) are indexed for filters. */
  metadata?: JobMetadata | undefined;
  /** Deliver no sooner than this many seconds from now. */
  delaySeconds?: number | undefined;
  /** Who asked, named on the `[jobs]` log lines; default: the embedding app. */
  actor?: Actor | undefined;
  /** The job this one replays (`replayJob`), kept as `replayOf`. */
  replayOf?: string | undefined;
  /**
   * Write the job inside this transaction instead of one of jobscope's own. It is published once
   * the transaction commits (the relay's poll finds it, or the event it commits wakes the relay);
   * a rollback leaves no job and publishes nothing.
   */
  tx?: EnqueueTransaction | undefined;
}

export interface RepublishOptions {
  /** The caller's logger (it names the actor). */
  logger?: Logger | undefined;
  /** The transaction the row was reset in: the publish request commits with it. */
  tx?: OutboxWriter | undefined;
}

export interface DispatcherDeps {
  db: Database;
  registry: JobRegistry;
  /** The QStash client (created once the server knows its own address), for cancelling messages. */
  qstash: () => Client;
  logger: Logger;
  /** Seconds after the enqueue that the relay may keep trying a publish (`publish.deadlineSeconds`). */
  publishDeadlineSeconds: number;
  /** A publish request was committed here: the relay publishes it without waiting for its poll. */
  onQueued?: (() => void) | undefined;
}

/**
 * The payload as its job type's zod schema parses it, or InvalidPayloadError (also for what
 * PostgreSQL cannot store, which would otherwise fail the insert as an unexpected error). What
 * an enqueue and a schedule's runs are checked by.
 */
export function validatePayload(definition: JobDefinition, payload: unknown, metadata: JobMetadata): unknown {
  const parsed = definition.schema.safeParse(payload);
  if (!parsed.success) throw new InvalidPayloadError(definition.type, toPayloadIssues(parsed.error));
  const unstorable = unstorablePaths({ payload: parsed.data, metadata });
  if (unstorable.length > 0) {
    throw new InvalidPayloadError(definition.type, unstorable.map((path) => ({ path, message: UNSTORABLE_TEXT })));
  }
  return parsed.data;
}

/** Validates and records jobs with their publish requests; the relay (relay.ts) publishes them. */
export class JobDispatcher {
  constructor(private readonly deps: DispatcherDeps) {}

  /**
   * Validates `payload` against the type's schema (InvalidPayloadError, nothing written), then
   * inserts the `pending` row and its publish request in one transaction (the caller's `tx`, or
   * one of its own) and returns the row. QStash is not called here: a QStash outage cannot lose
   * the job, and the relay retries transient failures until the publish deadline.
   */
  async enqueue(type: string, payload: unknown, command: EnqueueCommand = {}): Promise<JobExecution> {
    const metadata = command.metadata ?? {};
    const definition = this.deps.registry.get(type);
    const parsed = { data: validatePayload(definition, payload, metadata) };

    const jobId = randomUUID();
    const envelope: JobEnvelope = {
      jobId,
      type,
      payload: parsed.data,
      metadata: { ...metadata, createdAt: new Date().toISOString() },
    };
    const write = async (db: OutboxWriter): Promise<JobExecution> => {
      const [row] = await db
        .insert(jobExecutions)
        .values({
          jobId,
          jobType: type,
          status: 'pending',
          payload: envelope,
          maxRetries: definition.retries,
          userId: stringOrNull(metadata.userId),
          organizationId: stringOrNull(metadata.organizationId),
          replayOf: command.replayOf ?? null,
        })
        .returning();
      await queuePublish(db, jobId, { delaySeconds: command.delaySeconds, deadlineSeconds: this.deps.publishDeadlineSeconds });
      return row!;
    };
    const row = command.tx ? await write(writerFor(command.tx)) : await this.deps.db.transaction((tx) => write(tx));
    const log = this.deps.logger.child({ actor: actorLabel(command.actor ?? APP_ACTOR), jobId, jobType: type });
    log.info('[jobs] Enqueueing job', { jobId, type, inTransaction: command.tx !== undefined, ...(command.replayOf ? { replayOf: command.replayOf } : {}) });
    this.deps.onQueued?.();
    return row;
  }

  /** Publish requests were committed by a caller's own transaction: the relay looks now. */
  queued(): void {
    this.deps.onQueued?.();
  }

  /**
   * Queues an existing row's envelope for publishing again (the manual retry), as a new message:
   * the next generation of its publish request. The caller has already reset the row.
   */
  async republish(execution: JobExecution, options: RepublishOptions = {}): Promise<JobExecution> {
    await requeuePublish(options.tx ?? this.deps.db, execution.jobId, { deadlineSeconds: this.deps.publishDeadlineSeconds });
    (options.logger ?? this.deps.logger).info('[jobs] Enqueueing job', { jobId: execution.jobId, type: execution.jobType });
    this.deps.onQueued?.();
    return execution;
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
}

/** A drizzle writer for a caller's transaction: a postgres.js one gets a drizzle wrapper of its own. */
function writerFor(tx: EnqueueTransaction): OutboxWriter {
  if (typeof tx === 'function' && typeof (tx as postgres.Sql).unsafe === 'function') {
    const sql = tx as postgres.Sql;
    // Only what drizzle's session calls. Not the transaction itself: drizzle would install its own
    // type parsers in the options of the caller's connection (a transaction has none to install
    // them in); its column mappers read postgres.js's default Date and JSON values as well.
    const client = { options: { parsers: {}, serializers: {} }, unsafe: sql.unsafe.bind(sql) };
    return drizzlePostgres({ client: client as unknown as postgres.Sql, relations }) as unknown as OutboxWriter;
  }
  return tx as OutboxWriter;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length > 0 ? value : null;
}
