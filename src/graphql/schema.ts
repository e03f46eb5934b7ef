import { builder } from './builder.js';
import './scalars.js';
import './job-status.js';
import './publish-state.js';
import './job-execution.js';
import './job-executions.js';
import './job-stats.js';
import './job-throughput.js';
import './slow-jobs.js';
import './stuck-jobs.js';
import './job-health.js';
import './job-types.js';
import './queue-depth.js';
import './job-diagnosis.js';
import './test-job.js';
import './system-check.js';
import './enqueue-job.js';
import './retry-job.js';
import './cancel-job.js';
import './purge-job-executions.js';
import './replay-job.js';
import './audit-log.js';
import './bulk-operations.js';
import './dead-letters.js';
import './schedules.js';
import './job-events.js';

/** The schema, built once from every registered module. */
export const schema = builder.toSchema({ sortSchema: true });
