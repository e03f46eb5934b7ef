/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type AlertChannelsInput = {
  /** Default true. */
  log?: boolean | null | undefined;
  /** At most 5; default none. */
  webhooks?: Array<AlertWebhookInput> | null | undefined;
};

export type AlertEventKind =
  /** The rule's condition started to hold, or still holds once its cooldown has passed. */
  | 'FIRED'
  /** The condition of a firing rule no longer holds. */
  | 'RESOLVED';

/** What an alert rule measures. A rule fires when the value reaches its threshold (value ≥ threshold). */
export type AlertMetric =
  /** Age in seconds of the oldest `pending` job (enqueued or retried, not started), as queueDepth reports it; 0 when none waits. The window does not apply. The jobs: the oldest pending ones. Unit: seconds. */
  | 'BACKLOG_AGE'
  /** Messages in QStash's dead-letter queue (of the scope's jobs, when a scope is given; at most 1000 counted). The window does not apply. The jobs: those of the newest dead letters. Unit: jobs. */
  | 'DEAD_LETTERS'
  /** Failed ÷ all jobs created in the window (0 when none were), as jobHealth counts them; the threshold is a rate (0.05 = 5 %). The jobs: the newest failed ones. Unit: ratio. */
  | 'FAILURE_RATE'
  /** Deliveries the worker rejected with 401 in the window (signatureFailures). No scope: a delivery that did not verify has no job the worker could trust. No jobs; the detail counts the reasons. Unit: deliveries. */
  | 'SIGNATURE_FAILURES'
  /** The highest p95 duration, in seconds, among the job types whose jobs created in the window completed (per type, as jobStats computes it). The jobs: the slowest completed ones of the types at or over the threshold. Unit: seconds. */
  | 'SLOW_JOBS'
  /** Jobs `processing` whose attempt started more than the window's minutes ago (the stuckJobs rule with the window as its threshold). The jobs: the oldest starts. Unit: jobs. */
  | 'STUCK_JOBS';

export type AlertWebhookFormat =
  /** The event as JSON, with a `text` line (what ALERT_WEBHOOK_URL has always received). */
  | 'JSON'
  /** Slack's incoming-webhook body: `text` and `blocks`. */
  | 'SLACK';

export type AlertWebhookInput = {
  /** Default JSON. */
  format?: AlertWebhookFormat | null | undefined;
  /** At least 16 characters: each body is signed with it (X-Jobscope-Signature). Never shown again. */
  secret?: string | null | undefined;
  url: string;
};

export type ApiRole =
  /** Also mutations (JOBSCOPE_OPERATE_KEYS, or no keys configured). */
  | 'OPERATE'
  /** Queries and subscriptions. */
  | 'READ';

export type BulkOperationKind =
  | 'CANCEL'
  | 'RETRY';

export type BulkOperationStatus =
  /** Stopped by cancelBulkOperation; jobs it had reached stay acted on. */
  | 'CANCELLED'
  /** Every job of its set was acted on (see succeeded / failed). */
  | 'COMPLETED'
  /** Counted and sampled; nothing was changed or started. */
  | 'DRY_RUN'
  /** It could not go on. */
  | 'FAILED'
  /** Working through its set at its pace. */
  | 'RUNNING';

export type CheckStatus =
  /** Broken: the fix says what to do. */
  | 'FAIL'
  | 'PASS'
  /** Works, but something needs a look. */
  | 'WARN';

export type CreateAlertRuleInput = {
  /** Default: the log only. */
  channels?: AlertChannelsInput | null | undefined;
  /** Default 60. */
  cooldownMinutes?: number | null | undefined;
  /** Default true. */
  enabled?: boolean | null | undefined;
  metric: AlertMetric;
  name: string;
  /** Which jobs (no time fields: the window is the time). Default: every job. */
  scope?: JobFilter | null | undefined;
  /** It fires when the value reaches this: a rate for FAILURE_RATE (0.05), seconds for SLOW_JOBS and BACKLOG_AGE, a count otherwise. */
  threshold: number;
  /** Default 60. */
  windowMinutes?: number | null | undefined;
};

/** Which of the operations guide's failure scenarios a job is in, or that it is fine. */
export type DiagnosisVerdict =
  /** Cancelled. */
  | 'CANCELLED'
  /** QStash could not deliver it to the worker endpoint (connection refused, DNS, 404/5xx before the worker ran). */
  | 'ENDPOINT_UNREACHABLE'
  /** The handler threw; see `handlerError`. */
  | 'HANDLER_ERROR'
  /** Completed. */
  | 'HEALTHY'
  /** Delayed and not due, waiting in its type's (maybe paused) queue, or not published yet. */
  | 'NOT_DELIVERED_YET'
  /** The worker refused its payload (the type's schema); see `payload`. */
  | 'PAYLOAD_INVALID'
  /** Publishing it to QStash failed; it was never delivered. */
  | 'PUBLISH_FAILED'
  /** An attempt failed; QStash will deliver it again. */
  | 'RETRYING'
  /** An attempt is running and its worker is alive. */
  | 'RUNNING'
  /** The worker rejected QStash's deliveries with 401: the signature did not verify (signing keys, BASE_URL). */
  | 'SIGNATURE_INVALID'
  /** An attempt ran past the type's timeout; see `timeout`. */
  | 'TIMEOUT'
  /** An attempt started and never finished: a crash, a kill or a deploy. */
  | 'WORKER_LOST';

export type EnqueueJobInput = {
  /** Deliver no sooner than this many seconds from now. */
  delaySeconds?: number | null | undefined;
  /** A name from `jobTypes`. */
  jobType: string;
  /** An object stored with the job; `userId` and `organizationId` (strings) are indexed for filters. */
  metadata?: unknown;
  /** Validated against the type's `payloadSchema`. */
  payload: unknown;
};

export type HealthStatus =
  | 'HEALTHY'
  /** failureRate >= failureRateThreshold. */
  | 'UNHEALTHY';

