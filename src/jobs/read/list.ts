import { and, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { durationSeconds, jobExecutions, type JobExecution } from '../../db/schema.js';
import { InvalidArgumentError } from '../errors.js';
import { answerableFromRollups, filterShape, jobFilterCondition, type Bind, type JobExecutionsTable, type JobFilter } from './filter.js';
import { countFromRollups } from './rollups.js';
import type { JobExecutionShape } from './shape.js';

/** The list's filter is the one JobFilter (./filter.ts); the old name stays for callers that use it. */
export type JobExecutionFilter = JobFilter;

export const JOB_EXECUTION_ORDER_FIELDS = ['createdAt', 'startedAt', 'completedAt', 'duration'] as const;
export type JobExecutionOrderField = (typeof JOB_EXECUTION_ORDER_FIELDS)[number];
export type SortDirection = 'asc' | 'desc';

/** A list ordering; ties are broken by job id in the same direction, and NULLs come last. */
export interface JobExecutionOrder {
  field: JobExecutionOrderField;
  direction: SortDirection;
}

export const DEFAULT_JOB_EXECUTION_ORDER: JobExecutionOrder = { field: 'createdAt', direction: 'desc' };
export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

export interface ListJobExecutions {
  filter?: JobExecutionFilter | undefined;
  orderBy?: JobExecutionOrder | undefined;
  /** Rows after `after` from the start of the ordering (default page size when neither is given). */
  first?: number | null | undefined;
  /** Rows before `before` from the end of the ordering. */
  last?: number | null | undefined;
  after?: string | null | undefined;
  before?: string | null | undefined;
  /**
   * Whether the page's cursors will be read (default true). Without them the rows are read
   * without their ordering value as text: a client asking for `nodes` only pays for no cursor.
   */
  cursors?: boolean | undefined;
}

export interface JobExecutionPage {
  edges: { cursor: string; node: JobExecution }[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

function placeholders(): { bind: Bind; values: Record<string, unknown> } {
  const values: Record<string, unknown> = {};
  return {
    values,
    bind: (name, value) => {
      values[name] = value;
      return sql.placeholder(name);
    },
  };
}

/**
 * How each ordering is sorted and compared. Cursors carry the database's own value as text
 * (microsecond timestamps, exact numeric durations), never a JavaScript Date, so a cursor
 * compares equal to the row it came from.
 */
interface OrderKey {
  expression: SQL;
  /** The value as text, for the cursor. */
  cursorText: SQL;
  /** Type the cursor text is cast back to. */
  cast: SQL;
  nullable: boolean;
  isValid: (text: string) => boolean;
}

const utcText = (column: SQL) => sql`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const isTimestampText = (text: string) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(text) && !Number.isNaN(Date.parse(text));
const timestampKey = (column: (t: JobExecutionsTable) => SQLWrapper, nullable: boolean) => (t: JobExecutionsTable): OrderKey => ({
  expression: sql`${column(t)}`,
  cursorText: utcText(sql`${column(t)}`),
  cast: sql`timestamptz`,
  nullable,
  isValid: isTimestampText,
});

const ORDER_KEYS: Record<JobExecutionOrderField, (t: JobExecutionsTable) => OrderKey> = {
  createdAt: timestampKey((t) => t.createdAt, false),
  startedAt: timestampKey((t) => t.startedAt, true),
  completedAt: timestampKey((t) => t.completedAt, true),
  duration: (t) => {
    const expression = durationSeconds(t);
    return { expression, cursorText: sql`(${expression})::text`, cast: sql`numeric`, nullable: true, isValid: (text) => /^-?\d+(\.\d+)?$/.test(text) };
  },
};

interface Cursor extends JobExecutionOrder {
  value: string | null;
  jobId: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.field, cursor.direction, cursor.value, cursor.jobId])).toString('base64url');
}

function decodeCursor(text: string, argument: string, order: JobExecutionOrder): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const [field, direction, value, jobId] = Array.isArray(parsed) ? parsed : [];
  const key = ORDER_KEYS[field as JobExecutionOrderField]?.(jobExecutions) as OrderKey | undefined;
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 4 ||
    !key ||
    (direction !== 'asc' && direction !== 'desc') ||
    typeof jobId !== 'string' ||
    !(value === null || (typeof value === 'string' && key.isValid(value)))
  ) {
    throw new InvalidArgumentError(argument, `"${argument}" is not a cursor of jobExecutions`);
  }
  if (field !== order.field || direction !== order.direction) {
    throw new InvalidArgumentError(
      argument,
      `"${argument}" is a cursor for orderBy ${field} ${direction}, not ${order.field} ${order.direction}: ` +
        'request the first page again when changing the order',
    );
  }
  return { field, direction, value, jobId };
}

/** Rows strictly after the cursor in (key direction NULLS LAST, jobId direction). */
function afterCursor(key: OrderKey, cursor: Cursor, t: JobExecutionsTable, bind: Bind): SQL {
  const op = sql.raw(cursor.direction === 'asc' ? '>' : '<');
  const id = t.jobId;
  const jobId = bind('afterJobId', cursor.jobId);
  if (cursor.value === null) return sql`(${key.expression} IS NULL AND ${id} ${op} ${jobId})`;
  const value = sql`${bind('afterValue', cursor.value)}::${key.cast}`;
  // Row comparison on the non-null key matches the (created_at, job_id) index.
  if (!key.nullable) return sql`(${key.expression}, ${id}) ${op} (${value}, ${jobId})`;
  return sql`(${key.expression} ${op} ${value} OR (${key.expression} = ${value} AND ${id} ${op} ${jobId}) OR ${key.expression} IS NULL)`;
}

/** Rows strictly before the cursor in the same ordering. */
function beforeCursor(key: OrderKey, cursor: Cursor, t: JobExecutionsTable, bind: Bind): SQL {
  const op = sql.raw(cursor.direction === 'asc' ? '<' : '>');
  const id = t.jobId;
  const jobId = bind('beforeJobId', cursor.jobId);
  if (cursor.value === null) return sql`(${key.expression} IS NOT NULL OR ${id} ${op} ${jobId})`;
  const value = sql`${bind('beforeValue', cursor.value)}::${key.cast}`;
  if (!key.nullable) return sql`(${key.expression}, ${id}) ${op} (${value}, ${jobId})`;
  return sql`(${key.expression} ${op} ${value} OR (${key.expression} = ${value} AND ${id} ${op} ${jobId}))`;
}

function orderClauses(key: OrderKey, direction: SortDirection, reversed: boolean, t: JobExecutionsTable): SQL[] {
  const effective = reversed ? (direction === 'asc' ? 'desc' : 'asc') : direction;
  const dir = sql.raw(effective);
  const nulls = key.nullable ? sql.raw(reversed ? ' NULLS FIRST' : ' NULLS LAST') : sql``;
  return [sql`${key.expression} ${dir}${nulls}`, sql`${t.jobId} ${dir}`];
}

function pageSize(value: number | null | undefined, argument: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) throw new InvalidArgumentError(argument, `"${argument}" must be a non-negative integer`);
  if (value > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(argument, `"${argument}" may be at most ${MAX_PAGE_SIZE} (got ${value}); page with cursors`);
  }
  return value;
}

// Typed by what is used of it: the result type of a findMany without a config would expand the
// self-relation (replayOf / replays) without end.
interface PreparedList {
  execute(placeholders: Record<string, unknown>): Promise<unknown>;
}
const PREPARED_PER_DATABASE = 256;
const prepared = new WeakMap<Database, Map<string, PreparedList>>();
function preparedLists(db: Database): Map<string, PreparedList> {
  let lists = prepared.get(db);
  if (!lists) prepared.set(db, (lists = new Map()));
  return lists;
}
/** Keeps at most PREPARED_PER_DATABASE statements, the oldest dropped first. */
function remember(lists: Map<string, PreparedList>, signature: string, statement: PreparedList): void {
  if (lists.size >= PREPARED_PER_DATABASE) lists.delete(lists.keys().next().value!);
  lists.set(signature, statement);
}
/** Plain data all the way down (no functions), so its JSON tells one shape from another. */
function cacheableShape(value: unknown): boolean {
  if (typeof value === 'function') return false;
  if (value === null || typeof value !== 'object') return true;
  return Object.values(value).every(cacheableShape);
}

/** The extra that carries a row's ordering value as the database has it, for its cursor. */
const SORT_VALUE = 'jobscopeSortValue';

/**
 * An edge of a page, its cursor encoded when read. A class rather than an object literal with a
 * getter: the literal made a closure and an accessor per row, 1.5 % of a 50-row list's CPU.
 */
class Edge {
  constructor(
    readonly node: JobExecution & { [SORT_VALUE]?: string | null },
    /** The page's ordering; undefined when it was read without cursors. */
    private readonly order: JobExecutionOrder | undefined,
  ) {}

  get cursor(): string {
    if (!this.order) throw new Error('listJobExecutions: the page was read with { cursors: false }');
    return encodeCursor({ ...this.order, value: this.node[SORT_VALUE] ?? null, jobId: this.node.jobId });
  }
}

/** The shape with the job id added when columns are chosen: every row needs it for its cursor. */
function withJobId(shape: JobExecutionShape): JobExecutionShape {
  return shape.columns ? { ...shape, columns: { ...shape.columns, jobId: true } } : shape;
}

/**
 * One page of executions with keyset cursors: a cursor is the row's ordering value and job id, so
 * pages stay put while new rows arrive (no row is skipped or repeated). `first` pages forward
 * from `after`, `last` backward from `before`; the rows come back in the ordering either way.
 * One statement, whatever `shape` asks for; a cursor is encoded only when it is read.
 */
export async function listJobExecutions(
  db: Database,
  input: ListJobExecutions = {},
  shape: JobExecutionShape = {},
): Promise<JobExecutionPage> {
  const order = input.orderBy ?? DEFAULT_JOB_EXECUTION_ORDER;
  const first = pageSize(input.first, 'first');
  const last = pageSize(input.last, 'last');
  if (first !== undefined && last !== undefined) throw new InvalidArgumentError('last', 'Pass "first" or "last", not both');
  const backward = last !== undefined;
  const size = (backward ? last : first) ?? DEFAULT_PAGE_SIZE;
  const keyOf = ORDER_KEYS[order.field];
  const after = input.after ? decodeCursor(input.after, 'after', order) : undefined;
  const before = input.before ? decodeCursor(input.before, 'before', order) : undefined;
  const { bind, values } = placeholders();
  const conditions = (t: JobExecutionsTable): SQL[] => {
    const key = keyOf(t);
    const list = [jobFilterCondition(input.filter, t, bind)];
    if (after) list.push(afterCursor(key, after, t, bind));
    if (before) list.push(beforeCursor(key, before, t, bind));
    return list;
  };
  const cursors = input.cursors ?? true;
  const build = () =>
    db.query.jobExecutions
      .findMany({
        ...withJobId(shape),
        extras: cursors ? { ...shape.extras, [SORT_VALUE]: (t) => keyOf(t).cursorText } : shape.extras,
        where: { RAW: (t) => and(...conditions(t)) ?? sql`true` },
        orderBy: (t) => orderClauses(keyOf(t), order.direction, backward, t),
        // The page size in the text, not a parameter: PostgreSQL plans a prepared statement once
        // for all values only when that plan costs no more than one planned for the values, and
        // not knowing the LIMIT it costs a tenth of the table; so every execution was planned
        // again (0.11 against 0.06 ms of PostgreSQL's CPU for a page of 50, bench/list.ts).
        limit: sql.raw(String(size + 1)) as unknown as number,
      })
      .prepare('jobscope_list');
  // The statement depends on which conditions there are, on what is selected and on the page
  // size, never on the values: prepared once per such shape, a page costs no query building (0.66 -> 0.28-0.40 ms
  // of CPU for 50 rows here). A shape holding functions (extras) cannot be told apart: built anew.
  const signature = cacheableShape(shape)
    ? JSON.stringify([
        shape,
        filterShape(input.filter),
        order,
        size,
        backward,
        after ? after.value === null : 'none',
        before ? before.value === null : 'none',
        cursors,
      ])
    : undefined;
  let prepared = signature === undefined ? undefined : preparedLists(db).get(signature);
  if (prepared) {
    // Same shape, this request's values: the conditions bind them again without building SQL.
    conditions(jobExecutions);
  } else {
    prepared = build();
    if (signature !== undefined) remember(preparedLists(db), signature, prepared);
  }
  const rows = (await prepared.execute(values)) as (JobExecution & { [SORT_VALUE]: string | null })[];
  const more = rows.length > size;
  const page = rows.slice(0, size);
  if (backward) page.reverse();
  return {
    edges: page.map((node) => new Edge(node, cursors ? order : undefined)),
    hasNextPage: backward ? Boolean(input.before) : more,
    hasPreviousPage: backward ? more : Boolean(input.after),
  };
}

/**
 * How many executions match `filter` (across all pages). A filter on status, job type and
 * creation time only is answered from the rollups (whole hours, plus an exact count of the partial
 * first and last hour); any other condition counts the rows.
 */
export async function countJobExecutions(db: Database, filter: JobFilter = {}): Promise<number> {
  if (answerableFromRollups(filter)) return countFromRollups(db, filter);
  const [row] = await db.select({ count: sql<number>`count(*)::int` }).from(jobExecutions).where(jobFilterCondition(filter));
  return row?.count ?? 0;
}
