import { and, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { jobExecutions, type JobExecution } from '../../db/schema.js';
import type { JobExecutionShape } from './shape.js';

/**
 * The one definition of a stuck job (the guide's alert): `processing`, and its latest attempt
 * started more than `olderThanMinutes` ago. Matches the partial index job_executions_stuck_idx.
 */
export function isStuck(olderThanMinutes: number, t: typeof jobExecutions = jobExecutions): SQL {
  return and(eq(t.status, 'processing'), lt(t.startedAt, sql`now() - make_interval(mins => ${olderThanMinutes})`))!;
}

/** Stuck jobs (see `isStuck`), oldest start first, loaded as `shape` says. */
export async function findStuckJobs(db: Database, olderThanMinutes: number, shape: JobExecutionShape = {}): Promise<JobExecution[]> {
  return (await db.query.jobExecutions.findMany({
    ...shape,
    where: { RAW: (t) => isStuck(olderThanMinutes, t) },
    orderBy: (t) => [t.startedAt, t.jobId],
  })) as JobExecution[];
}