/** The job lifecycle vocabulary, shared with the logs and the recorder. */
export type JobEventType =
  | 'CANCELLED'
  | 'COMPLETED'
  | 'ENQUEUED'
  | 'FAILED'
  | 'REQUEUED'
  | 'RETRYING'
  | 'STARTED';

/** Which jobs: every given field must hold; a list matches any of its values (an empty list matches nothing). The same fields as JobFilter. */
export type JobExecutionFilter = {
  /** Reached a final status at or after this instant. */
  completedAfter?: string | null | undefined;
  /** Reached a final status before this instant. */
  completedBefore?: string | null | undefined;
  /** Created at or after this instant. */
  createdAfter?: string | null | undefined;
  /** Created before this instant. */
  createdBefore?: string | null | undefined;
  /** Ran at least this long: `completedAt − startedAt` ≥ this many seconds (jobs with both). */
  durationAtLeastSeconds?: number | null | undefined;
  /** Case-insensitive substring of the last error (`%` and `_` are taken literally). Not indexed: it scans the rows the other fields leave. */
  errorContains?: string | null | undefined;
  /** Any of these job ids (at most 1000). */
  jobId?: Array<string | number> | null | undefined;
  /** Any of these job types. */
  jobType?: Array<string> | null | undefined;
  /** `metadata.organizationId` equals this. */
  organizationId?: string | null | undefined;
  /** jsonb containment (`@>`) on the job's payload: `{ "to": "ada@example.com" }` matches payloads holding that key and value. */
  payloadContains?: unknown;
  /** Retried at least this many times (`retryCount` ≥ this). */
  retryCountAtLeast?: number | null | undefined;
  /** Created by a run of this QStash schedule (`Upstash-Schedule-Id`). */
  scheduleId?: string | null | undefined;
  /** Any of these statuses. */
  status?: Array<JobStatus> | null | undefined;
  /** `metadata.userId` equals this. */
  userId?: string | null | undefined;
};

/** Ties are broken by jobId in the same direction. */
export type JobExecutionOrder = {
  direction: OrderDirection;
  field: JobExecutionOrderField;
};

/** Orderings of jobExecutions. Rows without a value (e.g. not started yet) come last in either direction. */
export type JobExecutionOrderField =
  | 'COMPLETED_AT'
  | 'CREATED_AT'
  /** completedAt − startedAt. */
  | 'DURATION'
  | 'STARTED_AT';

/** Which jobs: every given field must hold; a list matches any of its values (an empty list matches nothing). */
export type JobFilter = {
  /** Reached a final status at or after this instant. */
  completedAfter?: string | null | undefined;
  /** Reached a final status before this instant. */
  completedBefore?: string | null | undefined;
  /** Created at or after this instant. */
  createdAfter?: string | null | undefined;
  /** Created before this instant. */
  createdBefore?: string | null | undefined;
  /** Ran at least this long: `completedAt − startedAt` ≥ this many seconds (jobs with both). */
  durationAtLeastSeconds?: number | null | undefined;
  /** Case-insensitive substring of the last error (`%` and `_` are taken literally). Not indexed: it scans the rows the other fields leave. */
  errorContains?: string | null | undefined;
  /** Any of these job ids (at most 1000). */
  jobId?: Array<string | number> | null | undefined;
  /** Any of these job types. */
  jobType?: Array<string> | null | undefined;
  /** `metadata.organizationId` equals this. */
  organizationId?: string | null | undefined;
  /** jsonb containment (`@>`) on the job's payload: `{ "to": "ada@example.com" }` matches payloads holding that key and value. */
  payloadContains?: unknown;
  /** Retried at least this many times (`retryCount` ≥ this). */
  retryCountAtLeast?: number | null | undefined;
  /** Created by a run of this QStash schedule (`Upstash-Schedule-Id`). */
  scheduleId?: string | null | undefined;
  /** Any of these statuses. */
  status?: Array<JobStatus> | null | undefined;
  /** `metadata.userId` equals this. */
  userId?: string | null | undefined;
};

/** Where a job is in its lifecycle. COMPLETED, FAILED and CANCELLED are final. */
export type JobStatus =
  /** Cancelled before it completed. */
  | 'CANCELLED'
  /** An attempt succeeded. */
  | 'COMPLETED'
  /** The last allowed attempt failed, or the failure was not retryable. */
  | 'FAILED'
  /** Enqueued; no attempt has started yet. */
  | 'PENDING'
  /** An attempt is running. */
  | 'PROCESSING'
  /** An attempt failed; QStash will deliver it again. */
  | 'RETRYING';

export type OrderDirection =
  | 'ASC'
  | 'DESC';

/** Where a job's publish to QStash stands. */
export type PublishState =
  /** Given up: QStash refused it (a 4xx), the publish deadline passed, or the job was cancelled first. */
  | 'FAILED'
  /** QStash accepted the message. */
  | 'PUBLISHED'
  /** Committed; the relay has not had QStash accept it yet (it may be retrying). */
  | 'QUEUED';

export type ReconciliationMismatchKind =
  /** QStash says delivered; the job is still pending, processing or retrying. */
  | 'DELIVERED_NOT_RECORDED'
  /** QStash failed or dead-lettered a message to a worker endpoint that jobscope has no job for. */
  | 'FAILED_WITHOUT_ROW'
  /** The job is pending; QStash does not hold its message. */
  | 'PENDING_NOT_IN_QSTASH'
  /** The job is completed; QStash is still working on its message. */
  | 'RETRYING_BUT_COMPLETED';

/** Bucket width; buckets are aligned in UTC. */
export type ThroughputBucketSize =
  | 'DAY'
  | 'HOUR'
  | 'MINUTE';

/** The fields to change; the others are kept. */
export type UpdateAlertRuleInput = {
  /** Default: the log only. */
  channels?: AlertChannelsInput | null | undefined;
  /** Default 60. */
  cooldownMinutes?: number | null | undefined;
  /** Default true. */
  enabled?: boolean | null | undefined;
  metric?: AlertMetric | null | undefined;
  name?: string | null | undefined;
  /** Which jobs (no time fields: the window is the time). Default: every job. */
  scope?: JobFilter | null | undefined;
  /** It fires when the value reaches this: a rate for FAILURE_RATE (0.05), seconds for SLOW_JOBS and BACKLOG_AGE, a count otherwise. */
  threshold?: number | null | undefined;
  /** Default 60. */
  windowMinutes?: number | null | undefined;
};

