import { defineRelations } from 'drizzle-orm';
import * as schema from './schema.js';

export const relations = defineRelations(schema, (r) => ({
  jobExecutions: {
    attempts: r.many.jobAttempts({ from: r.jobExecutions.jobId, to: r.jobAttempts.jobId }),
    /** The publish request of a job jobscope enqueued; none for jobs published straight to QStash. */
    publish: r.one.jobPublishes({ from: r.jobExecutions.jobId, to: r.jobPublishes.jobId }),
    /** The job a replay was made from (`replayJob`). */
    original: r.one.jobExecutions({ from: r.jobExecutions.replayOf, to: r.jobExecutions.jobId, alias: 'replay' }),
    /** The replays made from this job. */
    replays: r.many.jobExecutions({ from: r.jobExecutions.jobId, to: r.jobExecutions.replayOf, alias: 'replay' }),
  },
  jobAttempts: {
    execution: r.one.jobExecutions({ from: r.jobAttempts.jobId, to: r.jobExecutions.jobId, optional: false }),
  },
}));
