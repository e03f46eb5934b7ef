import { findConfigFile, importConfigFile } from '../../config/file.js';
import { rebuildRollups } from '../../db/rollups.js';
import { openConfiguredDatabase, resolveConfig } from '../../jobscope.js';

/**
 * `jobscope rollups rebuild`: recomputes the statistics rollups from job_executions in the
 * database the config file and environment name (as `start` would open it), for rows loaded
 * around the triggers (COPY, a restore, triggers disabled).
 */
export async function rebuildRollupsCommand(options: { config?: string | undefined }): Promise<void> {
  const file = options.config ?? findConfigFile();
  const fileConfig = file ? await importConfigFile(file) : {};
  const { config } = resolveConfig(fileConfig, { environment: process.env, ...(file ? { source: file } : {}) });
  const database = await openConfiguredDatabase(config);
  try {
    const started = Date.now();
    const rows = await rebuildRollups(database);
    console.log(`jobscope: rollups rebuilt from ${rows} job executions in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await database.close();
  }
}