export type DashboardQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardQuery = { jobHealth: { status: HealthStatus, totalJobs: number, failedJobs: number, failureRate: number, stuckJobs: number, byStatus: Array<{ status: JobStatus, count: number }> }, recentFailures: { totalCount: number, nodes: Array<{ jobId: string, jobType: string, error: string | null, retryCount: number, createdAt: string, completedAt: string | null }> } };

export type EnqueueJobMutationVariables = Exact<{
  input: EnqueueJobInput;
}>;


export type EnqueueJobMutation = { enqueueJob: { jobId: string, jobType: string, status: JobStatus, payload: unknown, metadata: unknown, createdAt: string } };

export type RetryJobMutationVariables = Exact<{
  jobId: string | number;
}>;


export type RetryJobMutation = { retryJob: { jobId: string, status: JobStatus, retryCount: number, error: string | null, attempts: Array<{ attempt: number, httpStatus: number | null, error: string | null }> } };

export type CancelJobMutationVariables = Exact<{
  jobId: string | number;
}>;


export type CancelJobMutation = { cancelJob: { jobId: string, status: JobStatus, completedAt: string | null } };

export type PurgeJobExecutionsMutationVariables = Exact<{
  olderThan: string;
  filter?: JobExecutionFilter | null | undefined;
  dryRun: boolean;
}>;


export type PurgeJobExecutionsMutation = { purgeJobExecutions: { matched: number, deleted: number, batches: number, longestBatchMs: number, dryRun: boolean } };

export type ReplayJobMutationVariables = Exact<{
  jobId: string | number;
  payload?: unknown;
}>;


export type ReplayJobMutation = { replayJob: { jobId: string, status: JobStatus, replayOf: { jobId: string } | null } };

export type RetryJobsMutationVariables = Exact<{
  dryRun?: boolean | null | undefined;
}>;


export type RetryJobsMutation = { retryJobs: { id: string | null, status: BulkOperationStatus, matched: number, sample: Array<{ jobId: string, error: string | null }> } };

export type CancelJobsMutationVariables = Exact<{ [key: string]: never; }>;


export type CancelJobsMutation = { cancelJobs: { status: BulkOperationStatus, matched: number } };

export type CancelBulkOperationMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelBulkOperationMutation = { cancelBulkOperation: { id: string | null, status: BulkOperationStatus, processed: number, matched: number } };

export type RetryDeadLettersMutationVariables = Exact<{
  dlqIds: Array<string | number> | string | number;
}>;


export type RetryDeadLettersMutation = { retryDeadLetters: Array<{ dlqId: string, messageId: string, job: { jobId: string, status: JobStatus } | null }> };

export type DeleteDeadLettersMutationVariables = Exact<{
  dlqIds: Array<string | number> | string | number;
}>;


export type DeleteDeadLettersMutation = { deleteDeadLetters: Array<{ dlqId: string, messageId: string }> };

export type CreateScheduleMutationVariables = Exact<{ [key: string]: never; }>;


export type CreateScheduleMutation = { createSchedule: { id: string, cron: string, jobType: string | null, paused: boolean, nextRunAt: string | null } };

export type PauseScheduleMutationVariables = Exact<{
  id: string | number;
}>;


export type PauseScheduleMutation = { pauseSchedule: { id: string, paused: boolean } };

export type ResumeScheduleMutationVariables = Exact<{
  id: string | number;
}>;


export type ResumeScheduleMutation = { resumeSchedule: { id: string, paused: boolean, nextRunAt: string | null } };

export type DeleteScheduleMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteScheduleMutation = { deleteSchedule: { id: string, jobType: string | null } };

export type PauseJobTypeMutationVariables = Exact<{
  jobType: string;
}>;


export type PauseJobTypeMutation = { pauseJobType: { name: string, paused: boolean | null, lag: number | null } };

export type ResumeJobTypeMutationVariables = Exact<{
  jobType: string;
}>;


export type ResumeJobTypeMutation = { resumeJobType: { name: string, paused: boolean | null, lag: number | null } };

export type TestJobMutationVariables = Exact<{ [key: string]: never; }>;


export type TestJobMutation = { testJob: { ok: boolean, result: unknown, error: string | null, durationSeconds: number, logs: Array<{ level: string, message: string }> } };

export type CreateAlertRuleMutationVariables = Exact<{
  rule: CreateAlertRuleInput;
}>;


export type CreateAlertRuleMutation = { createAlertRule: { id: string, name: string, metric: AlertMetric, threshold: number, windowMinutes: number } };

export type UpdateAlertRuleMutationVariables = Exact<{
  id: string | number;
  changes: UpdateAlertRuleInput;
}>;


export type UpdateAlertRuleMutation = { updateAlertRule: { id: string, threshold: number, enabled: boolean } };

export type DeleteAlertRuleMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteAlertRuleMutation = { deleteAlertRule: { id: string } };

export type MuteAlertRuleMutationVariables = Exact<{
  id: string | number;
  until?: string | null | undefined;
}>;


export type MuteAlertRuleMutation = { muteAlertRule: { id: string, muted: boolean, mutedUntil: string | null } };

export type AcknowledgeAlertMutationVariables = Exact<{
  eventId: string | number;
}>;


export type AcknowledgeAlertMutation = { acknowledgeAlert: { id: string, acknowledgedAt: string | null, acknowledgedBy: string | null } };

export type JobExecutionQueryVariables = Exact<{
  jobId: string | number;
}>;


