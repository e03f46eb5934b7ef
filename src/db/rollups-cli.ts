import { loadConfig } from '../config/index.js';
import { openDatabase } from './client.js';
import { migrateDatabase } from './migrate.js';
import { rebuildRollups } from './rollups.js';

/** `npm run db:rollups`: rebuilds the rollups of the configured database from job_executions. */
const config = loadConfig();
const handle = await openDatabase(config.database);
try {
  await migrateDatabase(handle);
  const started = Date.now();
  const rows = await rebuildRollups(handle);
  console.log(`rollups rebuilt from ${rows} job executions in ${((Date.now() - started) / 1000).toFixed(1)} s (${config.database.kind})`);
} finally {
  await handle.close();
}
