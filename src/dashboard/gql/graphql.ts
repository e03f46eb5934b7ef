/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
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

/** Bucket width; buckets are aligned in UTC. */
export type ThroughputBucketSize =
  | 'DAY'
  | 'HOUR'
  | 'MINUTE';

export type DashRetryJobMutationVariables = Exact<{
  jobId: string | number;
}>;


export type DashRetryJobMutation = { retryJob: { jobId: string, status: JobStatus } };

export type DashCancelJobMutationVariables = Exact<{
  jobId: string | number;
}>;


export type DashCancelJobMutation = { cancelJob: { jobId: string, status: JobStatus } };

export type DashReplayJobMutationVariables = Exact<{
  jobId: string | number;
  payload?: unknown;
}>;


export type DashReplayJobMutation = { replayJob: { jobId: string, status: JobStatus } };

export type DashBulkFragment = { id: string | null, kind: BulkOperationKind, dryRun: boolean, status: BulkOperationStatus, matched: number, processed: number, succeeded: number, failed: number, sample: Array<{ jobId: string, jobType: string, status: JobStatus, error: string | null }> };

export type DashRetryJobsMutationVariables = Exact<{
  filter: JobFilter;
  dryRun: boolean;
}>;


export type DashRetryJobsMutation = { retryJobs: { id: string | null, kind: BulkOperationKind, dryRun: boolean, status: BulkOperationStatus, matched: number, processed: number, succeeded: number, failed: number, sample: Array<{ jobId: string, jobType: string, status: JobStatus, error: string | null }> } };

export type DashCancelJobsMutationVariables = Exact<{
  filter: JobFilter;
  dryRun: boolean;
}>;


export type DashCancelJobsMutation = { cancelJobs: { id: string | null, kind: BulkOperationKind, dryRun: boolean, status: BulkOperationStatus, matched: number, processed: number, succeeded: number, failed: number, sample: Array<{ jobId: string, jobType: string, status: JobStatus, error: string | null }> } };

export type DashBulkProgressSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type DashBulkProgressSubscription = { bulkOperationProgress: { id: string | null, status: BulkOperationStatus, matched: number, processed: number, succeeded: number, failed: number } };

export type DashJobEventsSubscriptionVariables = Exact<{
  filter?: JobFilter | null | undefined;
}>;


export type DashJobEventsSubscription = { jobEvents: { type: JobEventType, jobId: string, jobType: string, status: JobStatus, retryCount: number, error: string | null, occurredAt: string } };

export type DashOverviewQueryVariables = Exact<{
  bucket: ThroughputBucketSize;
  statsFilter?: JobFilter | null | undefined;
}>;


export type DashOverviewQuery = { jobHealth: { status: HealthStatus, windowMinutes: number, failureRate: number, failureRateThreshold: number, totalJobs: number, failedJobs: number, stuckJobs: number, stuckAfterMinutes: number }, jobThroughput: Array<{ bucketStart: string, enqueued: number, completed: number, failed: number }>, jobStats: Array<{ jobType: string, status: JobStatus, count: number, p50DurationSeconds: number | null, p95DurationSeconds: number | null, p50QueueWaitSeconds: number | null, p95QueueWaitSeconds: number | null }>, queueDepth: Array<{ jobType: string, pending: number, processing: number, oldestPendingAgeSeconds: number | null }>, slowJobs: Array<{ jobType: string, count: number, avgDurationSeconds: number, p95DurationSeconds: number | null }>, stuckJobs: Array<{ jobId: string, jobType: string, startedAt: string | null, retryCount: number }>, deadLetters: { nodes: Array<{ dlqId: string, jobId: string | null, messageId: string, createdAt: string, responseStatus: number | null, url: string }>, pageInfo: { hasNextPage: boolean } } };

export type DashRunsQueryVariables = Exact<{
  filter?: JobExecutionFilter | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
}>;


export type DashRunsQuery = { jobExecutions: { totalCount: number, pageInfo: { hasNextPage: boolean, hasPreviousPage: boolean, startCursor: string | null, endCursor: string | null }, nodes: Array<{ jobId: string, jobType: string, status: JobStatus, retryCount: number, error: string | null, createdAt: string, durationSeconds: number | null, userId: string | null, organizationId: string | null }> } };

export type DashJobQueryVariables = Exact<{
  jobId: string | number;
}>;


export type DashJobQuery = { jobExecution: { jobId: string, jobType: string, status: JobStatus, retryCount: number, maxRetries: number, payload: unknown, metadata: unknown, result: unknown, error: string | null, messageId: string | null, userId: string | null, organizationId: string | null, scheduleId: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, durationSeconds: number | null, queueWaitSeconds: number | null, attempts: Array<{ attempt: number, httpStatus: number | null, durationSeconds: number | null, startedAt: string, finishedAt: string | null, error: string | null }>, diagnosis: { verdict: DiagnosisVerdict, summary: string, remedy: string | null }, logs: Array<{ at: string, level: string, message: string, attempt: number | null }>, replayOf: { jobId: string } | null, replays: Array<{ jobId: string, status: JobStatus }> } | null };

export type DashSessionQueryVariables = Exact<{ [key: string]: never; }>;


export type DashSessionQuery = { viewer: { role: ApiRole, name: string | null }, jobTypes: Array<{ name: string, payloadSchema: unknown }> };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const DashBulkFragmentDoc = new TypedDocumentString(`
    fragment DashBulk on BulkOperation {
  id
  kind
  dryRun
  status
  matched
  processed
  succeeded
  failed
  sample {
    jobId
    jobType
    status
    error
  }
}
    `, {"fragmentName":"DashBulk"}) as unknown as TypedDocumentString<DashBulkFragment, unknown>;
