-- Alert rules as objects of the API, their events, and the lease of the one instance that evaluates them. Replay-safe, like the others.
CREATE TABLE IF NOT EXISTS "alert_evaluator" (
	"id" integer PRIMARY KEY,
	"owner" text NOT NULL,
	"lease_until" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "alert_events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "alert_events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"rule_id" text NOT NULL,
	"rule_name" text NOT NULL,
	"metric" text NOT NULL,
	"kind" text NOT NULL,
	"at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"value" double precision NOT NULL,
	"threshold" double precision NOT NULL,
	"message" text NOT NULL,
	"job_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"detail" jsonb NOT NULL,
	"deliveries" jsonb DEFAULT '[]' NOT NULL,
	"acknowledged_at" timestamp(3) with time zone,
	"acknowledged_by" text
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "alert_rules" (
	"id" text PRIMARY KEY,
	"name" text NOT NULL,
	"metric" text NOT NULL,
	"scope" jsonb DEFAULT '{}' NOT NULL,
	"window_minutes" integer NOT NULL,
	"threshold" double precision NOT NULL,
	"cooldown_minutes" integer NOT NULL,
	"channels" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"muted_until" timestamp(3) with time zone,
	"default_key" text UNIQUE,
	"customized" boolean DEFAULT false NOT NULL,
	"created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"firing_event_id" bigint,
	"last_fired_at" timestamp(3) with time zone,
	"last_value" double precision,
	"last_evaluated_at" timestamp(3) with time zone,
	CONSTRAINT "alert_rules_window_positive" CHECK ("window_minutes" > 0),
	CONSTRAINT "alert_rules_cooldown_nonnegative" CHECK ("cooldown_minutes" >= 0)
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "alert_events_rule_idx" ON "alert_events" ("rule_id","id");