import type { JobDefinition } from '../registry.js';
import { generateReportJob } from './generate-report.js';
import { logEmailTransport, sendEmailJob, type EmailTransport } from './send-email.js';

/**
 * The job types jobscope ships as examples: `send-email` (to the log unless given a transport)
 * and `generate-report`. They run when no config file names job types of its own; a config may
 * include them with `jobs: [...exampleJobs(), myJob]`.
 */
export function exampleJobs(options: { emailTransport?: EmailTransport } = {}): JobDefinition<any>[] {
  return [sendEmailJob(options.emailTransport ?? logEmailTransport()), generateReportJob];
}
