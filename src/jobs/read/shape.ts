import type { Database } from '../../db/client.js';

/**
 * What to load of each job row, as drizzle's relational queries take it: the columns, relations
 * and extras a caller needs. The GraphQL layer passes what the operation selects, so a page loads
 * its attempts in the same statement and no column nobody asked for. Omitted: every column.
 */
export type JobExecutionShape = Pick<
  NonNullable<Parameters<Database['query']['jobExecutions']['findMany']>[0]>,
  'columns' | 'with' | 'extras'
>;
