/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
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

export type CheckGroupId =
  /** The guide's "Job not enqueueing". */
  | 'ENQUEUEING'
  /** The guide's "High failure rate". */
  | 'FAILURES'
  /** The guide's "Poor performance". */
  | 'PERFORMANCE'
  /** The guide's "Job not processing". */
  | 'PROCESSING';

export type CheckStatus =
  /** Broken: the fix says what to do. */
  | 'FAIL'
  | 'PASS'
  /** Works, but something needs a look. */
  | 'WARN';

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

export type CheckItemViewFragment = { name: string, status: CheckStatus, detail: string, fix: string | null };

export type HealthQueryVariables = Exact<{
  windowMinutes?: number | null | undefined;
}>;


export type HealthQuery = { jobHealth: { status: HealthStatus, windowMinutes: number, totalJobs: number, failedJobs: number, failureRate: number, failureRateThreshold: number, stuckJobs: number, stuckAfterMinutes: number }, systemCheck: { status: CheckStatus, groups: Array<{ items: Array<{ name: string, status: CheckStatus, detail: string, fix: string | null }> }> } };

export type DoctorQueryVariables = Exact<{ [key: string]: never; }>;


export type DoctorQuery = { systemCheck: { status: CheckStatus, checkedAt: string, durationMs: number, groups: Array<{ id: CheckGroupId, title: string, status: CheckStatus, items: Array<{ name: string, status: CheckStatus, detail: string, fix: string | null }> }> } };

export type StatsQueryVariables = Exact<{
  filter?: JobFilter | null | undefined;
}>;


export type StatsQuery = { jobStats: Array<{ jobType: string, status: JobStatus, count: number, avgDurationSeconds: number | null, p50DurationSeconds: number | null, p95DurationSeconds: number | null }> };

export type ListJobsQueryVariables = Exact<{
  filter?: JobExecutionFilter | null | undefined;
  first?: number | null | undefined;
}>;


export type ListJobsQuery = { jobExecutions: { totalCount: number, nodes: Array<{ jobId: string, jobType: string, status: JobStatus, retryCount: number, error: string | null, createdAt: string, completedAt: string | null, durationSeconds: number | null }> } };

export type GetJobQueryVariables = Exact<{
  jobId: string | number;
}>;


export type GetJobQuery = { jobExecution: { jobId: string, jobType: string, status: JobStatus, payload: unknown, metadata: unknown, result: unknown, error: string | null, retryCount: number, maxRetries: number, messageId: string | null, createdAt: string, startedAt: string | null, completedAt: string | null, durationSeconds: number | null, queueWaitSeconds: number | null, attempts: Array<{ attempt: number, startedAt: string, finishedAt: string | null, durationSeconds: number | null, httpStatus: number | null, error: string | null }>, diagnosis: { verdict: DiagnosisVerdict, summary: string, remedy: string | null }, logs: Array<{ at: string, level: string, attempt: number | null, message: string }> } | null };

export type RetryOneMutationVariables = Exact<{
  jobId: string | number;
}>;


export type RetryOneMutation = { retryJob: { jobId: string, status: JobStatus, retryCount: number } };

export type CancelOneMutationVariables = Exact<{
  jobId: string | number;
}>;


export type CancelOneMutation = { cancelJob: { jobId: string, status: JobStatus } };

export type BulkViewFragment = { id: string | null, kind: BulkOperationKind, status: BulkOperationStatus, dryRun: boolean, matched: number, processed: number, succeeded: number, failed: number, errors: Array<{ jobId: string, code: string, message: string }> };

export type BulkPreviewFragment = { id: string | null, kind: BulkOperationKind, status: BulkOperationStatus, dryRun: boolean, matched: number, processed: number, succeeded: number, failed: number, sample: Array<{ jobId: string, jobType: string, status: JobStatus, error: string | null }>, errors: Array<{ jobId: string, code: string, message: string }> };

export type RetryManyMutationVariables = Exact<{
  filter: JobFilter;
  dryRun: boolean;
}>;


export type RetryManyMutation = { retryJobs: { id: string | null, kind: BulkOperationKind, status: BulkOperationStatus, dryRun: boolean, matched: number, processed: number, succeeded: number, failed: number, sample: Array<{ jobId: string, jobType: string, status: JobStatus, error: string | null }>, errors: Array<{ jobId: string, code: string, message: string }> } };

