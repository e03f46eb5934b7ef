CREATE INDEX IF NOT EXISTS "job_executions_retry_count_idx" ON "job_executions" ("retry_count");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "job_executions_duration_idx" ON "job_executions" (EXTRACT(EPOCH FROM ("completed_at" - "started_at")));
