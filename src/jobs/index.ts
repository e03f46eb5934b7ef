import type { Logger } from '../logger.js';
import { generateReportJob } from './types/generate-report.js';
import { logEmailTransport, sendEmailJob, type EmailTransport } from './types/send-email.js';
import type { JobDefinition } from './registry.js';

/**
 * The job types jobscope ships: `send-email` and `generate-report`. A team adds its own by
 * passing more definitions (see README, "Adding a job type").
 */
export function defaultJobs(options: { logger: Logger; emailTransport?: EmailTransport }): JobDefinition<any>[] {
  return [sendEmailJob(options.emailTransport ?? logEmailTransport(options.logger)), generateReportJob];
}
