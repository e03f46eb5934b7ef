import type { Policy } from '../config/policy.js';
import type { Database } from '../db/client.js';
import type { JobExecution, JobLog, JobMetadata, SignatureFailure } from '../db/schema.js';
import { logsOfJob } from './job-logs.js';
import type { Logger } from '../logger.js';
import { actorLabel, APP_ACTOR, type Actor } from './actor.js';
import { cancelJob } from './cancel.js';
import type { EnqueueCommand, JobDispatcher } from './dispatcher.js';
import type { JobEventBus } from './events.js';
import {
  countJobExecutions,
  findSlowJobTypes,
  findStuckJobs,
  getJobExecutionByJobId,
  jobBacklog,
  jobHealth,
  jobStatistics,
  jobThroughput,
  listJobExecutions,
  rollupSnapshot,
  type JobBacklog,
  type JobExecutionFilter,
  type JobExecutionShape,
  type JobHealthReport,
  type ListJobExecutions,
  type StatsWindow,
  type ThroughputWindow,
} from './read/index.js';
import type { JobRegistry } from './registry.js';
import { reapLostAttempts, type ReapResult } from './ops/reaper.js';
import { failDeadLetteredJobs } from './ops/undelivered.js';
import { audited, auditOfJob, listAuditLog, type AuditedAction, type AuditEntry, type AuditSummary, type ListAuditLog } from './ops/audit.js';
import {
  cancelBulk,
  getBulk,
  listBulk,
  planBulk,
  runBulkPass,
  sampleOfBulk,
  startBulk,
  type BulkKind,
  type BulkOperation,
  type BulkPass,
} from './ops/bulk.js';
import {
  deadLetterOfMessage,
  deleteDeadLetters,
  listDeadLetters,
  retryDeadLetters,
  type DeadLetter,
  type ListDeadLetters,
  type RetriedDeadLetter,
} from './ops/dead-letters.js';
import { diagnoseJob, type DiagnosisDeps, type JobDiagnosis } from './diagnosis/index.js';
import { reconcile, type Reconciliation } from './diagnosis/reconciliation.js';
import { testRunJob, type TestRun } from './test-run.js';
import { listSignatureFailures, SignatureFailureLog, type SignatureRejection } from './signature-failures.js';
import type { QStashStateDeps } from './ops/qstash.js';
import type { JobQueues, JobQueueState } from './ops/queues.js';
import {
  createSchedule,
  deleteSchedule,
  getSchedule,
  lastRunOf,
  listSchedules,
  setSchedulePaused,
  type CreateSchedule,
  type Schedule,
} from './ops/schedules.js';
import { purgeJobExecutions, type PurgeJobExecutions, type PurgeResult } from './ops/retention.js';
import type { Liveness } from './recorder.js';
import { replayJob, type ReplayInput } from './replay.js';
import { retryJob } from './retry.js';
import { processDelivery, type Delivery, type DeliveryDeps, type DeliveryOutcome } from './worker.js';

export { actorLabel, APP_ACTOR, type Actor } from './actor.js';
export type { EnqueueCommand, EnqueueTransaction } from './dispatcher.js';
export type { AuditEntry, AuditLogFilter, ListAuditLog } from './ops/audit.js';
export type { ReplayInput } from './replay.js';
export type { BulkKind, BulkOperation, BulkPass } from './ops/bulk.js';
export type { DeadLetter, DeadLetterFilter, ListDeadLetters, RetriedDeadLetter } from './ops/dead-letters.js';
export type { CreateSchedule, Schedule } from './ops/schedules.js';
export type { JobQueueState } from './ops/queues.js';
export { VERDICTS, type JobDiagnosis, type Verdict } from './diagnosis/index.js';
export type { TestRun } from './test-run.js';
export { MISMATCH_KINDS, type Mismatch, type Reconciliation } from './diagnosis/reconciliation.js';

/** A bulk retry or cancel as asked for (`retryJobs`, `cancelJobs`). */
export interface BulkRequest {
  filter: JobExecutionFilter;
  /** The filter as the caller gave it (kept with the operation and in the audit log). */
  filterAsGiven: Record<string, unknown>;
  /** Default true: count and sample, change nothing. */
  dryRun?: boolean | undefined;
  idempotencyKey?: string | undefined;
}

