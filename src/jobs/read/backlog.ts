import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { jobExecutions } from '../../db/schema.js';

/** The database's side of a job type's queue depth: jobs enqueued and not started, and those running. */
export interface JobBacklog {
  jobType: string;
  /** Jobs `pending`: enqueued (or retried) and not yet started. */
  pending: number;
  /** Jobs `processing`: an attempt under way. */
  processing: number;
  /** When the oldest `pending` job was created; null when none is pending. */
  oldestPendingAt: Date | null;
}

/**
 * Pending and processing jobs per type (types with none are absent). Reads only the unfinished
 * rows, through job_executions_status_created_at_idx, so it stays cheap however many jobs finished.
 */
export async function jobBacklog(db: Database): Promise<JobBacklog[]> {
  const t = jobExecutions;
  const rows = await db
    .select({
      jobType: t.jobType,
      pending: sql<number>`count(*) FILTER (WHERE ${t.status} = 'pending')`.mapWith(Number),
      processing: sql<number>`count(*) FILTER (WHERE ${t.status} = 'processing')`.mapWith(Number),
      oldestPendingAt: sql<Date | null>`min(${t.createdAt}) FILTER (WHERE ${t.status} = 'pending')`.mapWith(t.createdAt),
    })
    .from(t)
    .where(sql`${t.status} IN ('pending', 'processing')`)
    .groupBy(t.jobType);
  return rows;
}
