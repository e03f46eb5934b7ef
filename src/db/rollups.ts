import type { DatabaseHandle } from './client.js';

/**
 * Recomputes the rollups (job_rollups, job_rollup_bins, job_rollup_minutes) from job_executions
 * with `jobscope_rebuild_rollups()`, for rows loaded around the triggers: a bulk `COPY` or a
 * restore with triggers disabled, rows written with `session_replication_role = replica`. Writers
 * wait while it runs (it holds a SHARE lock on job_executions until it commits). Resolves to the
 * number of rows read.
 */
export async function rebuildRollups(handle: DatabaseHandle): Promise<number> {
  const [row] = await handle.query<{ rows: unknown }>('SELECT jobscope_rebuild_rollups() AS rows');
  return Number(row?.rows ?? 0);
}
