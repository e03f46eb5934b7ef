import { defineRelations } from 'drizzle-orm';
import * as schema from './schema.js';

export const relations = defineRelations(schema, (r) => ({
  jobExecutions: {
    attempts: r.many.jobAttempts({ from: r.jobExecutions.jobId, to: r.jobAttempts.jobId }),
    /** The publish request of a job jobscope enqueued; none for jobs published straight to QStash. */
    publish: r.one.jobPublishes({ from: r.jobExecutions.jobId, to: r.jobPublishes.jobId }),
  },
  jobAttempts: {
    execution: r.one.jobExecutions({ from: r.jobAttempts.jobId, to: r.jobExecutions.jobId, optional: false }),
  },
}));
