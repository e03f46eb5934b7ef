-- Compaction folded the oldest deltas with `DELETE … WHERE id IN (SELECT id … ORDER BY id LIMIT n)`.
-- Planned with the statistics of an empty table (autovacuum off, or not yet run), that became a
-- nested loop rescanning the LIMIT subquery for every delta: quadratic. 170,000 pending deltas
-- after a 10,000-job bulk retry held one compaction for more than 8 minutes of CPU while deltas
-- kept piling up. The oldest n ids are now a range below one bound (an InitPlan computed once),
-- which is a single index range scan or seq scan whatever the statistics say; the same rows, as
-- ids only grow and the bound is read in the same snapshot.
CREATE OR REPLACE FUNCTION jobscope_fold_rollup_deltas(max_rows bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  moved_rollups bigint;
  moved_bins bigint;
  moved_minutes bigint;
BEGIN
  WITH moved AS (
    DELETE FROM job_rollup_deltas
    WHERE id <= (SELECT max(id) FROM (SELECT id FROM job_rollup_deltas ORDER BY id LIMIT max_rows) oldest)
    RETURNING series, bucket_start, job_type, status, jobs, finished, timed, duration_sum, waited, wait_sum
  ), folded AS (
    INSERT INTO job_rollups AS r (series, bucket_start, job_type, status, jobs, finished, timed, duration_sum, waited, wait_sum)
    SELECT series, bucket_start, job_type, status, sum(jobs), sum(finished), sum(timed), sum(duration_sum), sum(waited), sum(wait_sum)
    FROM moved
    GROUP BY 1, 2, 3, 4
    HAVING sum(jobs) <> 0 OR sum(finished) <> 0 OR sum(timed) <> 0 OR sum(duration_sum) <> 0
        OR sum(waited) <> 0 OR sum(wait_sum) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (series, bucket_start, job_type, status) DO UPDATE SET
      jobs = r.jobs + excluded.jobs,
      finished = r.finished + excluded.finished,
      timed = r.timed + excluded.timed,
      duration_sum = r.duration_sum + excluded.duration_sum,
      waited = r.waited + excluded.waited,
      wait_sum = r.wait_sum + excluded.wait_sum
    RETURNING 1
  )
  SELECT count(*) INTO moved_rollups FROM moved;

  WITH moved AS (
    DELETE FROM job_rollup_bin_deltas
    WHERE id <= (SELECT max(id) FROM (SELECT id FROM job_rollup_bin_deltas ORDER BY id LIMIT max_rows) oldest)
    RETURNING series, bucket_start, job_type, status, bin, n
  ), folded AS (
    INSERT INTO job_rollup_bins AS b (series, bucket_start, job_type, status, bin, n)
    SELECT series, bucket_start, job_type, status, bin, sum(n)
    FROM moved
    GROUP BY 1, 2, 3, 4, 5
    HAVING sum(n) <> 0
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (series, bucket_start, job_type, status, bin) DO UPDATE SET n = b.n + excluded.n
    RETURNING 1
  )
  SELECT count(*) INTO moved_bins FROM moved;

  WITH moved AS (
    DELETE FROM job_rollup_minute_deltas
    WHERE id <= (SELECT max(id) FROM (SELECT id FROM job_rollup_minute_deltas ORDER BY id LIMIT max_rows) oldest)
    RETURNING minute, job_type, enqueued, completed, failed
  ), folded AS (
    INSERT INTO job_rollup_minutes AS m (minute, job_type, enqueued, completed, failed)
    SELECT minute, job_type, sum(enqueued), sum(completed), sum(failed)
    FROM moved
    GROUP BY 1, 2
    HAVING sum(enqueued) <> 0 OR sum(completed) <> 0 OR sum(failed) <> 0
    ORDER BY 1, 2
    ON CONFLICT (minute, job_type) DO UPDATE SET
      enqueued = m.enqueued + excluded.enqueued,
      completed = m.completed + excluded.completed,
      failed = m.failed + excluded.failed
    RETURNING 1
  )
  SELECT count(*) INTO moved_minutes FROM moved;

  RETURN moved_rollups + moved_bins + moved_minutes;
END;
$$;
--> statement-breakpoint
-- CREATE OR REPLACE resets the function's settings: its search_path again (see the rollups migrations).
DO $$
BEGIN
  EXECUTE format('ALTER FUNCTION jobscope_fold_rollup_deltas(bigint) SET search_path = %I', current_schema());
END
$$;
