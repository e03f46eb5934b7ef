import { setTimeout as delay } from 'node:timers/promises';
import { Client } from '@upstash/qstash';
import { asc, eq } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobAttempts, jobEvents } from '../../../src/db/schema.js';
import { DEAD_LETTERED } from '../../../src/jobs/ops/undelivered.js';
import { defineJob } from '../../../src/jobs/registry.js';
import { DEV_QSTASH_TOKEN } from '../../../src/qstash/dev-credentials.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../../helpers/app.js';
import { freePort } from '../../helpers/ports.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../../helpers/db.js';
import { openThroughProxy, startTcpProxy, type ProxiedDatabase, type TcpProxy } from '../../helpers/tcp-proxy.js';

/**
 * Jobs QStash gave up on before the worker could record a single attempt: every delivery failed
 * (the endpoint unreachable; the worker's database away, so it answered 503), the message went to
 * the stand-in's DLQ, and the row would read `pending` for good. The reaper finds them through the
 * real Client's DLQ call and fails them once as DEAD_LETTERED; retryJob and retryDeadLetters both
 * bring them back, and each runs once.
 */
const runs = new Map<string, number>();
const TYPE = 'undelivered';
const undeliveredJob = defineJob({
  type: TYPE,
  endpoint: '/api/jobs/undelivered',
  schema: z.object({ n: z.number() }),
  timeoutSeconds: 5,
  retries: 1,
  async handler(_payload, job) {
    runs.set(job.jobId, (runs.get(job.jobId) ?? 0) + 1);
    return { ok: true };
  },
});

/** The reaper runs only when a test asks; a published job with no attempt is asked about after 0.2 s. */
const ENV = { JOBSCOPE_REAPER_INTERVAL_SECONDS: '0', JOBSCOPE_REAPER_UNDELIVERED_AFTER_SECONDS: '0.2' };

