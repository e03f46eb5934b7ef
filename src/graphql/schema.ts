import { builder } from './builder.js';
import './scalars.js';
import './health.js';

/** The schema, built once from every registered module. */
export const schema = builder.toSchema({ sortSchema: true });
