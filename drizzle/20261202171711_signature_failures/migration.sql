-- Deliveries the worker rejected for their signature (bounded by the app). Replay-safe, like the others.
CREATE TABLE IF NOT EXISTS "signature_failures" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "signature_failures_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"message_id" text,
	"path" text NOT NULL,
	"checked_url" text NOT NULL,
	"signed_url" text,
	"reason" text NOT NULL,
	"detail" text
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "signature_failures_at_idx" ON "signature_failures" ("at");--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "signature_failures_message_id_idx" ON "signature_failures" ("message_id");