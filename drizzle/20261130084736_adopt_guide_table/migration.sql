-- Adopts a job_executions table that the operations guide's app created, in place, before init
-- (which sorts after this migration) creates whatever is still missing. It brings the table to
-- exactly the job_executions init creates: the same column types, defaults, NOT NULLs and a
-- primary key on job_id (or, when the table has another primary key such as a surrogate id, a
-- unique constraint on job_id). Every row and every extra column is kept.
--
-- Only the current schema is looked at (the first schema of search_path, where init creates its
-- tables), never the whole search_path. On a fresh database, and on a database jobscope created,
-- there is nothing to do and nothing is changed.
--
-- Rows jobscope cannot represent stop the migration with one error naming all of them (unknown
-- statuses, missing ids, types or creation times, duplicate ids). The migrator runs every pending
-- migration in one transaction, so then nothing at all has changed.
--
-- Conversions: status text (or another enum) to job_status; job_id, job_type, error to text;
-- timestamps to timestamptz, reading naive timestamps in the session's TimeZone, as PostgreSQL's
-- own cast does; payload json/jsonb/text to jsonb NOT NULL, a missing payload becoming the
-- envelope {jobId, type, payload: null, metadata: {}}; a NULL retry_count becomes 0. Added:
-- message_id, result, max_retries (3), user_id and organization_id (copied from
-- payload.metadata), updated_at (the latest of created_at, started_at, completed_at). The table
-- is rewritten once for the type changes and once for the backfill.
DO $adopt$
DECLARE
  here text := current_schema();
  labels text[] := ARRAY['pending', 'processing', 'retrying', 'completed', 'failed', 'cancelled'];
  cur record;
  existing_labels text[];
  problems text[] := '{}';
  listed text;
  n bigint;
  conversions text[] := '{}';
  added text[] := '{}';
  fill text[] := '{}';
  finish text[] := '{}';
  job_id_attnum smallint;
