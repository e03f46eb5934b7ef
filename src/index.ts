/**
 * `jobscope`: the public API. Define job types and a config, create an instance to mount in an
 * app (`jobscope/fetch`, `jobscope/node`) or serve with `npx jobscope start`, or enqueue from code
 * that only publishes. Anything not exported here is internal.
 */
export {
  createDispatcher,
  createJobscope,
  defineConfig,
  type CreateDispatcherOptions,
  type CreateJobscopeOptions,
  type Dispatcher,
  type Jobscope,
  type JobscopeConfig,
} from './jobscope.js';
export { ConfigError, DEFAULT_POLICY, type Config, type JobscopeOptions, type Policy } from './config/index.js';
export { defineJob, type JobContext, type JobDefinition } from './jobs/registry.js';
export type { Actor, CommandOptions, EnqueueCommand, Jobs } from './jobs/index.js';
export { ALERT_EVENT_ID_HEADER, ALERT_SIGNATURE_HEADER, signAlertWebhook, verifyAlertWebhook, type AlertEvent, type AlertRule, type AlertRuleInput, type Alerts } from './jobs/alerts/index.js';
export type { JobEnvelope, JobExecution, JobMetadata, JobStatus } from './db/schema.js';
export {
  InvalidArgumentError,
  InvalidPayloadError,
  JobNotCancellableError,
  JobNotFoundError,
  JobNotRetryableError,
  JobTimeoutError,
  NonRetryableJobError,
  UnknownJobTypeError,
  type PayloadIssue,
} from './jobs/errors.js';
export { exampleJobs } from './jobs/types/index.js';
export { sendEmailJob, type EmailMessage, type EmailTransport } from './jobs/types/send-email.js';
export { generateReportJob } from './jobs/types/generate-report.js';
export type { Logger } from './logger.js';
