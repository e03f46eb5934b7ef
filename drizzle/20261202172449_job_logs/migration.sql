-- The log lines that named a job (JobExecution.logs). Replay-safe, like the others.
CREATE TABLE IF NOT EXISTS "job_logs" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "job_logs_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"job_id" text NOT NULL,
	"attempt" integer,
	"at" timestamp(3) with time zone NOT NULL,
	"level" text NOT NULL,
	"message" text NOT NULL,
	"fields" jsonb NOT NULL
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "job_logs_job_id_idx" ON "job_logs" ("job_id","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "job_logs_at_idx" ON "job_logs" USING brin ("at");--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_constraint
    WHERE conname = 'job_logs_job_id_job_executions_job_id_fkey'
      AND conrelid = format('%I.job_logs', current_schema())::regclass
  ) THEN
    ALTER TABLE "job_logs" ADD CONSTRAINT "job_logs_job_id_job_executions_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "job_executions"("job_id") ON DELETE CASCADE;
  END IF;
END
$$;