function suite(name: string, open: () => Promise<{ database: TestDatabase; through?: ProxiedDatabase }>) {
  describe(name, () => {
    let database: TestDatabase;
    let through: ProxiedDatabase | undefined;
    /** In front of the worker endpoints: BASE_URL names it, so QStash delivers through it. */
    let front: TcpProxy;
    let t: TestApp;
    /** The real Client on the app's own stand-in (not through the front proxy). */
    let qstash: Client;

    beforeAll(async () => {
      ({ database, through } = await open());
      const port = await freePort();
      front = await startTcpProxy(port);
      t = await startTestApp((through ?? database).handle, {
        jobs: [undeliveredJob],
        port,
        env: { ...ENV, BASE_URL: `http://127.0.0.1:${front.port}` },
      });
      qstash = new Client({ baseUrl: `http://127.0.0.1:${port}/qstash`, token: DEV_QSTASH_TOKEN, enableTelemetry: false });
    });
    afterAll(async () => {
      await front?.restore();
      await t?.close();
      await front?.close();
      await through?.close();
      await database?.destroy();
    });

    const db = () => database.handle.db;
    const failedEvents = async (jobId: string) =>
      (await db().select().from(jobEvents).where(eq(jobEvents.jobId, jobId))).filter((e) => e.type === 'failed').length;

    /** Enqueued, published, and in QStash's DLQ after its 2 deliveries failed; answers its message id and dead letter. */
    async function deadLettered(fail: { refuse: true } | { cutDatabase: true }) {
      let job;
      if ('refuse' in fail) {
        await front.cut('refuse');
        job = await t.app.jobs.enqueue(TYPE, { n: 1 });
      } else {
        // Published while the database is there, delivered (1 s later) while it is not.
        job = await t.app.jobs.enqueue(TYPE, { n: 2 }, { delaySeconds: 1 });
      }
      const published = await waitForJob(database.handle, job.jobId, (row) => row.messageId !== null);
      if ('cutDatabase' in fail) await through!.proxy.cut('refuse');
      // Asked of the stand-in through the real Client: jobscope's own DLQ read needs the database.
      const inDlq = async () => (await qstash.dlq.listMessages({ filter: { messageId: published.messageId! } })).messages;
      await expect.poll(async () => (await inDlq()).length, { timeout: 15_000, interval: 50 }).toBe(1);
      if ('cutDatabase' in fail) await through!.proxy.restore();
      else await front.restore();
      const [letter] = await inDlq();
      return { jobId: job.jobId, messageId: published.messageId!, letter: letter! };
    }

    /** The reaper until it is past the wait (0.2 s) and has acted; every pass after that finds nothing. */
    async function reapUntilFailed(jobId: string) {
      const deadLetteredBy: string[] = [];
      for (let pass = 0; pass < 100 && !deadLetteredBy.includes(jobId); pass++) {
        try {
          deadLetteredBy.push(...(await t.app.jobs.reap()).deadLettered);
        } catch {
          // The database coming back after a cut: the next pass.
        }
        await delay(50);
      }
      expect(deadLetteredBy.filter((id) => id === jobId)).toEqual([jobId]);
      expect((await t.app.jobs.reap()).deadLettered).toEqual([]);
      return waitForJob(database.handle, jobId, hasStatus('failed'));
    }

    it('fails a job whose every delivery was refused at the door as DEAD_LETTERED, once; retryJob runs it once', async () => {
      const { jobId, letter } = await deadLettered({ refuse: true });
      // Nothing reached the worker: pending, no attempt.
      expect((await waitForJob(database.handle, jobId, () => true)).status).toBe('pending');
      expect(await db().select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId))).toEqual([]);

      const failed = await reapUntilFailed(jobId);
      expect(failed.error).toMatch(new RegExp(`^${DEAD_LETTERED}: QStash gave up delivering this job after 2 attempts; last attempt got no response`));
      expect(failed.error).toContain(`retryDeadLetters (dlqId ${letter.dlqId}) or retryJob`);
      expect(failed.completedAt).not.toBeNull();
      expect(await failedEvents(jobId)).toBe(1);
      expect(t.logs.filter((l) => l.message.startsWith('[jobs] Job dead-lettered') && l.jobId === jobId)).toHaveLength(1);
      expect(runs.get(jobId)).toBeUndefined();

      await t.app.jobs.retry(jobId);
      const done = await waitForJob(database.handle, jobId, hasStatus('completed'));
      expect(done.error).toBeNull();
      expect(runs.get(jobId)).toBe(1);

      // The old message's dead letter is still there; retried now, its delivery finds the job
      // completed and is acknowledged without running it again.
      const [retried] = await t.app.jobs.retryDeadLetters([letter.dlqId]);
      expect(retried?.jobId).toBe(jobId);
      await expect
        .poll(async () => (await qstash.logs({ filter: { messageId: retried!.messageId } })).logs.map((l) => l.state), { timeout: 10_000 })
        .toContain('DELIVERED');
      expect((await waitForJob(database.handle, jobId, () => true)).status).toBe('completed');
      expect(runs.get(jobId)).toBe(1);
    });

    it('retryDeadLetters of a job failed as DEAD_LETTERED redelivers it: the worker accepts the new message and the job completes once', async () => {
      const { jobId, messageId, letter } = await deadLettered({ refuse: true });
      await reapUntilFailed(jobId);

      const [retried] = await t.app.jobs.retryDeadLetters([letter.dlqId]);
      expect(retried).toMatchObject({ dlqId: letter.dlqId, jobId });
      expect(retried!.messageId).not.toBe(messageId);
      const done = await waitForJob(database.handle, jobId, hasStatus('completed'));
      expect(done.messageId).toBe(retried!.messageId);
      expect(runs.get(jobId)).toBe(1);
      const attempts = await db().select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId)).orderBy(asc(jobAttempts.id));
      expect(attempts.map((a) => [a.messageId, a.attempt, a.httpStatus])).toEqual([[retried!.messageId, 0, 200]]);
      expect(await failedEvents(jobId)).toBe(1);
      expect((await t.app.jobs.reap()).deadLettered).toEqual([]);
    });

    it('leaves alone a published job QStash has not dead-lettered', async () => {
      await front.cut('hold');
      try {
        // Its first delivery hangs at the door: QStash still holds the message.
        const job = await t.app.jobs.enqueue(TYPE, { n: 3 });
        await waitForJob(database.handle, job.jobId, (row) => row.messageId !== null);
        await delay(400);
        expect((await t.app.jobs.reap()).deadLettered).toEqual([]);
        expect((await waitForJob(database.handle, job.jobId, () => true)).status).toBe('pending');
      } finally {
        await front.restore();
      }
    });

    it.skipIf(databaseKind !== 'postgres')(
      'fails a job whose every delivery found the database away (503s) as DEAD_LETTERED once the database is back',
      async () => {
        if (!through) return;
        const { jobId, letter } = await deadLettered({ cutDatabase: true });
        expect(letter.responseStatus).toBe(503);
        const failed = await reapUntilFailed(jobId);
        expect(failed.error).toMatch(new RegExp(`^${DEAD_LETTERED}: QStash gave up delivering this job after 2 attempts; last response 503 `));
        expect(await failedEvents(jobId)).toBe(1);

        await t.app.jobs.retry(jobId);
        await waitForJob(database.handle, jobId, hasStatus('completed'));
        expect(runs.get(jobId)).toBe(1);
      },
    );
  });
}

suite(`jobs QStash dead-lettered before any attempt, on ${databaseKind}`, async () => {
  const database = await createTestDatabase();
  if (databaseKind !== 'postgres') return { database };
  return { database, through: await openThroughProxy(database.target as { url: string }) };
});