BEGIN
  IF here IS NULL OR NOT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = here AND tablename = 'job_executions') THEN
    RETURN;
  END IF;

  -- What init creates, column by column, next to what the table has now (the view reads the
  -- catalog afresh each time). fill_expr is the value a NOT NULL column gets where it has none;
  -- without one, rows lacking the value are refused.
  CREATE TEMP VIEW jobscope_adopt_columns AS
  SELECT s.position, s.name, s.type, s.not_null, s.default_expr, s.fill_expr,
         a.attnum IS NOT NULL AS present,
         format_type(a.atttypid, a.atttypmod) AS current_type,
         a.attnotnull AS current_not_null,
         pg_get_expr(d.adbin, d.adrelid) AS current_default
  FROM (VALUES
    (1,  'job_id',          'text',                     true,  NULL,                     NULL),
    (2,  'job_type',        'text',                     true,  NULL,                     NULL),
    (3,  'status',          'job_status',               true,  '''pending''::job_status', NULL),
    (4,  'retry_count',     'integer',                  true,  '0',                      '0'),
    (5,  'max_retries',     'integer',                  true,  '3',                      '3'),
    (6,  'payload',         'jsonb',                    true,  NULL,
       $$jsonb_build_object('jobId', job_id, 'type', job_type, 'payload', NULL, 'metadata', '{}'::jsonb)$$),
    (7,  'result',          'jsonb',                    false, NULL,                     NULL),
    (8,  'error',           'text',                     false, NULL,                     NULL),
    (9,  'message_id',      'text',                     false, NULL,                     NULL),
    (10, 'user_id',         'text',                     false, NULL,                     NULL),
    (11, 'organization_id', 'text',                     false, NULL,                     NULL),
    (12, 'created_at',      'timestamp with time zone', true,  'now()',                  NULL),
    (13, 'started_at',      'timestamp with time zone', false, NULL,                     NULL),
    (14, 'completed_at',    'timestamp with time zone', false, NULL,                     NULL),
    (15, 'updated_at',      'timestamp with time zone', true,  'now()',                  'greatest(created_at, started_at, completed_at)')
  ) AS s(position, name, type, not_null, default_expr, fill_expr)
  LEFT JOIN pg_attribute a
    ON a.attrelid = format('%I.job_executions', current_schema())::regclass AND a.attname = s.name AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum;

  -- 1. Refuse what cannot be adopted, all problems in one message.
  SELECT array_agg(e.enumlabel::text) INTO existing_labels
  FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace ns ON ns.oid = t.typnamespace
  WHERE t.typname = 'job_status' AND ns.nspname = here;
  IF existing_labels IS NOT NULL AND NOT labels <@ existing_labels THEN
    problems := problems || format('a type %I.job_status exists with the labels %s, not jobscope''s %s',
      here, array_to_string(existing_labels, ', '), array_to_string(labels, ', '));
  END IF;

  SELECT string_agg(name, ', ') INTO listed FROM jobscope_adopt_columns
  WHERE NOT present AND name IN ('job_id', 'job_type', 'status', 'created_at');
  IF listed IS NOT NULL THEN
    problems := problems || format('it has no column %s', listed);
  END IF;

  FOR cur IN SELECT * FROM jobscope_adopt_columns WHERE present AND NOT current_not_null AND not_null AND fill_expr IS NULL ORDER BY position LOOP
    EXECUTE format('SELECT count(*) FROM %I.job_executions WHERE %I IS NULL', here, cur.name) INTO n;
    IF n > 0 THEN
      problems := problems || format('%s %s no %s', n, CASE WHEN n = 1 THEN 'row has' ELSE 'rows have' END, cur.name);
    END IF;
  END LOOP;

  IF EXISTS (SELECT 1 FROM jobscope_adopt_columns WHERE name = 'status' AND present AND current_type <> 'job_status') THEN
    EXECUTE format($q$
      SELECT string_agg(format('%%L (%%s %%s)', status, n, CASE WHEN n = 1 THEN 'row' ELSE 'rows' END), ', ' ORDER BY n DESC, status)
      FROM (SELECT status::text AS status, count(*) AS n FROM %I.job_executions
            WHERE status IS NOT NULL AND NOT (status::text = ANY (%L::text[])) GROUP BY 1) unknown
    $q$, here, labels) INTO listed;
    IF listed IS NOT NULL THEN
      problems := problems || format('status has values jobscope does not know: %s (jobscope knows %s)',
        listed, array_to_string(labels, ', '));
    END IF;
  END IF;

  SELECT a.attnum INTO job_id_attnum FROM pg_attribute a
  WHERE a.attrelid = format('%I.job_executions', here)::regclass AND a.attname = 'job_id' AND NOT a.attisdropped;
  IF job_id_attnum IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM pg_index i
    WHERE i.indrelid = format('%I.job_executions', here)::regclass AND i.indisunique AND i.indpred IS NULL
      AND i.indexprs IS NULL AND i.indnkeyatts = 1 AND i.indkey[0] = job_id_attnum
  ) THEN
    EXECUTE format($q$
      SELECT count(*), string_agg(quote_literal(job_id), ', ' ORDER BY job_id) FILTER (WHERE rank <= 5)
      FROM (SELECT job_id::text AS job_id, row_number() OVER (ORDER BY job_id::text) AS rank
            FROM %I.job_executions WHERE job_id IS NOT NULL GROUP BY job_id::text HAVING count(*) > 1) dup
    $q$, here) INTO n, listed;
    IF n > 0 THEN
      problems := problems || format('%s job_id %s more than once (%s%s)', n,
        CASE WHEN n = 1 THEN 'value appears' ELSE 'values appear' END, listed, CASE WHEN n > 5 THEN ', …' ELSE '' END);
    END IF;
  END IF;

  IF cardinality(problems) > 0 THEN
    RAISE EXCEPTION 'jobscope cannot adopt %.job_executions: %. Nothing was changed.', here, array_to_string(problems, '; ')
      USING HINT = 'Correct what is listed, e.g. update or delete those rows, then start jobscope again.';
  END IF;

  -- 2. Types, in one ALTER TABLE (one rewrite); columns init has and the table lacks.
  IF existing_labels IS NULL THEN
    EXECUTE format('CREATE TYPE %I.job_status AS ENUM (%s)', here,
      (SELECT string_agg(quote_literal(l), ', ') FROM unnest(labels) AS l));
  END IF;
  FOR cur IN SELECT * FROM jobscope_adopt_columns ORDER BY position LOOP
    IF NOT cur.present THEN
      conversions := conversions || format('ADD COLUMN %I %s', cur.name, cur.type);
      added := added || cur.name;
    ELSIF cur.current_type <> cur.type THEN
      IF cur.current_default IS NOT NULL THEN
        conversions := conversions || format('ALTER COLUMN %I DROP DEFAULT', cur.name);
      END IF;
      -- Through text for status: a cast to the enum exists from text, not from varchar or another enum.
      conversions := conversions || format('ALTER COLUMN %I TYPE %s USING %I%s::%s', cur.name, cur.type, cur.name,
        CASE WHEN cur.name = 'status' THEN '::text' ELSE '' END, cur.type);
    END IF;
  END LOOP;
  IF cardinality(conversions) > 0 THEN
    EXECUTE format('ALTER TABLE %I.job_executions %s', here, array_to_string(conversions, ', '));
  END IF;

  -- 3. Values for NOT NULL columns that have none, and the metadata ids copied out, in one UPDATE.
  FOR cur IN SELECT * FROM jobscope_adopt_columns ORDER BY position LOOP
    IF cur.fill_expr IS NOT NULL AND NOT (cur.present AND cur.current_not_null) THEN
      fill := fill || CASE WHEN cur.name = 'payload'
        -- JSON null counts as no payload: jobscope reads payload.payload and payload.metadata.
        THEN format('payload = CASE WHEN payload IS NULL OR payload = ''null''::jsonb THEN %s ELSE payload END', cur.fill_expr)
        ELSE format('%I = coalesce(%I, %s)', cur.name, cur.name, cur.fill_expr) END;
    ELSIF cur.name IN ('user_id', 'organization_id') AND cur.name = ANY (added) THEN
      fill := fill || format('%I = payload -> ''metadata'' ->> %L', cur.name,
        CASE cur.name WHEN 'user_id' THEN 'userId' ELSE 'organizationId' END);
    END IF;
  END LOOP;
  IF cardinality(fill) > 0 THEN
    EXECUTE format('UPDATE %I.job_executions SET %s', here, array_to_string(fill, ', '));
  END IF;

  -- 4. Defaults and NOT NULLs as init has them, then the key on job_id.
  FOR cur IN SELECT * FROM jobscope_adopt_columns ORDER BY position LOOP
    IF cur.default_expr IS NULL AND cur.current_default IS NOT NULL THEN
      finish := finish || format('ALTER COLUMN %I DROP DEFAULT', cur.name);
    ELSIF cur.default_expr IS NOT NULL AND cur.current_default IS DISTINCT FROM cur.default_expr THEN
      finish := finish || format('ALTER COLUMN %I SET DEFAULT %s', cur.name, cur.default_expr);
    END IF;
    IF cur.not_null AND NOT cur.current_not_null THEN
      finish := finish || format('ALTER COLUMN %I SET NOT NULL', cur.name);
    ELSIF NOT cur.not_null AND cur.current_not_null THEN
      finish := finish || format('ALTER COLUMN %I DROP NOT NULL', cur.name);
    END IF;
  END LOOP;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = format('%I.job_executions', here)::regclass AND contype = 'p') THEN
    finish := finish || 'ADD CONSTRAINT job_executions_pkey PRIMARY KEY (job_id)'::text;
  ELSIF NOT EXISTS (
    SELECT 1 FROM pg_index i
    WHERE i.indrelid = format('%I.job_executions', here)::regclass AND i.indisunique AND i.indpred IS NULL
      AND i.indexprs IS NULL AND i.indnkeyatts = 1 AND i.indkey[0] = job_id_attnum
  ) THEN
    -- Another primary key (a surrogate id): job_attempts' foreign key and ON CONFLICT (job_id)
    -- need job_id unique, and a unique constraint does that while the other key stays.
    finish := finish || 'ADD CONSTRAINT job_executions_job_id_key UNIQUE (job_id)'::text;
  END IF;
  IF cardinality(finish) > 0 THEN
    EXECUTE format('ALTER TABLE %I.job_executions %s', here, array_to_string(finish, ', '));
  END IF;

  DROP VIEW jobscope_adopt_columns;
END
$adopt$;
