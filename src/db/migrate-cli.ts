import { loadConfig } from '../config/index.js';
import { openDatabase } from './client.js';
import { migrateDatabase } from './migrate.js';

/** `npm run db:migrate`: applies the committed migrations to the configured database. */
const config = loadConfig();
const handle = await openDatabase(config.database);
try {
  await migrateDatabase(handle);
  console.log(`migrations applied (${config.database.kind})`);
} finally {
  await handle.close();
}
