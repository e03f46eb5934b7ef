-- Every recorded change of a job emits one event on the channel `jobscope_job_events`, so that a
-- listener on any instance sharing the database hears runs recorded on any other. The event kinds
-- are the vocabulary of src/jobs/events.ts. NOTIFY is delivered after commit.
CREATE OR REPLACE FUNCTION jobscope_notify_job_event() RETURNS trigger AS $$
DECLARE
  kind text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    kind := CASE NEW.status WHEN 'pending' THEN 'enqueued' WHEN 'processing' THEN 'started' ELSE NEW.status::text END;
  ELSIF NEW.status IS DISTINCT FROM OLD.status OR NEW.started_at IS DISTINCT FROM OLD.started_at THEN
    kind := CASE NEW.status WHEN 'pending' THEN 'requeued' WHEN 'processing' THEN 'started' ELSE NEW.status::text END;
  ELSE
    RETURN NEW;
  END IF;
  PERFORM pg_notify('jobscope_job_events', json_build_object(
    'type', kind,
    'jobId', NEW.job_id,
    'jobType', NEW.job_type,
    'status', NEW.status,
    'retryCount', NEW.retry_count,
    'error', left(NEW.error, 2000),
    'occurredAt', clock_timestamp()
  )::text);
  RETURN NEW;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
-- Dropped first so that replaying the migrations (a moved or lost migrations table) succeeds.
DROP TRIGGER IF EXISTS job_executions_notify_event ON job_executions;
--> statement-breakpoint
CREATE TRIGGER job_executions_notify_event
  AFTER INSERT OR UPDATE ON job_executions
  FOR EACH ROW EXECUTE FUNCTION jobscope_notify_job_event();
