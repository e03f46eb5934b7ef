import { startPeriodic, type Periodic } from '../periodic.js';
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

/** Deltas moved per table and compaction call: bounded work (and WAL) per transaction. */
export const COMPACTION_BATCH_ROWS = 10_000;

/**
 * Folds the oldest `maxRows` pending deltas of each rollup table into the rollups with
 * `jobscope_compact_rollups()`, in one transaction; resolves to the delta rows moved (0 when there
 * were none, or when another compaction held the lock and this one skipped). Readers are exact
 * whether or not it has run; compaction only keeps the deltas they add few.
 */
export async function compactRollups(handle: DatabaseHandle, maxRows = COMPACTION_BATCH_ROWS): Promise<number> {
  const [row] = await handle.query<{ moved: unknown }>('SELECT jobscope_compact_rollups($1) AS moved', [maxRows]);
  return Number(row?.moved ?? 0);
}

/**
 * Compaction deletes the deltas it moves, and a reader's index scan of a delta table visits the
 * dead rows until VACUUM reclaims them: after 1M rows' deltas were moved, 578k dead rows made the
 * all-time histogram read 8 ms warm and 1.9 s cold, with nothing left to read (autovacuum was off
 * on that server, and a busy one may lag too). So the compactor vacuums the delta tables itself
 * once it has moved this many rows since the last time.
 */
export const VACUUM_AFTER_ROWS = 20_000;
const DELTA_TABLES = 'job_rollup_deltas, job_rollup_bin_deltas, job_rollup_minute_deltas';

/** VACUUM of the delta tables, skipping one another session holds (a second instance vacuuming). */
export async function vacuumRollupDeltas(handle: DatabaseHandle): Promise<void> {
  await handle.query(`VACUUM (SKIP_LOCKED) ${DELTA_TABLES}`);
}

/** Periodic compaction, from {@link startRollupCompaction}; `stop` waits for a compaction in progress. */
export type RollupCompactor = Periodic;

/**
 * Compacts every `intervalMs` (an unref'd timer: it never keeps the process alive): batch after
 * batch while full batches come back, at most `maxBatches` per tick, so a backlog drains without
 * one tick holding the database for long; then vacuums the delta tables once enough rows were
 * moved ({@link VACUUM_AFTER_ROWS}). Errors are reported to `onError` and retried next tick.
 */
export function startRollupCompaction(
  handle: DatabaseHandle,
  { intervalMs, maxBatches = 10, onError }: { intervalMs: number; maxBatches?: number; onError: (error: unknown) => void },
): RollupCompactor {
  let stopped = false;
  let movedSinceVacuum = 0;
  const tick = async () => {
    for (let i = 0; i < maxBatches && !stopped; i++) {
      const moved = await compactRollups(handle);
      movedSinceVacuum += moved;
      // Fewer rows than one table's batch: every table is drained, this tick is done.
      if (moved < COMPACTION_BATCH_ROWS) break;
    }
    if (movedSinceVacuum >= VACUUM_AFTER_ROWS && !stopped) {
      movedSinceVacuum = 0;
      await vacuumRollupDeltas(handle);
    }
  };
  return startPeriodic(tick, { intervalMs, onError, onStop: () => (stopped = true) });
}