export type JobExecutionQuery = { jobExecution: { jobId: string, jobType: string, status: JobStatus, retryCount: number, payload: unknown, metadata: unknown, error: string | null, messageId: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, durationSeconds: number | null, queueWaitSeconds: number | null, publishState: { state: PublishState, attempts: number, lastError: string | null, nextAttemptAt: string | null, publishedAt: string | null } | null, attempts: Array<{ attempt: number, messageId: string | null, startedAt: string, finishedAt: string | null, durationSeconds: number | null, httpStatus: number | null, error: string | null }> } | null };

export type JobExecutionsQueryVariables = Exact<{
  filter?: JobExecutionFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  orderBy?: JobExecutionOrder | null | undefined;
}>;


export type JobExecutionsQuery = { jobExecutions: { totalCount: number, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, startCursor: string | null, endCursor: string | null }, edges: Array<{ cursor: string, node: { jobId: string, jobType: string, status: JobStatus, retryCount: number, error: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, durationSeconds: number | null, queueWaitSeconds: number | null, attempts: Array<{ attempt: number, httpStatus: number | null, durationSeconds: number | null, error: string | null }> } }> } };

export type JobStatsQueryVariables = Exact<{
  filter?: JobFilter | null | undefined;
}>;


export type JobStatsQuery = { jobStats: Array<{ jobType: string, status: JobStatus, count: number, avgDurationSeconds: number | null, p50DurationSeconds: number | null, p95DurationSeconds: number | null, p99DurationSeconds: number | null }> };

export type JobThroughputQueryVariables = Exact<{
  since?: string | null | undefined;
  until?: string | null | undefined;
  bucket?: ThroughputBucketSize | null | undefined;
  filter?: JobFilter | null | undefined;
}>;


export type JobThroughputQuery = { jobThroughput: Array<{ bucketStart: string, enqueued: number, completed: number, failed: number }> };

export type SlowJobsQueryVariables = Exact<{
  thresholdSeconds?: number | null | undefined;
  since?: string | null | undefined;
}>;


export type SlowJobsQuery = { slowJobs: Array<{ jobType: string, count: number, avgDurationSeconds: number, p95DurationSeconds: number | null }> };

export type StuckJobsQueryVariables = Exact<{
  olderThanMinutes?: number | null | undefined;
}>;


export type StuckJobsQuery = { stuckJobs: Array<{ jobId: string, jobType: string, status: JobStatus, retryCount: number, startedAt: string | null, messageId: string | null }> };

export type JobHealthQueryVariables = Exact<{
  windowMinutes?: number | null | undefined;
  failureRateThreshold?: number | null | undefined;
}>;


export type JobHealthQuery = { jobHealth: { status: HealthStatus, totalJobs: number, failedJobs: number, failureRate: number, stuckJobs: number, byStatus: Array<{ status: JobStatus, count: number }> } };

export type JobTypesQueryVariables = Exact<{ [key: string]: never; }>;


export type JobTypesQuery = { jobTypes: Array<{ name: string, endpoint: string, timeoutSeconds: number, retries: number, queueName: string | null, paused: boolean | null, parallelism: number | null, lag: number | null, payloadSchema: unknown }> };

export type QueueDepthQueryVariables = Exact<{ [key: string]: never; }>;


export type QueueDepthQuery = { queueDepth: Array<{ jobType: string, pending: number, processing: number, oldestPendingAgeSeconds: number | null, queueName: string | null, paused: boolean | null, parallelism: number | null, lag: number | null }> };

export type AuditLogQueryVariables = Exact<{ [key: string]: never; }>;


export type AuditLogQuery = { auditLog: { nodes: Array<{ at: string, actor: string, action: string, args: unknown, jobIds: Array<string>, outcome: string }> } };

export type BulkOperationQueryVariables = Exact<{
  id: string | number;
}>;


export type BulkOperationQuery = { bulkOperation: { id: string | null, kind: BulkOperationKind, status: BulkOperationStatus, matched: number, processed: number, succeeded: number, failed: number } | null };

export type BulkOperationsQueryVariables = Exact<{ [key: string]: never; }>;


export type BulkOperationsQuery = { bulkOperations: { nodes: Array<{ id: string | null, kind: BulkOperationKind, status: BulkOperationStatus, matched: number, processed: number, createdAt: string | null }> } };

export type DeadLettersQueryVariables = Exact<{
  after?: string | null | undefined;
}>;