/** What a bulk verb answers: a dry run's count and sample, or the operation it started (or found by its key). */
export type BulkAnswer =
  | { dryRun: true; kind: BulkKind; matched: number; sample: JobExecution[] }
  | { dryRun: false; operation: BulkOperation };

export interface CommandOptions {
  /** Who asked; default: the embedding app. */
  actor?: Actor | undefined;
}

/**
 * The jobs domain behind one object: every surface (GraphQL, the worker endpoints, the adapters,
 * the CLI, a team's own code) calls these, so a rule lives in one place and every command says
 * who asked. It never speaks GraphQL or HTTP.
 */
export interface Jobs {
  readonly registry: JobRegistry;
  readonly events: JobEventBus;
  readonly policy: Policy;
  /** The database, for the GraphQL drizzle plugin's relation loading. */
  readonly db: Database;
  /**
   * Validates `payload` against the type's schema (InvalidPayloadError, nothing written), records
   * the job and its publish request in one transaction (`command.tx`: the caller's) and returns the
   * `pending` job; the relay publishes it (`publishState` says how that goes).
   */
  enqueue(type: string, payload: unknown, command?: EnqueueCommand): Promise<JobExecution>;
  /** The guide's manual retry of a failed, cancelled or stuck job (JobNotFoundError, JobNotRetryableError). */
  retry(jobId: string, options?: CommandOptions): Promise<JobExecution>;
  /** Cancels a pending or retrying job (JobNotFoundError, JobNotCancellableError). */
  cancel(jobId: string, options?: CommandOptions): Promise<JobExecution>;
  /**
   * Enqueues a new job of `jobId`'s type with `input.payload` (or the original's), validated like
   * any enqueue, linked to the original by `replayOf`; the original stays as it was
   * (JobNotFoundError, UnknownJobTypeError, InvalidPayloadError).
   */
  replay(jobId: string, input?: ReplayInput, options?: CommandOptions): Promise<JobExecution>;
  /**
   * Bulk retry or cancel of the jobs `request.filter` names that the verb may act on (see
   * TRANSITIONS): a dry run (the default) counts and samples; a real run starts a paced, resumable
   * operation over the set fixed now (BulkTooLargeError past `bulk.maxJobs`).
   */
  bulk(kind: BulkKind, request: BulkRequest, options?: CommandOptions): Promise<BulkAnswer>;
  /** Stops a running bulk operation (BulkOperationNotFoundError); a finished one is returned as it is. */
  cancelBulk(operationId: string, options?: CommandOptions): Promise<BulkOperation>;
  /** One pass of the bulk runner: claims a running operation no live instance holds and works on it. */
  runBulk(owner: string, shouldStop: () => boolean): Promise<BulkPass>;
  /**
   * Retries QStash dead letters (new messages, retried from 0); their jobs go back to `pending`
   * (DeadLetterNotFoundError when any id is unknown: then nothing is retried).
   */
  retryDeadLetters(dlqIds: readonly string[], options?: CommandOptions): Promise<RetriedDeadLetter[]>;
  /** Deletes QStash dead letters (DeadLetterNotFoundError when any id is unknown: then nothing is deleted). */
  deleteDeadLetters(dlqIds: readonly string[], options?: CommandOptions): Promise<DeadLetter[]>;
  /** Creates a QStash schedule of a job type (UnknownJobTypeError, InvalidPayloadError, InvalidArgumentError for the cron). */
  createSchedule(input: CreateSchedule, options?: CommandOptions): Promise<Schedule>;
  /** Pauses or resumes a schedule (ScheduleNotFoundError). */
  setSchedulePaused(scheduleId: string, paused: boolean, options?: CommandOptions): Promise<Schedule>;
  /** Deletes a schedule, answering it as it was (ScheduleNotFoundError); its runs' jobs stay. */
  deleteSchedule(scheduleId: string, options?: CommandOptions): Promise<Schedule>;
  /**
   * Pauses (QStash starts none of the type's waiting deliveries; runs under way finish) or resumes
   * a job type's queue (UnknownJobTypeError, QueuesDisabledError, QStashRequestError).
   */
  setJobTypePaused(jobType: string, paused: boolean, options?: CommandOptions): Promise<JobQueueState>;
  /** Deletes final jobs that finished before `olderThan`, in small batches (or counts them: `dryRun`). */
  purge(input: PurgeJobExecutions, options?: CommandOptions): Promise<PurgeResult>;
  /**
   * Runs a type's handler once, in this process, on a payload validated like an enqueue, under its
   * timeout: no QStash, no job tables (UnknownJobTypeError, InvalidPayloadError).
   */
  testJob(input: { jobType: string; payload: unknown; metadata?: JobMetadata | undefined }, options?: CommandOptions): Promise<TestRun>;
  /** Why a job is where it is: a verdict, its evidence and the remedy (undefined: no such job). */
  diagnose(jobId: string): Promise<JobDiagnosis | undefined>;
  /** QStash's message log since `since` joined with the rows: every disagreement, with both sides. */
  reconcile(since: Date): Promise<Reconciliation>;
  /** Keeps a delivery rejected for its signature (bounded, rate-limited; never throws). */
  recordSignatureFailure(rejection: SignatureRejection): Promise<void>;
  /** Runs one verified delivery and records it; the caller turns the outcome into an answer. */
  deliver(delivery: Delivery): Promise<DeliveryOutcome>;
  /**
   * One pass of the reaper: closes attempts that lost their worker as WORKER_LOST and re-enqueues
   * or fails their jobs by the type's `onWorkerLost`, then fails as DEAD_LETTERED the jobs still
   * waiting for a delivery whose message QStash dead-lettered (skipped when another instance is
   * reaping).
   */
  reap(): Promise<ReapResult>;
  /** Heartbeat interval and the silence after which a running attempt's worker counts as lost. */
  readonly liveness: Liveness;
  /** The questions the API answers, each one named query over the job tables. */
  readonly read: {
    /** One job; `shape` says which columns and relations to load (default: every column). */
    get(jobId: string, shape?: JobExecutionShape): Promise<JobExecution | undefined>;
    list(input?: ListJobExecutions, shape?: JobExecutionShape): ReturnType<typeof listJobExecutions>;
    count(filter?: JobExecutionFilter): Promise<number>;
    stats(window?: StatsWindow): ReturnType<typeof jobStatistics>;
    throughput(window?: ThroughputWindow): ReturnType<typeof jobThroughput>;
    slowJobTypes(options?: { thresholdSeconds?: number; since?: Date | undefined }): ReturnType<typeof findSlowJobTypes>;
    /** Jobs `processing` longer than `olderThanMinutes` (default: the policy's stuck threshold). */
    stuck(olderThanMinutes?: number, shape?: JobExecutionShape): Promise<JobExecution[]>;
    /** The failure-rate check; window and threshold default to the policy's. */
    health(options?: { windowMinutes?: number; failureRateThreshold?: number }): Promise<JobHealthReport>;
    /** All-time counts, sums and histograms from the rollups (what /metrics reports). */
    rollups(): ReturnType<typeof rollupSnapshot>;
    /** The audit log, newest first. */
    auditLog(input?: ListAuditLog): ReturnType<typeof listAuditLog>;
    /** The audited actions that touched one job, newest first. */
    auditOfJob(jobId: string): Promise<AuditEntry[]>;
    bulkOperation(id: string): Promise<BulkOperation | undefined>;
    bulkOperations(input?: { first?: number | undefined; after?: string | undefined }): ReturnType<typeof listBulk>;
    /** The first jobs of an operation's set, in the order it works through them. */
    bulkSample(id: string): Promise<JobExecution[]>;
    /** Pending and processing jobs per type, and the oldest pending one's age (the database's queue depth). */
    backlog(): Promise<JobBacklog[]>;
    /** The log lines kept for a job (job_logs), oldest first. */
    logsOf(jobId: string, first?: number): Promise<JobLog[]>;
    /** Deliveries rejected for their signature, newest first. */
    signatureFailures(input?: { since?: Date | undefined; first?: number | undefined; messageIds?: readonly string[] | undefined }): Promise<SignatureFailure[]>;
  };
  /** QStash's own state, read through the Client (the stand-in, or QStash by configuration). */
  readonly qstash: {
    /** QStash's dead letters, newest first, each with the job it belongs to. */
    deadLetters(input?: ListDeadLetters): ReturnType<typeof listDeadLetters>;
    /** The dead letter of one message (a job's latest), if it is in the DLQ. */
    deadLetterOfMessage(messageId: string): Promise<DeadLetter | undefined>;
    /** QStash's schedules, oldest first. */
    schedules(): Promise<Schedule[]>;
    schedule(scheduleId: string): Promise<Schedule | undefined>;
    /** The latest job a schedule's run created (from the database). */
    lastRunOf(scheduleId: string): Promise<JobExecution | undefined>;
    /** The job types' queues (paused, parallelism, lag), by type, in one call; empty when queues are off. */
    queues(): Promise<Map<string, JobQueueState>>;
    /** The queue a job type publishes through; undefined when queues are off. */
    queueNameOf(jobType: string): string | undefined;
  };
}

