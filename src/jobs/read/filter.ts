/**
 * The one JobFilter: which jobs a verb names. The list, `totalCount`, the statistics, the bulk
 * verbs, retention and the live `jobEvents` subscription all take it. Each field is defined once
 * below, its input (zod), its SQL and its JavaScript predicate side by side; the zod schema, the
 * SQL condition, the row predicate and the GraphQL input types are all derived from that table.
 */
import { and, param, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import { z } from 'zod';
import { durationSeconds, JOB_STATUSES, jobExecutions, type JobExecution } from '../../db/schema.js';
import { formatPath, InvalidArgumentError } from '../errors.js';

/** The table as a query names it: drizzle's relational queries alias it, so SQL is built per alias. */
export type JobExecutionsTable = typeof jobExecutions;

/**
 * How a value enters the SQL: as a parameter of the statement being built (`inline`), or as a
 * named placeholder of a prepared one (the list's), its value kept aside. One definition of every
 * condition serves both.
 */
export type Bind = (name: string, value: unknown) => SQLWrapper;
export const inline: Bind = (_name, value) => param(value);

/** What the JavaScript predicate reads of a job: the columns the filter's fields name. */
export type FilterRow = Pick<
  JobExecution,
  | 'jobId'
  | 'jobType'
  | 'status'
  | 'retryCount'
  | 'error'
  | 'createdAt'
  | 'startedAt'
  | 'completedAt'
  | 'userId'
  | 'organizationId'
  | 'payload'
  | 'scheduleId'
>;

/** How a field appears in GraphQL; the GraphQL layer maps each kind to its type. */
export type FilterFieldKind = 'statuses' | 'strings' | 'ids' | 'instant' | 'string' | 'json' | 'int' | 'float';

/** The most values a list field may hold (`status`, `jobType`, `jobId`). */
export const MAX_FILTER_VALUES = 1_000;

interface FieldRule<S extends z.ZodType> {
  input: S;
  kind: FilterFieldKind;
  description: string;
  /** The condition on `t`; `bind` names the value after the field. */
  sql: (value: z.output<S>, t: JobExecutionsTable, bind: Bind) => SQL;
  /** The same condition over a row in memory. */
  test: (value: z.output<S>, row: FilterRow) => boolean;
}
const rule = <S extends z.ZodType>(r: FieldRule<S>) => r;

const list = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_FILTER_VALUES).readonly();
const instant = z.date({ error: 'must be a valid date and time' });
const text = z.string();
const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);
const ms = (d: Date | null) => d?.getTime() ?? null;

/** A list of exactly one value, which {@link anyOf} writes as an equality. */
const isSingle = (value: unknown): boolean => Array.isArray(value) && value.length === 1;

/**
 * `column` is any of `values` (text, cast to `type` when given). One value is an equality: a
 * prepared statement's generic plan for `status = $1` reads the (status, created_at) index, while
 * for `= ANY($1)` the planner cannot tell one value from many and scans by creation time, filtering
 * (0.16 against 0.06 ms of PostgreSQL's CPU for a page of the newest failed jobs, one connection,
 * the page size in the text either way). More values, or none,
 * are one `= ANY(array)`: one statement whatever their number.
 */
function anyOf(column: SQLWrapper, name: string, values: readonly string[], bind: Bind, type?: 'job_status'): SQL {
  if (isSingle(values)) return sql`${column} = ${bind(name, values[0])}::text${sql.raw(type ? `::${type}` : '')}`;
  return sql`${column} = ANY(${bind(name, [...values])}::text[]${sql.raw(type ? `::${type}[]` : '')})`;
}

/**
 * Every field of the filter. Every given field must hold; a list holds when the job's value is
 * any of its items (an empty list matches nothing). Order is the order of the SQL conditions.
 */
