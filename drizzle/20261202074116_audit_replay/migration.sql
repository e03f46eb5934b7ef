CREATE TABLE IF NOT EXISTS "audit_log" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "audit_log_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"args" jsonb NOT NULL,
	"job_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"outcome" text NOT NULL,
	"detail" jsonb
);
--> statement-breakpoint
ALTER TABLE "job_executions" ADD COLUMN IF NOT EXISTS "replay_of" text;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "audit_log_at_idx" ON "audit_log" ("at","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "audit_log_actor_idx" ON "audit_log" ("actor","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "audit_log_action_idx" ON "audit_log" ("action","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "audit_log_job_ids_idx" ON "audit_log" USING gin ("job_ids");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "job_executions_replay_of_idx" ON "job_executions" ("replay_of") WHERE "replay_of" IS NOT NULL;--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
    WHERE c.conname = 'job_executions_replay_of_job_executions_job_id_fkey' AND n.nspname = current_schema()
  ) THEN
    ALTER TABLE "job_executions" ADD CONSTRAINT "job_executions_replay_of_job_executions_job_id_fkey" FOREIGN KEY ("replay_of") REFERENCES "job_executions"("job_id") ON DELETE SET NULL;
  END IF;
END
$$;--> statement-breakpoint
-- The audit log is append-only: nothing, jobscope included, edits or deletes an entry.
CREATE OR REPLACE FUNCTION jobscope_audit_log_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
DROP TRIGGER IF EXISTS audit_log_append_only ON "audit_log";
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON "audit_log"
  FOR EACH ROW EXECUTE FUNCTION jobscope_audit_log_append_only();
