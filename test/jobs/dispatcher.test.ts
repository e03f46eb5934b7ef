import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError } from '../../src/config/index.js';
import { InvalidPayloadError } from '../../src/jobs/errors.js';
import { defineJob } from '../../src/jobs/registry.js';
import { createDispatcher } from '../../src/jobscope.js';
import { createTestLogger, hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';

const thumbnail = defineJob({
  type: 'thumbnail',
  endpoint: '/api/jobs/thumbnail',
  schema: z.object({ photoId: z.string() }),
  timeoutSeconds: 5,
  retries: 1,
  handler: async (payload) => ({ thumbnail: `${payload.photoId}.small.jpg` }),
});

describe(`createDispatcher: publishing from code that runs no server, on ${databaseKind}`, () => {
  let database: TestDatabase;
  let server: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startTestApp(database.handle, { jobs: [thumbnail] });
  });
  afterAll(async () => {
    await server?.close();
    await database?.destroy();
  });

  // PostgreSQL only: a dispatcher is another client of the server's database, and a PGlite folder
  // admits one process (the refusal below is the PGlite case).
  it.runIf(databaseKind === 'postgres')(
    "validates, records and publishes like enqueueJob; the server's worker runs it",
    async () => {
      const target = database.target;
      if (target.kind !== 'postgres') throw new Error('unreachable');
      const dispatcher = await createDispatcher({
        jobs: [thumbnail],
        baseUrl: server.baseUrl,
        database: { url: target.url },
        environment: false,
        logger: createTestLogger().logger,
      });
      try {
        await expect(dispatcher.enqueue('thumbnail', { photoId: 42 })).rejects.toBeInstanceOf(InvalidPayloadError);
        const job = await dispatcher.enqueue('thumbnail', { photoId: 'p_42' }, { metadata: { userId: 'u_7' }, actor: { kind: 'system', name: 'nightly' } });
        // Recorded with its publish request; the dispatcher's relay (or the server's) publishes it.
        expect(job).toMatchObject({ status: 'pending', userId: 'u_7', messageId: null });
        const done = await waitForJob(database.handle, job.jobId, hasStatus('completed'));
        expect(done.result).toEqual({ thumbnail: 'p_42.small.jpg' });
        expect(done.messageId).toMatch(/^msg_/);
      } finally {
        await dispatcher.close();
      }
    },
  );

  it('refuses without a base URL, and on a PGlite folder the server holds', async () => {
    const refusal = (options: Parameters<typeof createDispatcher>[0]) =>
      createDispatcher({ jobs: [thumbnail], environment: false, ...options }).then(
        () => undefined,
        (error: unknown) => error,
      );
    const noUrl = await refusal({ database: { url: 'postgres://127.0.0.1:1/none' } });
    expect(noUrl).toBeInstanceOf(ConfigError);
    expect((noUrl as ConfigError).problems).toEqual([expect.stringMatching(/^BASE_URL \(baseUrl\): required for a dispatcher/)]);
    const pglite = await refusal({ baseUrl: server.baseUrl, database: { pgliteDir: '/tmp/never-opened' } });
    expect((pglite as ConfigError).problems).toEqual([expect.stringMatching(/^DATABASE_URL \(database\.url\): required for a dispatcher/)]);
  });
});
