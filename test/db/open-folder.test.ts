import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/client.js';
import { createTestDatabase } from '../helpers/db.js';

// PGlite only: a PostgreSQL server takes any number of clients.
describe.runIf(!process.env.DATABASE_URL)('a PGlite folder is open once per process', () => {
  const dir = mkdtempSync(join(tmpdir(), 'jobscope-folder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second open of the same folder with a reason, and opens it again once closed', async () => {
    const first = (await createTestDatabase({ dataDir: dir })).handle;
    try {
      await expect(openDatabase({ kind: 'pglite', dataDir: join(dir, '.') })).rejects.toThrow(
        /is already open in this process: one jobscope per folder/,
      );
      expect(await first.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }]);
    } finally {
      await first.close();
    }
    const again = await openDatabase({ kind: 'pglite', dataDir: dir });
    expect(await again.query<{ n: number }>('SELECT 1 AS n')).toEqual([{ n: 1 }]);
    await again.close();
  });
});
