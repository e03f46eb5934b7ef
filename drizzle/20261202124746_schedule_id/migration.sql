ALTER TABLE "job_executions" ADD COLUMN IF NOT EXISTS "schedule_id" text;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "job_executions_schedule_id_idx" ON "job_executions" ("schedule_id","created_at") WHERE "schedule_id" IS NOT NULL;
