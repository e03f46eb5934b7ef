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

/** Periodic compaction, from {@link startRollupCompaction}. */
export interface RollupCompactor {
  /** Stops the timer and waits for a compaction in progress. */
  stop(): Promise<void>;
}

/**
 * Compacts every `intervalMs` (an unref'd timer: it never keeps the process alive): batch after
 * batch while full batches come back, at most `maxBatches` per tick, so a backlog drains without
 * one tick holding the database for long. Errors are reported to `onError` and retried next tick.
 */
export function startRollupCompaction(
  handle: DatabaseHandle,
  { intervalMs, maxBatches = 10, onError }: { intervalMs: number; maxBatches?: number; onError: (error: unknown) => void },
): RollupCompactor {
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = async () => {
    for (let i = 0; i < maxBatches && !stopped; i++) {
      // Fewer rows than one table's batch: every table is drained, this tick is done.
      if ((await compactRollups(handle)) < COMPACTION_BATCH_ROWS) break;
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = tick()
      .catch(onError)
      .finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