export type DeadLettersQuery = { deadLetters: { nodes: Array<{ dlqId: string, messageId: string, responseStatus: number | null, responseBody: string | null, createdAt: string, job: { jobId: string, status: JobStatus, error: string | null } | null }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type SchedulesQueryVariables = Exact<{ [key: string]: never; }>;


export type SchedulesQuery = { schedules: Array<{ id: string, cron: string, jobType: string | null, paused: boolean, nextRunAt: string | null, lastRunAt: string | null, lastRun: { jobId: string, status: JobStatus, completedAt: string | null } | null }> };

export type ScheduleQueryVariables = Exact<{
  id: string | number;
}>;


export type ScheduleQuery = { schedule: { id: string, cron: string, jobType: string | null, payload: unknown, paused: boolean, nextRunAt: string | null } | null };

export type JobDiagnosisQueryVariables = Exact<{
  jobId: string | number;
}>;


export type JobDiagnosisQuery = { jobDiagnosis: { verdict: DiagnosisVerdict, summary: string, remedy: string | null, evidence: Array<{ source: string, message: string, at: string | null }>, timeout: { timeoutSeconds: number, attemptDurationsSeconds: Array<number | null>, p95DurationSeconds: number | null, suggestedTimeoutSeconds: number } | null, handlerError: { errors: Array<string>, sameEachTime: boolean, otherJobsWithSameError: number } | null, payload: { error: string, passesSchemaToday: boolean, issuesToday: unknown } | null } };

export type ReconciliationQueryVariables = Exact<{
  since: string;
}>;


export type ReconciliationQuery = { reconciliation: { messagesChecked: number, jobsChecked: number, truncated: boolean, mismatches: Array<{ kind: ReconciliationMismatchKind, messageId: string, jobId: string | null, qstashState: string | null, jobStatus: JobStatus | null, detail: string }> } };

export type SystemCheckQueryVariables = Exact<{ [key: string]: never; }>;


export type SystemCheckQuery = { systemCheck: { status: CheckStatus, durationMs: number, groups: Array<{ title: string, status: CheckStatus, items: Array<{ name: string, status: CheckStatus, detail: string, fix: string | null }> }> } };

export type SignatureFailuresQueryVariables = Exact<{ [key: string]: never; }>;


export type SignatureFailuresQuery = { signatureFailures: Array<{ at: string, messageId: string | null, reason: string, checkedUrl: string, signedUrl: string | null }> };

export type AlertRulesQueryVariables = Exact<{ [key: string]: never; }>;


export type AlertRulesQuery = { alertRules: Array<{ id: string, name: string, metric: AlertMetric, scope: unknown, windowMinutes: number, threshold: number, cooldownMinutes: number, enabled: boolean, muted: boolean, firing: boolean, lastValue: number | null, defaultRule: boolean, channels: { log: boolean, webhooks: Array<{ url: string, format: AlertWebhookFormat, signed: boolean }> } }> };

export type AlertRuleQueryVariables = Exact<{
  id: string | number;
}>;


export type AlertRuleQuery = { alertRule: { id: string, name: string, firing: boolean, events: Array<{ kind: AlertEventKind, at: string, value: number }> } | null };

export type AlertEventsQueryVariables = Exact<{
  after?: string | null | undefined;
}>;


export type AlertEventsQuery = { alertEvents: { nodes: Array<{ id: string, kind: AlertEventKind, at: string, ruleName: string, message: string, value: number, threshold: number, jobIds: Array<string>, acknowledgedBy: string | null, deliveries: Array<{ channel: string, ok: boolean, attempts: number, status: number | null }> }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type ViewerQuery = { viewer: { role: ApiRole, name: string | null } };

export type JobEventsSubscriptionVariables = Exact<{
  filter?: JobFilter | null | undefined;
}>;


export type JobEventsSubscription = { jobEvents: { type: JobEventType, jobId: string, jobType: string, status: JobStatus, retryCount: number, error: string | null, occurredAt: string, execution: { jobId: string, status: JobStatus, durationSeconds: number | null, attempts: Array<{ attempt: number, httpStatus: number | null }> } | null } };

export type BulkOperationProgressSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type BulkOperationProgressSubscription = { bulkOperationProgress: { status: BulkOperationStatus, processed: number, matched: number } };


export const DashboardDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Dashboard"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobHealth"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"windowMinutes"},"value":{"kind":"IntValue","value":"60"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"totalJobs"}},{"kind":"Field","name":{"kind":"Name","value":"failedJobs"}},{"kind":"Field","name":{"kind":"Name","value":"failureRate"}},{"kind":"Field","name":{"kind":"Name","value":"stuckJobs"}},{"kind":"Field","name":{"kind":"Name","value":"byStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}}]}},{"kind":"Field","alias":{"kind":"Name","value":"recentFailures"},"name":{"kind":"Name","value":"jobExecutions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"10"}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"status"},"value":{"kind":"ListValue","values":[{"kind":"EnumValue","value":"FAILED"}]}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]}}]}}]} as unknown as DocumentNode<DashboardQuery, DashboardQueryVariables>;
export const EnqueueJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"EnqueueJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"EnqueueJobInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"enqueueJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"payload"}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<EnqueueJobMutation, EnqueueJobMutationVariables>;
export const RetryJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RetryJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attempt"}},{"kind":"Field","name":{"kind":"Name","value":"httpStatus"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}}]}}]} as unknown as DocumentNode<RetryJobMutation, RetryJobMutationVariables>;
export const CancelJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]}}]} as unknown as DocumentNode<CancelJobMutation, CancelJobMutationVariables>;
export const PurgeJobExecutionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"PurgeJobExecutions"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"olderThan"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobExecutionFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"purgeJobExecutions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"olderThan"},"value":{"kind":"Variable","name":{"kind":"Name","value":"olderThan"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"dryRun"},"value":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"matched"}},{"kind":"Field","name":{"kind":"Name","value":"deleted"}},{"kind":"Field","name":{"kind":"Name","value":"batches"}},{"kind":"Field","name":{"kind":"Name","value":"longestBatchMs"}},{"kind":"Field","name":{"kind":"Name","value":"dryRun"}}]}}]}}]} as unknown as DocumentNode<PurgeJobExecutionsMutation, PurgeJobExecutionsMutationVariables>;
export const ReplayJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ReplayJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"payload"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JSON"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"replayJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}},{"kind":"Argument","name":{"kind":"Name","value":"payload"},"value":{"kind":"Variable","name":{"kind":"Name","value":"payload"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"replayOf"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}}]}}]}}]}}]} as unknown as DocumentNode<ReplayJobMutation, ReplayJobMutationVariables>;
export const RetryJobsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RetryJobs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryJobs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"jobType"},"value":{"kind":"ListValue","values":[{"kind":"StringValue","value":"send-email","block":false}]}},{"kind":"ObjectField","name":{"kind":"Name","value":"status"},"value":{"kind":"ListValue","values":[{"kind":"EnumValue","value":"FAILED"}]}}]}},{"kind":"Argument","name":{"kind":"Name","value":"dryRun"},"value":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}},{"kind":"Field","name":{"kind":"Name","value":"sample"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}}]}}]} as unknown as DocumentNode<RetryJobsMutation, RetryJobsMutationVariables>;
export const CancelJobsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelJobs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelJobs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"status"},"value":{"kind":"ListValue","values":[{"kind":"EnumValue","value":"PENDING"}]}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}}]}}]}}]} as unknown as DocumentNode<CancelJobsMutation, CancelJobsMutationVariables>;
export const CancelBulkOperationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelBulkOperation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelBulkOperation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}}]}}]}}]} as unknown as DocumentNode<CancelBulkOperationMutation, CancelBulkOperationMutationVariables>;
export const RetryDeadLettersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RetryDeadLetters"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"dlqIds"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryDeadLetters"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"dlqIds"},"value":{"kind":"Variable","name":{"kind":"Name","value":"dlqIds"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dlqId"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"job"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]} as unknown as DocumentNode<RetryDeadLettersMutation, RetryDeadLettersMutationVariables>;
export const DeleteDeadLettersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteDeadLetters"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"dlqIds"}},"type":{"kind":"NonNullType","type":{"kind":"ListType","type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteDeadLetters"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"dlqIds"},"value":{"kind":"Variable","name":{"kind":"Name","value":"dlqIds"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dlqId"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}}]}}]}}]} as unknown as DocumentNode<DeleteDeadLettersMutation, DeleteDeadLettersMutationVariables>;
export const CreateScheduleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateSchedule"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createSchedule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobType"},"value":{"kind":"StringValue","value":"generate-report","block":false}},{"kind":"Argument","name":{"kind":"Name","value":"cron"},"value":{"kind":"StringValue","value":"CRON_TZ=Europe/Paris 0 7 * * 1-5","block":false}},{"kind":"Argument","name":{"kind":"Name","value":"payload"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"reportType"},"value":{"kind":"StringValue","value":"job-summary","block":false}},{"kind":"ObjectField","name":{"kind":"Name","value":"jobType"},"value":{"kind":"StringValue","value":"send-email","block":false}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"cron"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"paused"}},{"kind":"Field","name":{"kind":"Name","value":"nextRunAt"}}]}}]}}]} as unknown as DocumentNode<CreateScheduleMutation, CreateScheduleMutationVariables>;
export const PauseScheduleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"PauseSchedule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"pauseSchedule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"paused"}}]}}]}}]} as unknown as DocumentNode<PauseScheduleMutation, PauseScheduleMutationVariables>;
export const ResumeScheduleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ResumeSchedule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"resumeSchedule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"paused"}},{"kind":"Field","name":{"kind":"Name","value":"nextRunAt"}}]}}]}}]} as unknown as DocumentNode<ResumeScheduleMutation, ResumeScheduleMutationVariables>;
export const DeleteScheduleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteSchedule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteSchedule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}}]}}]}}]} as unknown as DocumentNode<DeleteScheduleMutation, DeleteScheduleMutationVariables>;
export const PauseJobTypeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"PauseJobType"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobType"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"pauseJobType"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobType"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobType"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"paused"}},{"kind":"Field","name":{"kind":"Name","value":"lag"}}]}}]}}]} as unknown as DocumentNode<PauseJobTypeMutation, PauseJobTypeMutationVariables>;
export const ResumeJobTypeDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"ResumeJobType"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobType"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"resumeJobType"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobType"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobType"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"paused"}},{"kind":"Field","name":{"kind":"Name","value":"lag"}}]}}]}}]} as unknown as DocumentNode<ResumeJobTypeMutation, ResumeJobTypeMutationVariables>;
export const TestJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"TestJob"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"testJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobType"},"value":{"kind":"StringValue","value":"send-email","block":false}},{"kind":"Argument","name":{"kind":"Name","value":"payload"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"to"},"value":{"kind":"StringValue","value":"ada@example.com","block":false}},{"kind":"ObjectField","name":{"kind":"Name","value":"subject"},"value":{"kind":"StringValue","value":"Test","block":false}},{"kind":"ObjectField","name":{"kind":"Name","value":"text"},"value":{"kind":"StringValue","value":"Sent by testJob","block":false}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"ok"}},{"kind":"Field","name":{"kind":"Name","value":"result"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"durationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"logs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"level"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<TestJobMutation, TestJobMutationVariables>;
export const CreateAlertRuleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateAlertRule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"rule"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateAlertRuleInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createAlertRule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"rule"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"metric"}},{"kind":"Field","name":{"kind":"Name","value":"threshold"}},{"kind":"Field","name":{"kind":"Name","value":"windowMinutes"}}]}}]}}]} as unknown as DocumentNode<CreateAlertRuleMutation, CreateAlertRuleMutationVariables>;
export const UpdateAlertRuleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateAlertRule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"changes"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateAlertRuleInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateAlertRule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"changes"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"threshold"}},{"kind":"Field","name":{"kind":"Name","value":"enabled"}}]}}]}}]} as unknown as DocumentNode<UpdateAlertRuleMutation, UpdateAlertRuleMutationVariables>;
export const DeleteAlertRuleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteAlertRule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteAlertRule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}}]}}]}}]} as unknown as DocumentNode<DeleteAlertRuleMutation, DeleteAlertRuleMutationVariables>;
export const MuteAlertRuleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"MuteAlertRule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"until"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"muteAlertRule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}},{"kind":"Argument","name":{"kind":"Name","value":"until"},"value":{"kind":"Variable","name":{"kind":"Name","value":"until"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"muted"}},{"kind":"Field","name":{"kind":"Name","value":"mutedUntil"}}]}}]}}]} as unknown as DocumentNode<MuteAlertRuleMutation, MuteAlertRuleMutationVariables>;
export const AcknowledgeAlertDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"AcknowledgeAlert"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"eventId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"acknowledgeAlert"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"eventId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedAt"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedBy"}}]}}]}}]} as unknown as DocumentNode<AcknowledgeAlertMutation, AcknowledgeAlertMutationVariables>;
export const JobExecutionDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"JobExecution"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobExecution"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}},{"kind":"Field","name":{"kind":"Name","value":"payload"}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}},{"kind":"Field","name":{"kind":"Name","value":"durationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"queueWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"publishState"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"state"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"lastError"}},{"kind":"Field","name":{"kind":"Name","value":"nextAttemptAt"}},{"kind":"Field","name":{"kind":"Name","value":"publishedAt"}}]}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attempt"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"durationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"httpStatus"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}}]}}]} as unknown as DocumentNode<JobExecutionQuery, JobExecutionQueryVariables>;
export const JobExecutionsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"JobExecutions"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobExecutionFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}},"defaultValue":{"kind":"IntValue","value":"20"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobExecutionOrder"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobExecutions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"orderBy"},"value":{"kind":"Variable","name":{"kind":"Name","value":"orderBy"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"hasPreviousPage"}},{"kind":"Field","name":{"kind":"Name","value":"startCursor"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}},{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cursor"}},{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}},{"kind":"Field","name":{"kind":"Name","value":"durationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"queueWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attempt"}},{"kind":"Field","name":{"kind":"Name","value":"httpStatus"}},{"kind":"Field","name":{"kind":"Name","value":"durationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}}]}}]}}]}}]} as unknown as DocumentNode<JobExecutionsQuery, JobExecutionsQueryVariables>;
export const JobStatsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"JobStats"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobStats"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"avgDurationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"p50DurationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"p95DurationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"p99DurationSeconds"}}]}}]}}]} as unknown as DocumentNode<JobStatsQuery, JobStatsQueryVariables>;
export const JobThroughputDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"JobThroughput"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"since"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"until"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"bucket"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"ThroughputBucketSize"}},"defaultValue":{"kind":"EnumValue","value":"HOUR"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobThroughput"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"since"},"value":{"kind":"Variable","name":{"kind":"Name","value":"since"}}},{"kind":"Argument","name":{"kind":"Name","value":"until"},"value":{"kind":"Variable","name":{"kind":"Name","value":"until"}}},{"kind":"Argument","name":{"kind":"Name","value":"bucket"},"value":{"kind":"Variable","name":{"kind":"Name","value":"bucket"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bucketStart"}},{"kind":"Field","name":{"kind":"Name","value":"enqueued"}},{"kind":"Field","name":{"kind":"Name","value":"completed"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}}]}}]}}]} as unknown as DocumentNode<JobThroughputQuery, JobThroughputQueryVariables>;
export const SlowJobsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SlowJobs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"thresholdSeconds"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Float"}},"defaultValue":{"kind":"IntValue","value":"30"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"since"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"slowJobs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"thresholdSeconds"},"value":{"kind":"Variable","name":{"kind":"Name","value":"thresholdSeconds"}}},{"kind":"Argument","name":{"kind":"Name","value":"since"},"value":{"kind":"Variable","name":{"kind":"Name","value":"since"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"avgDurationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"p95DurationSeconds"}}]}}]}}]} as unknown as DocumentNode<SlowJobsQuery, SlowJobsQueryVariables>;
export const StuckJobsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"StuckJobs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"olderThanMinutes"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}},"defaultValue":{"kind":"IntValue","value":"10"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"stuckJobs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"olderThanMinutes"},"value":{"kind":"Variable","name":{"kind":"Name","value":"olderThanMinutes"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}}]}}]}}]} as unknown as DocumentNode<StuckJobsQuery, StuckJobsQueryVariables>;
export const JobHealthDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"JobHealth"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"windowMinutes"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}},"defaultValue":{"kind":"IntValue","value":"60"}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"failureRateThreshold"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Float"}},"defaultValue":{"kind":"FloatValue","value":"0.05"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobHealth"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"windowMinutes"},"value":{"kind":"Variable","name":{"kind":"Name","value":"windowMinutes"}}},{"kind":"Argument","name":{"kind":"Name","value":"failureRateThreshold"},"value":{"kind":"Variable","name":{"kind":"Name","value":"failureRateThreshold"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"totalJobs"}},{"kind":"Field","name":{"kind":"Name","value":"failedJobs"}},{"kind":"Field","name":{"kind":"Name","value":"failureRate"}},{"kind":"Field","name":{"kind":"Name","value":"stuckJobs"}},{"kind":"Field","name":{"kind":"Name","value":"byStatus"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"count"}}]}}]}}]}}]} as unknown as DocumentNode<JobHealthQuery, JobHealthQueryVariables>;
export const JobTypesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"JobTypes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobTypes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"endpoint"}},{"kind":"Field","name":{"kind":"Name","value":"timeoutSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"retries"}},{"kind":"Field","name":{"kind":"Name","value":"queueName"}},{"kind":"Field","name":{"kind":"Name","value":"paused"}},{"kind":"Field","name":{"kind":"Name","value":"parallelism"}},{"kind":"Field","name":{"kind":"Name","value":"lag"}},{"kind":"Field","name":{"kind":"Name","value":"payloadSchema"}}]}}]}}]} as unknown as DocumentNode<JobTypesQuery, JobTypesQueryVariables>;
export const QueueDepthDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"QueueDepth"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"queueDepth"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"pending"}},{"kind":"Field","name":{"kind":"Name","value":"processing"}},{"kind":"Field","name":{"kind":"Name","value":"oldestPendingAgeSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"queueName"}},{"kind":"Field","name":{"kind":"Name","value":"paused"}},{"kind":"Field","name":{"kind":"Name","value":"parallelism"}},{"kind":"Field","name":{"kind":"Name","value":"lag"}}]}}]}}]} as unknown as DocumentNode<QueueDepthQuery, QueueDepthQueryVariables>;
export const AuditLogDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AuditLog"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"auditLog"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"actor"}},{"kind":"Field","name":{"kind":"Name","value":"action"}},{"kind":"Field","name":{"kind":"Name","value":"args"}},{"kind":"Field","name":{"kind":"Name","value":"jobIds"}},{"kind":"Field","name":{"kind":"Name","value":"outcome"}}]}}]}}]}}]} as unknown as DocumentNode<AuditLogQuery, AuditLogQueryVariables>;
export const BulkOperationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"BulkOperation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bulkOperation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"succeeded"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}}]}}]}}]} as unknown as DocumentNode<BulkOperationQuery, BulkOperationQueryVariables>;
export const BulkOperationsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"BulkOperations"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bulkOperations"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"10"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]}}]} as unknown as DocumentNode<BulkOperationsQuery, BulkOperationsQueryVariables>;
export const DeadLettersDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"DeadLetters"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deadLetters"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}},{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"ObjectValue","fields":[{"kind":"ObjectField","name":{"kind":"Name","value":"jobType"},"value":{"kind":"StringValue","value":"send-email","block":false}}]}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"dlqId"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"responseStatus"}},{"kind":"Field","name":{"kind":"Name","value":"responseBody"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"job"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<DeadLettersQuery, DeadLettersQueryVariables>;
export const SchedulesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Schedules"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"schedules"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"cron"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"paused"}},{"kind":"Field","name":{"kind":"Name","value":"nextRunAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastRunAt"}},{"kind":"Field","name":{"kind":"Name","value":"lastRun"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}}]}}]}}]}}]} as unknown as DocumentNode<SchedulesQuery, SchedulesQueryVariables>;
export const ScheduleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Schedule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"schedule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"cron"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"payload"}},{"kind":"Field","name":{"kind":"Name","value":"paused"}},{"kind":"Field","name":{"kind":"Name","value":"nextRunAt"}}]}}]}}]} as unknown as DocumentNode<ScheduleQuery, ScheduleQueryVariables>;
export const JobDiagnosisDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"JobDiagnosis"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobDiagnosis"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"verdict"}},{"kind":"Field","name":{"kind":"Name","value":"summary"}},{"kind":"Field","name":{"kind":"Name","value":"remedy"}},{"kind":"Field","name":{"kind":"Name","value":"evidence"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"source"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"at"}}]}},{"kind":"Field","name":{"kind":"Name","value":"timeout"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"timeoutSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"attemptDurationsSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"p95DurationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"suggestedTimeoutSeconds"}}]}},{"kind":"Field","name":{"kind":"Name","value":"handlerError"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"errors"}},{"kind":"Field","name":{"kind":"Name","value":"sameEachTime"}},{"kind":"Field","name":{"kind":"Name","value":"otherJobsWithSameError"}}]}},{"kind":"Field","name":{"kind":"Name","value":"payload"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"passesSchemaToday"}},{"kind":"Field","name":{"kind":"Name","value":"issuesToday"}}]}}]}}]}}]} as unknown as DocumentNode<JobDiagnosisQuery, JobDiagnosisQueryVariables>;
export const ReconciliationDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Reconciliation"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"since"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"DateTime"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"reconciliation"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"since"},"value":{"kind":"Variable","name":{"kind":"Name","value":"since"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"messagesChecked"}},{"kind":"Field","name":{"kind":"Name","value":"jobsChecked"}},{"kind":"Field","name":{"kind":"Name","value":"truncated"}},{"kind":"Field","name":{"kind":"Name","value":"mismatches"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"qstashState"}},{"kind":"Field","name":{"kind":"Name","value":"jobStatus"}},{"kind":"Field","name":{"kind":"Name","value":"detail"}}]}}]}}]}}]} as unknown as DocumentNode<ReconciliationQuery, ReconciliationQueryVariables>;
export const SystemCheckDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SystemCheck"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"systemCheck"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}},{"kind":"Field","name":{"kind":"Name","value":"groups"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"items"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"detail"}},{"kind":"Field","name":{"kind":"Name","value":"fix"}}]}}]}}]}}]}}]} as unknown as DocumentNode<SystemCheckQuery, SystemCheckQueryVariables>;
export const SignatureFailuresDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"SignatureFailures"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"signatureFailures"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"reason"}},{"kind":"Field","name":{"kind":"Name","value":"checkedUrl"}},{"kind":"Field","name":{"kind":"Name","value":"signedUrl"}}]}}]}}]} as unknown as DocumentNode<SignatureFailuresQuery, SignatureFailuresQueryVariables>;
export const AlertRulesDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AlertRules"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alertRules"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"metric"}},{"kind":"Field","name":{"kind":"Name","value":"scope"}},{"kind":"Field","name":{"kind":"Name","value":"windowMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"threshold"}},{"kind":"Field","name":{"kind":"Name","value":"cooldownMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"enabled"}},{"kind":"Field","name":{"kind":"Name","value":"muted"}},{"kind":"Field","name":{"kind":"Name","value":"firing"}},{"kind":"Field","name":{"kind":"Name","value":"lastValue"}},{"kind":"Field","name":{"kind":"Name","value":"defaultRule"}},{"kind":"Field","name":{"kind":"Name","value":"channels"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"log"}},{"kind":"Field","name":{"kind":"Name","value":"webhooks"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"url"}},{"kind":"Field","name":{"kind":"Name","value":"format"}},{"kind":"Field","name":{"kind":"Name","value":"signed"}}]}}]}}]}}]}}]} as unknown as DocumentNode<AlertRulesQuery, AlertRulesQueryVariables>;
export const AlertRuleDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AlertRule"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alertRule"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"firing"}},{"kind":"Field","name":{"kind":"Name","value":"events"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"5"}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"value"}}]}}]}}]}}]} as unknown as DocumentNode<AlertRuleQuery, AlertRuleQueryVariables>;
export const AlertEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"AlertEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"alertEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"IntValue","value":"20"}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"ruleName"}},{"kind":"Field","name":{"kind":"Name","value":"message"}},{"kind":"Field","name":{"kind":"Name","value":"value"}},{"kind":"Field","name":{"kind":"Name","value":"threshold"}},{"kind":"Field","name":{"kind":"Name","value":"jobIds"}},{"kind":"Field","name":{"kind":"Name","value":"acknowledgedBy"}},{"kind":"Field","name":{"kind":"Name","value":"deliveries"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"channel"}},{"kind":"Field","name":{"kind":"Name","value":"ok"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<AlertEventsQuery, AlertEventsQueryVariables>;
export const ViewerDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"viewer"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"name"}}]}}]}}]} as unknown as DocumentNode<ViewerQuery, ViewerQueryVariables>;
export const JobEventsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"JobEvents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"execution"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"durationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attempt"}},{"kind":"Field","name":{"kind":"Name","value":"httpStatus"}}]}}]}}]}}]}}]} as unknown as DocumentNode<JobEventsSubscription, JobEventsSubscriptionVariables>;
export const BulkOperationProgressDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"BulkOperationProgress"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bulkOperationProgress"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}}]}}]}}]} as unknown as DocumentNode<BulkOperationProgressSubscription, BulkOperationProgressSubscriptionVariables>;