export const DashRetryJobDocument = new TypedDocumentString(`
    mutation DashRetryJob($jobId: ID!) {
  retryJob(jobId: $jobId) {
    jobId
    status
  }
}
    `) as unknown as TypedDocumentString<DashRetryJobMutation, DashRetryJobMutationVariables>;
export const DashCancelJobDocument = new TypedDocumentString(`
    mutation DashCancelJob($jobId: ID!) {
  cancelJob(jobId: $jobId) {
    jobId
    status
  }
}
    `) as unknown as TypedDocumentString<DashCancelJobMutation, DashCancelJobMutationVariables>;
export const DashReplayJobDocument = new TypedDocumentString(`
    mutation DashReplayJob($jobId: ID!, $payload: JSON) {
  replayJob(jobId: $jobId, payload: $payload) {
    jobId
    status
  }
}
    `) as unknown as TypedDocumentString<DashReplayJobMutation, DashReplayJobMutationVariables>;
export const DashRetryJobsDocument = new TypedDocumentString(`
    mutation DashRetryJobs($filter: JobFilter!, $dryRun: Boolean!) {
  retryJobs(filter: $filter, dryRun: $dryRun) {
    ...DashBulk
  }
}
    fragment DashBulk on BulkOperation {
  id
  kind
  dryRun
  status
  matched
  processed
  succeeded
  failed
  sample {
    jobId
    jobType
    status
    error
  }
}`) as unknown as TypedDocumentString<DashRetryJobsMutation, DashRetryJobsMutationVariables>;
export const DashCancelJobsDocument = new TypedDocumentString(`
    mutation DashCancelJobs($filter: JobFilter!, $dryRun: Boolean!) {
  cancelJobs(filter: $filter, dryRun: $dryRun) {
    ...DashBulk
  }
}
    fragment DashBulk on BulkOperation {
  id
  kind
  dryRun
  status
  matched
  processed
  succeeded
  failed
  sample {
    jobId
    jobType
    status
    error
  }
}`) as unknown as TypedDocumentString<DashCancelJobsMutation, DashCancelJobsMutationVariables>;
export const DashBulkProgressDocument = new TypedDocumentString(`
    subscription DashBulkProgress($id: ID!) {
  bulkOperationProgress(id: $id) {
    id
    status
    matched
    processed
    succeeded
    failed
  }
}
    `) as unknown as TypedDocumentString<DashBulkProgressSubscription, DashBulkProgressSubscriptionVariables>;
export const DashJobEventsDocument = new TypedDocumentString(`
    subscription DashJobEvents($filter: JobFilter) {
  jobEvents(filter: $filter) {
    type
    jobId
    jobType
    status
    retryCount
    error
    occurredAt
  }
}
    `) as unknown as TypedDocumentString<DashJobEventsSubscription, DashJobEventsSubscriptionVariables>;
export const DashOverviewDocument = new TypedDocumentString(`
    query DashOverview($bucket: ThroughputBucketSize!, $statsFilter: JobFilter) {
  jobHealth {
    status
    windowMinutes
    failureRate
    failureRateThreshold
    totalJobs
    failedJobs
    stuckJobs
    stuckAfterMinutes
  }
  jobThroughput(bucket: $bucket) {
    bucketStart
    enqueued
    completed
    failed
  }
  jobStats(filter: $statsFilter) {
    jobType
    status
    count
    p50DurationSeconds
    p95DurationSeconds
    p50QueueWaitSeconds
    p95QueueWaitSeconds
  }
  queueDepth {
    jobType
    pending
    processing
    oldestPendingAgeSeconds
  }
  slowJobs {
    jobType
    count
    avgDurationSeconds
    p95DurationSeconds
  }
  stuckJobs {
    jobId
    jobType
    startedAt
    retryCount
  }
  deadLetters(first: 20) {
    nodes {
      dlqId
      jobId
      messageId
      createdAt
      responseStatus
      url
    }
    pageInfo {
      hasNextPage
    }
  }
}
    `) as unknown as TypedDocumentString<DashOverviewQuery, DashOverviewQueryVariables>;
export const DashRunsDocument = new TypedDocumentString(`
    query DashRuns($filter: JobExecutionFilter, $first: Int, $after: String, $last: Int, $before: String) {
  jobExecutions(
    filter: $filter
    first: $first
    after: $after
    last: $last
    before: $before
  ) {
    totalCount
    pageInfo {
      hasNextPage
      hasPreviousPage
      startCursor
      endCursor
    }
    nodes {
      jobId
      jobType
      status
      retryCount
      error
      createdAt
      durationSeconds
      userId
      organizationId
    }
  }
}
    `) as unknown as TypedDocumentString<DashRunsQuery, DashRunsQueryVariables>;
export const DashJobDocument = new TypedDocumentString(`
    query DashJob($jobId: ID!) {
  jobExecution(jobId: $jobId) {
    jobId
    jobType
    status
    retryCount
    maxRetries
    payload
    metadata
    result
    error
    messageId
    userId
    organizationId
    scheduleId
    createdAt
    startedAt
    completedAt
    durationSeconds
    queueWaitSeconds
    attempts {
      attempt
      httpStatus
      durationSeconds
      startedAt
      finishedAt
      error
    }
    diagnosis {
      verdict
      summary
      remedy
    }
    logs(first: 200) {
      at
      level
      message
      attempt
    }
    replayOf {
      jobId
    }
    replays {
      jobId
      status
    }
  }
}
    `) as unknown as TypedDocumentString<DashJobQuery, DashJobQueryVariables>;
export const DashSessionDocument = new TypedDocumentString(`
    query DashSession {
  viewer {
    role
    name
  }
  jobTypes {
    name
    payloadSchema
  }
}
    `) as unknown as TypedDocumentString<DashSessionQuery, DashSessionQueryVariables>;