export const JOB_FILTER_FIELDS = {
  status: rule({
    input: list(z.enum(JOB_STATUSES)),
    kind: 'statuses',
    description: 'Any of these statuses.',
    // Bound as text and cast: a driver knows text and text[] from the start, but learns an enum's
    // array type only when it connects, so a connection opened before the migration that created
    // job_status sent the array as a plain string ("malformed array literal").
    sql: (v, t, bind) => anyOf(t.status, 'status', v, bind, 'job_status'),
    test: (v, r) => v.includes(r.status),
  }),
  jobType: rule({
    input: list(text),
    kind: 'strings',
    description: 'Any of these job types.',
    sql: (v, t, bind) => anyOf(t.jobType, 'jobType', v, bind),
    test: (v, r) => v.includes(r.jobType),
  }),
  jobId: rule({
    input: list(text),
    kind: 'ids',
    description: `Any of these job ids (at most ${MAX_FILTER_VALUES}).`,
    sql: (v, t, bind) => anyOf(t.jobId, 'jobId', v, bind),
    test: (v, r) => v.includes(r.jobId),
  }),
  createdAfter: rule({
    input: instant,
    kind: 'instant',
    description: 'Created at or after this instant.',
    sql: (v, t, bind) => sql`${t.createdAt} >= ${bind('createdAfter', v.toISOString())}::timestamptz`,
    test: (v, r) => r.createdAt.getTime() >= v.getTime(),
  }),
  createdBefore: rule({
    input: instant,
    kind: 'instant',
    description: 'Created before this instant.',
    sql: (v, t, bind) => sql`${t.createdAt} < ${bind('createdBefore', v.toISOString())}::timestamptz`,
    test: (v, r) => r.createdAt.getTime() < v.getTime(),
  }),
  completedAfter: rule({
    input: instant,
    kind: 'instant',
    description: 'Reached a final status at or after this instant.',
    sql: (v, t, bind) => sql`${t.completedAt} >= ${bind('completedAfter', v.toISOString())}::timestamptz`,
    test: (v, r) => (ms(r.completedAt) ?? -Infinity) >= v.getTime(),
  }),
  completedBefore: rule({
    input: instant,
    kind: 'instant',
    description: 'Reached a final status before this instant.',
    sql: (v, t, bind) => sql`${t.completedAt} < ${bind('completedBefore', v.toISOString())}::timestamptz`,
    test: (v, r) => (ms(r.completedAt) ?? Infinity) < v.getTime(),
  }),
  errorContains: rule({
    input: text,
    kind: 'string',
    description: 'Case-insensitive substring of the last error (`%` and `_` are taken literally). Not indexed: it scans the rows the other fields leave.',
    sql: (v, t, bind) => sql`${t.error} ILIKE ${bind('errorContains', `%${escapeLike(v)}%`)}`,
    test: (v, r) => r.error !== null && r.error.toLowerCase().includes(v.toLowerCase()),
  }),
  userId: rule({
    input: text,
    kind: 'string',
    description: '`metadata.userId` equals this.',
    sql: (v, t, bind) => sql`${t.userId} = ${bind('userId', v)}`,
    test: (v, r) => r.userId === v,
  }),
  organizationId: rule({
    input: text,
    kind: 'string',
    description: '`metadata.organizationId` equals this.',
    sql: (v, t, bind) => sql`${t.organizationId} = ${bind('organizationId', v)}`,
    test: (v, r) => r.organizationId === v,
  }),
  payloadContains: rule({
    input: z.json(),
    kind: 'json',
    description: 'jsonb containment (`@>`) on the job\'s payload: `{ "to": "ada@example.com" }` matches payloads holding that key and value.',
    // The same expression as the GIN index job_executions_payload_gin_idx, so the index applies. The
    // parameter goes as text: postgres.js would JSON-encode a jsonb-typed string a second time.
    sql: (v, t, bind) => sql`(${t.payload} -> 'payload') @> ${bind('payloadContains', JSON.stringify(v))}::text::jsonb`,
    test: (v, r) => jsonContains(r.payload.payload, v, true),
  }),
  retryCountAtLeast: rule({
    input: z.number().int().min(0),
    kind: 'int',
    description: 'Retried at least this many times (`retryCount` ≥ this).',
    sql: (v, t, bind) => sql`${t.retryCount} >= ${bind('retryCountAtLeast', v)}::int`,
    test: (v, r) => r.retryCount >= v,
  }),
  durationAtLeastSeconds: rule({
    input: z.number().min(0).max(1e9),
    kind: 'float',
    description: 'Ran at least this long: `completedAt − startedAt` ≥ this many seconds (jobs with both).',
    // The expression of the index job_executions_duration_idx.
    sql: (v, t, bind) => sql`${durationSeconds(t)} >= ${bind('durationAtLeastSeconds', v)}::numeric`,
    test: (v, r) => r.startedAt !== null && r.completedAt !== null && (r.completedAt.getTime() - r.startedAt.getTime()) / 1000 >= v,
  }),
  scheduleId: rule({
    input: text,
    kind: 'string',
    description: 'Created by a run of this QStash schedule (`Upstash-Schedule-Id`).',
    sql: (v, t, bind) => sql`${t.scheduleId} = ${bind('scheduleId', v)}`,
    test: (v, r) => r.scheduleId === v,
  }),
};

