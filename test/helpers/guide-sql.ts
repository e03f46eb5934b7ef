/** The operations guide's SQL, as oracles for what jobscope answers. */

/** The operations guide's three statements ("Viewing Job Executions"), character for character. */
export const GUIDE_SQL = {
  recent: `SELECT
  job_id,
  job_type,
  status,
  retry_count,
  created_at,
  completed_at
FROM job_executions
ORDER BY created_at DESC
LIMIT 50;`,
  failed: `SELECT
  job_id,
  job_type,
  error,
  retry_count,
  payload
FROM job_executions
WHERE status = 'failed'
ORDER BY created_at DESC;`,
  statistics: `SELECT
  job_type,
  status,
  COUNT(*) as count,
  AVG(EXTRACT(EPOCH FROM (completed_at - started_at))) as avg_duration_seconds
FROM job_executions
WHERE completed_at IS NOT NULL
GROUP BY job_type, status;`,
} as const;
