CREATE TABLE IF NOT EXISTS "bulk_operation_jobs" (
	"operation_id" text,
	"job_id" text NOT NULL,
	"position" integer,
	"state" text DEFAULT 'pending' NOT NULL,
	"error" text,
	CONSTRAINT "bulk_operation_jobs_pkey" PRIMARY KEY("operation_id","position")
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "bulk_operations" (
	"id" text PRIMARY KEY,
	"kind" text NOT NULL,
	"filter" jsonb NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"matched" integer NOT NULL,
	"processed" integer DEFAULT 0 NOT NULL,
	"succeeded" integer DEFAULT 0 NOT NULL,
	"failed" integer DEFAULT 0 NOT NULL,
	"errors" jsonb DEFAULT '[]' NOT NULL,
	"actor" text NOT NULL,
	"idempotency_key" text UNIQUE,
	"rate_per_second" numeric NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp(3) with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "audit_log" ADD COLUMN IF NOT EXISTS "bulk_operation_id" text;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "audit_log_bulk_operation_idx" ON "audit_log" ("bulk_operation_id") WHERE "bulk_operation_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "bulk_operation_jobs_pending_idx" ON "bulk_operation_jobs" ("operation_id","position") WHERE "state" = 'pending';--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "bulk_operation_jobs_job_idx" ON "bulk_operation_jobs" ("job_id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "bulk_operations_created_at_idx" ON "bulk_operations" ("created_at","id");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "bulk_operations_running_idx" ON "bulk_operations" ("lease_until") WHERE "status" = 'running';--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid JOIN pg_namespace n ON n.oid = r.relnamespace
    WHERE c.conname = 'bulk_operation_jobs_operation_id_bulk_operations_id_fkey' AND n.nspname = current_schema()
  ) THEN
    ALTER TABLE "bulk_operation_jobs" ADD CONSTRAINT "bulk_operation_jobs_operation_id_bulk_operations_id_fkey" FOREIGN KEY ("operation_id") REFERENCES "bulk_operations"("id") ON DELETE CASCADE;
  END IF;
END
$$;