export interface JobsDeps {
  db: Database;
  registry: JobRegistry;
  dispatcher: JobDispatcher;
  events: JobEventBus;
  policy: Policy;
  logger: Logger;
  /** The transport's status code for an outcome, kept on each attempt. */
  answerStatus: DeliveryDeps['answerStatus'];
  liveness: Liveness;
  /** A published job waiting this long with no attempt open is looked for in QStash's DLQ by the reaper. */
  undeliveredAfterMs: number;
  /** Pacing and cap of bulk operations. */
  bulk: { ratePerSecond: number; maxJobs: number };
  /** The QStash Client (its DLQ and schedules) and the public URL of a worker endpoint path. */
  qstash: QStashStateDeps['qstash'];
  endpointUrl: QStashStateDeps['endpointUrl'];
  /** The per-type QStash queues (the relay publishes through them). */
  queues: JobQueues;
}

/** The reaper acts as jobscope itself; its log lines say `system:reaper`. */
const REAPER_ACTOR: Actor = Object.freeze({ kind: 'system', name: 'reaper' });

export function createJobs(deps: JobsDeps): Jobs {
  const { db, registry, dispatcher, events, policy, logger, answerStatus, liveness } = deps;
  const bulkDeps = { db, dispatcher, logger, stuckAfterMinutes: policy.stuckAfterMinutes };
  const logFor = (actor: Actor | undefined) => logger.child({ actor: actorLabel(actor ?? APP_ACTOR) });
  /**
   * Runs an operator's command under one audit row. The embedding app's own enqueues (the default
   * actor) are its traffic, not an operator's action, and are not audited.
   */
  const audit = <T>(actor: Actor | undefined, action: string, args: AuditedAction['args'], command: () => Promise<T>, summarize: (result: T) => AuditSummary) =>
    actor === undefined || actor.kind === 'app' ? command() : audited({ db, logger }, { actor, action, args }, command, summarize);
  const touched = (job: JobExecution): AuditSummary => ({ jobIds: [job.jobId] });
  const signatureLog = new SignatureFailureLog({ db, logger });
  const diagnosisDeps: DiagnosisDeps = { db, registry, qstash: deps.qstash, endpointUrl: deps.endpointUrl, queues: deps.queues, liveness, policy };
  const qstashState: QStashStateDeps = { db, registry, logger, qstash: deps.qstash, endpointUrl: deps.endpointUrl, queues: deps.queues };
  /** The reaper's memory of jobs QStash still held when asked (ops/undelivered.ts). */
  const askedAboutUndelivered = new Map<string, number>();
  const linkedJobs = (letters: readonly { jobId: string | null }[]) => letters.flatMap((letter) => (letter.jobId ? [letter.jobId] : []));
  return {
    registry,
    events,
    policy,
    db,
    enqueue: (type, payload, command = {}) =>
      audit(
        command.actor,
        'enqueueJob',
        { jobType: type, payload, metadata: command.metadata ?? null, delaySeconds: command.delaySeconds ?? null },
        () => dispatcher.enqueue(type, payload, command),
        touched,
      ),
    retry: (jobId, options = {}) =>
      audit(
        options.actor,
        'retryJob',
        { jobId },
        () => retryJob({ db, dispatcher, logger: logFor(options.actor) }, jobId, { stuckAfterMinutes: policy.stuckAfterMinutes }),
        touched,
      ),
    cancel: (jobId, options = {}) =>
      audit(options.actor, 'cancelJob', { jobId }, () => cancelJob({ db, dispatcher, logger: logFor(options.actor) }, jobId), touched),
    replay: (jobId, input = {}, options = {}) =>
      audit(
        options.actor,
        'replayJob',
        { jobId, payload: input.payload ?? null, metadata: input.metadata ?? null },
        () => replayJob({ db, dispatcher }, jobId, input, options.actor),
        (replay) => ({ jobIds: [jobId, replay.jobId], detail: { replayJobId: replay.jobId } }),
      ),
    bulk: (kind, request, options = {}) => {
      const actor = options.actor ?? APP_ACTOR;
      const dryRun = request.dryRun ?? true;
      return audit(
        actor,
        kind === 'retry' ? 'retryJobs' : 'cancelJobs',
        { filter: request.filterAsGiven, dryRun, idempotencyKey: request.idempotencyKey ?? null },
        async (): Promise<BulkAnswer> => {
          if (dryRun) return { dryRun, kind, ...(await planBulk(db, kind, request.filter, policy.stuckAfterMinutes)) };
          const { operation, started } = await startBulk(db, {
            kind,
            filter: request.filter,
            filterAsGiven: request.filterAsGiven,
            actor,
            idempotencyKey: request.idempotencyKey,
            ratePerSecond: deps.bulk.ratePerSecond,
            maxJobs: deps.bulk.maxJobs,
            stuckAfterMinutes: policy.stuckAfterMinutes,
          });
          logFor(actor).info(started ? '[jobs] Bulk operation started' : '[jobs] Bulk operation already started with this idempotency key', {
            bulkOperationId: operation.id,
            kind,
            matched: operation.matched,
            ratePerSecond: operation.ratePerSecond,
          });
          return { dryRun, operation };
        },
        (answer) =>
          answer.dryRun
            ? { detail: { matched: answer.matched } }
            : { bulkOperationId: answer.operation.id, detail: { matched: answer.operation.matched } },
      );
    },
    cancelBulk: (operationId, options = {}) =>
      audit(options.actor ?? APP_ACTOR, 'cancelBulkOperation', { id: operationId }, () => cancelBulk(db, operationId), (operation) => ({
        bulkOperationId: operation.id,
        detail: { status: operation.status, processed: operation.processed },
      })),
    retryDeadLetters: (dlqIds, options = {}) =>
      audit(
        options.actor ?? APP_ACTOR,
        'retryDeadLetters',
        { dlqIds: [...dlqIds] },
        () => retryDeadLetters({ ...qstashState, logger: logFor(options.actor), stuckAfterMinutes: policy.stuckAfterMinutes }, dlqIds),
        (retried) => ({ jobIds: linkedJobs(retried), detail: { messageIds: retried.map((entry) => entry.messageId) } }),
      ),
    deleteDeadLetters: (dlqIds, options = {}) =>
      audit(
        options.actor ?? APP_ACTOR,
        'deleteDeadLetters',
        { dlqIds: [...dlqIds] },
        () => deleteDeadLetters({ ...qstashState, logger: logFor(options.actor) }, dlqIds),
        (deleted) => ({ jobIds: linkedJobs(deleted), detail: { deleted: deleted.length } }),
      ),
    createSchedule: (input, options = {}) =>
      audit(
        options.actor ?? APP_ACTOR,
        'createSchedule',
        { jobType: input.jobType, cron: input.cron, payload: input.payload, metadata: input.metadata ?? null },
        () => createSchedule({ ...qstashState, logger: logFor(options.actor) }, input),
        (schedule) => ({ detail: { scheduleId: schedule.id } }),
      ),
    setSchedulePaused: (scheduleId, paused, options = {}) =>
      audit(
        options.actor ?? APP_ACTOR,
        paused ? 'pauseSchedule' : 'resumeSchedule',
        { scheduleId },
        () => setSchedulePaused({ ...qstashState, logger: logFor(options.actor) }, scheduleId, paused),
        (schedule) => ({ detail: { scheduleId: schedule.id, paused: schedule.paused } }),
      ),
    deleteSchedule: (scheduleId, options = {}) =>
      audit(
        options.actor ?? APP_ACTOR,
        'deleteSchedule',
        { scheduleId },
        () => deleteSchedule({ ...qstashState, logger: logFor(options.actor) }, scheduleId),
        (schedule) => ({ detail: { scheduleId: schedule.id, jobType: schedule.jobType } }),
      ),
    runBulk: (owner, shouldStop) => runBulkPass(bulkDeps, owner, shouldStop),
    purge: (input, options = {}) =>
      audit(
        options.actor,
        'purgeJobExecutions',
        { olderThan: input.olderThan.toISOString(), filter: input.filter ?? null, dryRun: input.dryRun ?? false },
        async () => {
          const result = await purgeJobExecutions(db, input);
          logPurge(logFor(options.actor), result, input.olderThan);
          return result;
        },
        (result) => ({ detail: { ...result } }),
      ),
    setJobTypePaused: (jobType, paused, options = {}) =>
      audit(
        options.actor,
        paused ? 'pauseJobType' : 'resumeJobType',
        { jobType },
        () => deps.queues.setPaused(jobType, paused),
        (queue) => ({ detail: { jobType, queueName: queue.name, paused: queue.paused, lag: queue.lag } }),
      ),
    testJob: (input, options = {}) =>
      audit(
        options.actor,
        'testJob',
        { jobType: input.jobType, payload: input.payload, metadata: input.metadata ?? null },
        () => testRunJob({ db, registry, logger: logFor(options.actor) }, input),
        (run) => ({ detail: { ok: run.ok, error: run.error, durationSeconds: run.durationSeconds } }),
      ),
    diagnose: (jobId) => diagnoseJob(diagnosisDeps, jobId),
    reconcile: (since) => reconcile(diagnosisDeps, since),
    recordSignatureFailure: (rejection) => signatureLog.record(rejection),
    deliver: (delivery) => processDelivery({ db, logger, answerStatus, liveness }, delivery),
    reap: async () => {
      const log = logFor(REAPER_ACTOR);
      const lost = await reapLostAttempts({ db, registry, dispatcher, logger: log, liveness });
      const undelivered = await failDeadLetteredJobs({
        db,
        logger: log,
        deadLetterOf: (messageId) => deadLetterOfMessage(qstashState, messageId),
        afterMs: deps.undeliveredAfterMs,
        asked: askedAboutUndelivered,
      });
      return { ...lost, skipped: lost.skipped || undelivered.skipped, deadLettered: undelivered.failed };
    },
    liveness,
    read: createReader(db, policy),
    qstash: {
      deadLetters: (input) => listDeadLetters(qstashState, input),
      deadLetterOfMessage: (messageId) => deadLetterOfMessage(qstashState, messageId),
      schedules: () => listSchedules(qstashState),
      schedule: (scheduleId) => getSchedule(qstashState, scheduleId),
      lastRunOf: (scheduleId) => lastRunOf(qstashState, scheduleId),
      queues: () => deps.queues.states(),
      queueNameOf: (jobType) => (deps.queues.enabled ? deps.queues.nameOf(jobType) : undefined),
    },
  };
}

