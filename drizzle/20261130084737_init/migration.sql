CREATE TYPE "job_status" AS ENUM('pending', 'processing', 'retrying', 'completed', 'failed', 'cancelled');--> statement-breakpoint
CREATE TABLE "job_attempts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "job_attempts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"job_id" text NOT NULL,
	"attempt" integer NOT NULL,
	"message_id" text NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"duration_ms" integer,
	"http_status" integer,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "job_executions" (
	"job_id" text PRIMARY KEY,
	"job_type" text NOT NULL,
	"status" "job_status" DEFAULT 'pending'::"job_status" NOT NULL,
	"retry_count" integer DEFAULT 0 NOT NULL,
	"max_retries" integer DEFAULT 3 NOT NULL,
	"payload" jsonb NOT NULL,
	"result" jsonb,
	"error" text,
	"message_id" text,
	"user_id" text,
	"organization_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"completed_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "job_attempts_job_id_idx" ON "job_attempts" ("job_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "job_attempts_message_attempt_idx" ON "job_attempts" ("message_id","attempt");--> statement-breakpoint
CREATE INDEX "job_executions_created_at_idx" ON "job_executions" ("created_at","job_id");--> statement-breakpoint
CREATE INDEX "job_executions_status_created_at_idx" ON "job_executions" ("status","created_at");--> statement-breakpoint
CREATE INDEX "job_executions_job_type_created_at_idx" ON "job_executions" ("job_type","created_at");--> statement-breakpoint
CREATE INDEX "job_executions_stuck_idx" ON "job_executions" ("started_at") WHERE "status" = 'processing';--> statement-breakpoint
CREATE INDEX "job_executions_completed_at_idx" ON "job_executions" ("completed_at");--> statement-breakpoint
CREATE INDEX "job_executions_message_id_idx" ON "job_executions" ("message_id");--> statement-breakpoint
CREATE INDEX "job_executions_user_id_idx" ON "job_executions" ("user_id");--> statement-breakpoint
CREATE INDEX "job_executions_organization_id_idx" ON "job_executions" ("organization_id");--> statement-breakpoint
ALTER TABLE "job_attempts" ADD CONSTRAINT "job_attempts_job_id_job_executions_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "job_executions"("job_id") ON DELETE CASCADE;