import { and, eq, lt, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { jobExecutions, type JobExecution } from '../../db/schema.js';

/**
 * The one definition of a stuck job (the guide's alert): `processing`, and its latest attempt
 * started more than `olderThanMinutes` ago. Matches the partial index job_executions_stuck_idx.
 */
export function isStuck(olderThanMinutes: number): SQL {
  return and(
    eq(jobExecutions.status, 'processing'),
    lt(jobExecutions.startedAt, sql`now() - make_interval(mins => ${olderThanMinutes})`),
  )!;
}

/** Stuck jobs (see `isStuck`), oldest start first. */
export async function findStuckJobs(db: Database, olderThanMinutes: number): Promise<JobExecution[]> {
  return db.select().from(jobExecutions).where(isStuck(olderThanMinutes)).orderBy(jobExecutions.startedAt);
}
