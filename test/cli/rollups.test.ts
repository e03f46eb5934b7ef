import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/db/client.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { createTestDatabase, databaseKind } from '../helpers/db.js';
import { ROOT } from '../helpers/build.js';

const allTime = async (handle: DatabaseHandle) =>
  Number((await handle.query<{ n: unknown }>(`SELECT coalesce(sum(jobs), 0) AS n FROM job_rollups WHERE series = 'created' AND bucket_start = '-infinity'`))[0]!.n);

describe(`jobscope rollups rebuild on ${databaseKind}`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'jobscope-rollups-cli-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('recomputes the rollups of rows loaded with the triggers disabled', async () => {
    const database = await createTestDatabase({ dataDir });
    let handle = database.handle;
    try {
      await handle.query('ALTER TABLE job_executions DISABLE TRIGGER USER');
      await handle.query(`INSERT INTO job_executions (job_id, job_type, status, payload, started_at, completed_at)
        SELECT 'copied-' || i, 'send-email', 'completed', '{}', now() - interval '5 s', now() FROM generate_series(1, 250) i`);
      await handle.query('ALTER TABLE job_executions ENABLE TRIGGER USER');
      expect(await allTime(handle)).toBe(0);
      const env =
        database.target.kind === 'postgres' ? cliEnv(dataDir, { DATABASE_URL: database.target.url }) : cliEnv(dataDir);
      // One process per PGlite folder: the CLI opens it after this handle is closed.
      if (database.target.kind === 'pglite') await handle.close();
      const run = await runCli(['rollups', 'rebuild'], { cwd: ROOT, env });
      expect(run.stderr).toBe('');
      expect(run.stdout).toMatch(/^jobscope: rollups rebuilt from 250 job executions in [\d.]+ s\n$/);
      expect(run.code).toBe(0);
      if (database.target.kind === 'pglite') handle = await openDatabase({ kind: 'pglite', dataDir });
      expect(await allTime(handle)).toBe(250);
    } finally {
      if (handle !== database.handle) await handle.close();
      await database.destroy();
    }
  });

  it('is a usage error without its subcommand', async () => {
    const run = await runCli(['rollups'], { cwd: ROOT, env: cliEnv(dataDir) });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^jobscope: rollups needs a subcommand: rebuild/);
  });
});