/** The questions over the job tables, judged by `policy` where a question has a threshold. */
export function createReader(db: Database, policy: Policy): Jobs['read'] {
  return {
    get: (jobId, shape) => getJobExecutionByJobId(db, jobId, shape),
    list: (input, shape) => listJobExecutions(db, input, shape),
    count: (filter) => countJobExecutions(db, filter),
    stats: (window) => jobStatistics(db, window),
    throughput: (window) => jobThroughput(db, window),
    slowJobTypes: (options) => findSlowJobTypes(db, options),
    stuck: (olderThanMinutes = policy.stuckAfterMinutes, shape) => findStuckJobs(db, olderThanMinutes, shape),
    health: (options = {}) =>
      jobHealth(db, {
        windowMinutes: options.windowMinutes ?? policy.healthWindowMinutes,
        failureRateThreshold: options.failureRateThreshold ?? policy.failureRateThreshold,
        stuckAfterMinutes: policy.stuckAfterMinutes,
      }),
    rollups: () => rollupSnapshot(db),
    auditLog: (input) => listAuditLog(db, input),
    auditOfJob: (jobId) => auditOfJob(db, jobId),
    bulkOperation: (id) => getBulk(db, id),
    bulkOperations: (input) => listBulk(db, input),
    bulkSample: (id) => sampleOfBulk(db, id),
    backlog: () => jobBacklog(db),
    signatureFailures: (input) => listSignatureFailures(db, input),
    logsOf: (jobId, first) => logsOfJob(db, jobId, first),
  };
}

/** The line a purge leaves, on demand or by retention: what went, and the longest lock it held. */
export function logPurge(log: Logger, result: PurgeResult, olderThan: Date): void {
  if (result.dryRun) {
    log.info('[jobs] Purge dry run: finished jobs that would be deleted', { olderThan: olderThan.toISOString(), matched: result.matched });
  } else if (result.deleted > 0 || result.matched > 0) {
    log.info('[jobs] Purged finished jobs', {
      olderThan: olderThan.toISOString(),
      deleted: result.deleted,
      batches: result.batches,
      longestBatchMs: Math.round(result.longestBatchMs),
    });
  }
}