export type CancelManyMutationVariables = Exact<{
  filter: JobFilter;
  dryRun: boolean;
}>;


export type CancelManyMutation = { cancelJobs: { id: string | null, kind: BulkOperationKind, status: BulkOperationStatus, dryRun: boolean, matched: number, processed: number, succeeded: number, failed: number, sample: Array<{ jobId: string, jobType: string, status: JobStatus, error: string | null }>, errors: Array<{ jobId: string, code: string, message: string }> } };

export type BulkProgressSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type BulkProgressSubscription = { bulkOperationProgress: { id: string | null, kind: BulkOperationKind, status: BulkOperationStatus, dryRun: boolean, matched: number, processed: number, succeeded: number, failed: number, errors: Array<{ jobId: string, code: string, message: string }> } };

export type EnqueueMutationVariables = Exact<{
  input: EnqueueJobInput;
}>;


export type EnqueueMutation = { enqueueJob: { jobId: string, jobType: string, status: JobStatus, createdAt: string } };

export type TailSubscriptionVariables = Exact<{
  filter?: JobFilter | null | undefined;
}>;


export type TailSubscription = { jobEvents: { type: JobEventType, occurredAt: string, jobId: string, jobType: string, status: JobStatus, retryCount: number, error: string | null } };

export const CheckItemViewFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CheckItemView"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CheckItem"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"detail"}},{"kind":"Field","name":{"kind":"Name","value":"fix"}}]}}]} as unknown as DocumentNode<CheckItemViewFragment, unknown>;
export const BulkViewFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BulkView"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkOperation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"dryRun"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"succeeded"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<BulkViewFragment, unknown>;
export const BulkPreviewFragmentDoc = {"kind":"Document","definitions":[{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BulkPreview"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkOperation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BulkView"}},{"kind":"Field","name":{"kind":"Name","value":"sample"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BulkView"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkOperation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"dryRun"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"succeeded"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<BulkPreviewFragment, unknown>;
export const HealthDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Health"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"windowMinutes"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobHealth"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"windowMinutes"},"value":{"kind":"Variable","name":{"kind":"Name","value":"windowMinutes"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"windowMinutes"}},{"kind":"Field","name":{"kind":"Name","value":"totalJobs"}},{"kind":"Field","name":{"kind":"Name","value":"failedJobs"}},{"kind":"Field","name":{"kind":"Name","value":"failureRate"}},{"kind":"Field","name":{"kind":"Name","value":"failureRateThreshold"}},{"kind":"Field","name":{"kind":"Name","value":"stuckJobs"}},{"kind":"Field","name":{"kind":"Name","value":"stuckAfterMinutes"}}]}},{"kind":"Field","name":{"kind":"Name","value":"systemCheck"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"groups"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"items"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CheckItemView"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CheckItemView"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CheckItem"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"detail"}},{"kind":"Field","name":{"kind":"Name","value":"fix"}}]}}]} as unknown as DocumentNode<HealthQuery, HealthQueryVariables>;
export const DoctorDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Doctor"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"systemCheck"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"checkedAt"}},{"kind":"Field","name":{"kind":"Name","value":"durationMs"}},{"kind":"Field","name":{"kind":"Name","value":"groups"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"title"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"items"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"CheckItemView"}}]}}]}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"CheckItemView"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"CheckItem"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"detail"}},{"kind":"Field","name":{"kind":"Name","value":"fix"}}]}}]} as unknown as DocumentNode<DoctorQuery, DoctorQueryVariables>;
export const StatsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"Stats"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobStats"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"count"}},{"kind":"Field","name":{"kind":"Name","value":"avgDurationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"p50DurationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"p95DurationSeconds"}}]}}]}}]} as unknown as DocumentNode<StatsQuery, StatsQueryVariables>;
export const ListJobsDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ListJobs"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobExecutionFilter"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobExecutions"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"totalCount"}},{"kind":"Field","name":{"kind":"Name","value":"nodes"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}},{"kind":"Field","name":{"kind":"Name","value":"durationSeconds"}}]}}]}}]}}]} as unknown as DocumentNode<ListJobsQuery, ListJobsQueryVariables>;
export const GetJobDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"GetJob"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobExecution"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"payload"}},{"kind":"Field","name":{"kind":"Name","value":"metadata"}},{"kind":"Field","name":{"kind":"Name","value":"result"}},{"kind":"Field","name":{"kind":"Name","value":"error"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}},{"kind":"Field","name":{"kind":"Name","value":"maxRetries"}},{"kind":"Field","name":{"kind":"Name","value":"messageId"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"completedAt"}},{"kind":"Field","name":{"kind":"Name","value":"durationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"queueWaitSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"attempts"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"attempt"}},{"kind":"Field","name":{"kind":"Name","value":"startedAt"}},{"kind":"Field","name":{"kind":"Name","value":"finishedAt"}},{"kind":"Field","name":{"kind":"Name","value":"durationSeconds"}},{"kind":"Field","name":{"kind":"Name","value":"httpStatus"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}},{"kind":"Field","name":{"kind":"Name","value":"diagnosis"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"verdict"}},{"kind":"Field","name":{"kind":"Name","value":"summary"}},{"kind":"Field","name":{"kind":"Name","value":"remedy"}}]}},{"kind":"Field","name":{"kind":"Name","value":"logs"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"at"}},{"kind":"Field","name":{"kind":"Name","value":"level"}},{"kind":"Field","name":{"kind":"Name","value":"attempt"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]}}]} as unknown as DocumentNode<GetJobQuery, GetJobQueryVariables>;
export const RetryOneDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RetryOne"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}}]}}]}}]} as unknown as DocumentNode<RetryOneMutation, RetryOneMutationVariables>;
export const CancelOneDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelOne"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"jobId"},"value":{"kind":"Variable","name":{"kind":"Name","value":"jobId"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]} as unknown as DocumentNode<CancelOneMutation, CancelOneMutationVariables>;
export const RetryManyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"RetryMany"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"JobFilter"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"retryJobs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"dryRun"},"value":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BulkPreview"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BulkView"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkOperation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"dryRun"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"succeeded"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BulkPreview"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkOperation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BulkView"}},{"kind":"Field","name":{"kind":"Name","value":"sample"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}}]} as unknown as DocumentNode<RetryManyMutation, RetryManyMutationVariables>;
export const CancelManyDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CancelMany"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"JobFilter"}}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"Boolean"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"cancelJobs"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}},{"kind":"Argument","name":{"kind":"Name","value":"dryRun"},"value":{"kind":"Variable","name":{"kind":"Name","value":"dryRun"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BulkPreview"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BulkView"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkOperation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"dryRun"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"succeeded"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BulkPreview"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkOperation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BulkView"}},{"kind":"Field","name":{"kind":"Name","value":"sample"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}}]} as unknown as DocumentNode<CancelManyMutation, CancelManyMutationVariables>;
export const BulkProgressDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"BulkProgress"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"bulkOperationProgress"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"FragmentSpread","name":{"kind":"Name","value":"BulkView"}}]}}]}},{"kind":"FragmentDefinition","name":{"kind":"Name","value":"BulkView"},"typeCondition":{"kind":"NamedType","name":{"kind":"Name","value":"BulkOperation"}},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"kind"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"dryRun"}},{"kind":"Field","name":{"kind":"Name","value":"matched"}},{"kind":"Field","name":{"kind":"Name","value":"processed"}},{"kind":"Field","name":{"kind":"Name","value":"succeeded"}},{"kind":"Field","name":{"kind":"Name","value":"failed"}},{"kind":"Field","name":{"kind":"Name","value":"errors"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"code"}},{"kind":"Field","name":{"kind":"Name","value":"message"}}]}}]}}]} as unknown as DocumentNode<BulkProgressSubscription, BulkProgressSubscriptionVariables>;
export const EnqueueDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"Enqueue"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"EnqueueJobInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"enqueueJob"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<EnqueueMutation, EnqueueMutationVariables>;
export const TailDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"subscription","name":{"kind":"Name","value":"Tail"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"filter"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"JobFilter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"jobEvents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"filter"},"value":{"kind":"Variable","name":{"kind":"Name","value":"filter"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"type"}},{"kind":"Field","name":{"kind":"Name","value":"occurredAt"}},{"kind":"Field","name":{"kind":"Name","value":"jobId"}},{"kind":"Field","name":{"kind":"Name","value":"jobType"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"retryCount"}},{"kind":"Field","name":{"kind":"Name","value":"error"}}]}}]}}]} as unknown as DocumentNode<TailSubscription, TailSubscriptionVariables>;