export type JobFilterField = keyof typeof JOB_FILTER_FIELDS;
export const JOB_FILTER_FIELD_NAMES = Object.keys(JOB_FILTER_FIELDS) as JobFilterField[];

type FilterShape = { [K in JobFilterField]: z.ZodOptional<(typeof JOB_FILTER_FIELDS)[K]['input']> };

/** The filter's input: every field optional, no other key. */
export const JobFilterSchema = z.strictObject(
  Object.fromEntries(JOB_FILTER_FIELD_NAMES.map((name) => [name, JOB_FILTER_FIELDS[name].input.optional()])) as FilterShape,
);

/** Which jobs a verb names; every given field must hold. */
export type JobFilter = z.output<typeof JobFilterSchema>;

/**
 * A filter as a surface hands it over (GraphQL's nulls meaning "not given"), checked.
 *
 * @throws InvalidArgumentError (BAD_USER_INPUT) naming every bad field; nothing has run.
 */
export function parseJobFilter(input: unknown, argument = 'filter'): JobFilter {
  if (input === null || input === undefined) return {};
  const given =
    typeof input === 'object' && !Array.isArray(input)
      ? Object.fromEntries(Object.entries(input).filter(([, value]) => value !== null && value !== undefined))
      : input;
  const parsed = JobFilterSchema.safeParse(given);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${formatPath([argument, ...i.path.map((k) => (typeof k === 'number' ? k : String(k)))])}: ${i.message}`);
  throw new InvalidArgumentError(argument, `Invalid "${argument}": ${problems.join('; ')}`);
}

/**
 * The filter with older arguments that stand for one of its fields folded in (`since` for
 * `createdAfter`, a single `jobType` for `jobType: [it]`, ...). An argument and the field it
 * stands for may not both be given: which should win is not obvious.
 *
 * @throws InvalidArgumentError naming the argument
 */
export function withArguments(
  filter: JobFilter = {},
  given: { [K in JobFilterField]?: { argument: string; value: JobFilter[K] | undefined } },
): JobFilter {
  const merged: Record<string, unknown> = { ...filter };
  for (const [field, entry] of Object.entries(given) as [JobFilterField, { argument: string; value: unknown }][]) {
    if (entry.value === undefined) continue;
    if (filter[field] !== undefined) throw new InvalidArgumentError(entry.argument, `Pass "${entry.argument}" or "filter.${field}", not both`);
    merged[field] = entry.value;
  }
  return merged as JobFilter;
}

/** The fields `filter` gives, in the order of JOB_FILTER_FIELDS. */
export function givenFields(filter: JobFilter = {}): JobFilterField[] {
  return JOB_FILTER_FIELD_NAMES.filter((name) => filter[name] !== undefined);
}

/**
 * What the SQL of the filter's condition depends on besides its values: the fields given, and for
 * a list whether it holds one value (an equality, see {@link anyOf}). Equal shapes, one statement.
 */
export function filterShape(filter: JobFilter = {}): string {
  return givenFields(filter)
    .map((name) => (isSingle(filter[name]) ? `${name}=` : name))
    .join(',');
}

/** The condition of one field (a loop over the table could not keep each field's value type). */
function fieldCondition<K extends JobFilterField>(name: K, value: NonNullable<JobFilter[K]>, t: JobExecutionsTable, bind: Bind): SQL {
  return (JOB_FILTER_FIELDS[name].sql as (v: NonNullable<JobFilter[K]>, t: JobExecutionsTable, bind: Bind) => SQL)(value, t, bind);
}

/**
 * The filter as one SQL condition on `t` (`true` for an empty filter): the only place its SQL is
 * written. Values are bound by `bind` (parameters by default).
 */
export function jobFilterCondition(filter: JobFilter = {}, t: JobExecutionsTable = jobExecutions, bind: Bind = inline): SQL {
  const conditions = givenFields(filter).map((name) => fieldCondition(name, filter[name]!, t, bind));
  return and(...conditions) ?? sql`true`;
}

/** Whether a job in memory matches the filter: the same rule as jobFilterCondition. */
export function matchesJobFilter(filter: JobFilter, row: FilterRow): boolean {
  return givenFields(filter).every((name) =>
    (JOB_FILTER_FIELDS[name].test as (v: unknown, r: FilterRow) => boolean)(filter[name], row),
  );
}

/** The fields statistics can answer from the rollups (kept per hour, job type and status, by creation time). */
export const ROLLUP_FIELDS: readonly JobFilterField[] = ['status', 'jobType', 'createdAfter', 'createdBefore'];

/** Whether the filter gives no field outside `fields`. */
export function namesOnly(filter: JobFilter = {}, fields: readonly JobFilterField[]): boolean {
  return givenFields(filter).every((name) => fields.includes(name));
}

/** Whether the filter names only fields the rollups are keyed by (or `fields`); otherwise statistics count the rows. */
export function answerableFromRollups(filter: JobFilter = {}, fields: readonly JobFilterField[] = ROLLUP_FIELDS): boolean {
  return namesOnly(filter, fields);
}

/**
 * The status and job-type fields as a condition on a rollup table's rows (columns `status` and
 * `job_type`, the same names and types as job_executions'): the same SQL as jobFilterCondition.
 */
export function rollupFilterCondition(filter: Pick<JobFilter, 'status' | 'jobType'>): SQL {
  // Only these two fields are given, so only these two columns are read.
  const columns = { status: sql.identifier('status'), jobType: sql.identifier('job_type') } as unknown as JobExecutionsTable;
  return jobFilterCondition({ status: filter.status, jobType: filter.jobType }, columns);
}

/** The fields a live job event carries itself; any other field is read from the job's row. */
export const EVENT_FIELDS: readonly JobFilterField[] = ['status', 'jobType', 'jobId', 'retryCountAtLeast', 'errorContains'];

/** What a job event says of its job (see jobs/events.ts' JobEvent). */
export type EventFacts = Pick<FilterRow, 'jobId' | 'jobType' | 'status' | 'retryCount' | 'error'>;

/** The part of the filter a live event can be judged on by itself (see EVENT_FIELDS). */
export function eventFieldsOf(filter: JobFilter): JobFilter {
  return Object.fromEntries(givenFields(filter).filter((name) => EVENT_FIELDS.includes(name)).map((name) => [name, filter[name]]));
}

/** Whether matching an event needs the job's row (the filter names a field the event does not carry). */
export function needsRow(filter: JobFilter): boolean {
  return !namesOnly(filter, EVENT_FIELDS);
}

/**
 * Whether an event matches: the fields it carries are judged as the event says (the job's state
 * after that change), the others on `row`, the job as loaded when the event is delivered. A job
 * whose row is gone matches only a filter that needs no row.
 */
export function matchesJobEvent(filter: JobFilter, event: EventFacts, row: FilterRow | undefined): boolean {
  if (!row) return !needsRow(filter) && matchesJobFilter(filter, { ...PLACEHOLDER_ROW, ...event });
  return matchesJobFilter(filter, { ...row, ...pick(event) });
}
const pick = ({ jobId, jobType, status, retryCount, error }: EventFacts): EventFacts => ({ jobId, jobType, status, retryCount, error });
/** Never read: a filter that needs no row reads only the event's fields. */
const PLACEHOLDER_ROW: FilterRow = {
  jobId: '',
  jobType: '',
  status: 'pending',
  retryCount: 0,
  error: null,
  createdAt: new Date(0),
  startedAt: null,
  completedAt: null,
  userId: null,
  organizationId: null,
  payload: { jobId: '', type: '', payload: null, metadata: {} },
  scheduleId: null,
};

/**
 * jsonb's `@>` in JavaScript: objects contain objects whose every key they hold with a containing
 * value; arrays contain arrays whose every item some item of theirs contains; a top-level array
 * also contains a scalar it holds; scalars contain only equal scalars.
 */
export function jsonContains(container: unknown, contained: unknown, topLevel = false): boolean {
  if (Array.isArray(container)) {
    if (Array.isArray(contained)) return contained.every((item) => container.some((c) => jsonContains(c, item)));
    if (topLevel && (contained === null || typeof contained !== 'object')) return container.some((c) => jsonContains(c, contained));
    return false;
  }
  if (container !== null && typeof container === 'object') {
    if (contained === null || typeof contained !== 'object' || Array.isArray(contained)) return false;
    const object = container as Record<string, unknown>;
    return Object.entries(contained).every(([key, value]) => Object.hasOwn(object, key) && jsonContains(object[key], value));
  }
  return container === contained;
}
