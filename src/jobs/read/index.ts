/**
 * The SQL of the jobs domain, by concern: single rows and their state changes, the list with its
 * filters and keyset cursors, the stuck rule, and statistics (read from the rollups).
 */
export * from './backlog.js';
export * from './filter.js';
export * from './list.js';
export * from './rollups.js';
export * from './rows.js';
export type { JobExecutionShape } from './shape.js';
export * from './stats.js';
export * from './stuck.js';
