/**
 * reconciliation(since) on mismatches produced for real: a restore that rolled finished jobs back
 * (the database older than QStash's log), a message QStash failed that no row holds (BASE_URL
 * mismatch: the worker rejected its signature), a pending job whose message was cancelled in QStash.
 */
import { Client } from '@upstash/qstash';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobExecutions } from '../../src/db/schema.js';
import { DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { defineJob } from '../../src/jobs/registry.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';
import { ReconciliationDocument } from '../gql/graphql.js';

let flakyCalls = 0;
const jobs = [
  defineJob({ type: 'rec-ok', endpoint: '/api/jobs/rec-ok', schema: z.object({ n: z.number() }), timeoutSeconds: 5, retries: 0, handler: async () => ({}) }),
  defineJob({
    type: 'rec-flaky',
    endpoint: '/api/jobs/rec-flaky',
    schema: z.object({}),
    timeoutSeconds: 5,
    retries: 3,
    async handler() {
      flakyCalls++;
      throw new Error('not yet');
    },
  }),
];

let database: TestDatabase;
let t: TestApp;
const started = new Date(Date.now() - 1_000);

beforeAll(async () => {
  database = await createTestDatabase();
  // QStash's real backoff: a failed delivery waits 12 s for its retry, so the message stays in RETRY.
  t = await startTestApp(database.handle, { jobs, env: { QSTASH_RETRY_DELAY_FACTOR: '1' } });
});

afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

const setStatus = (jobId: string, status: 'processing' | 'completed') =>
  database.handle.db.update(jobExecutions).set({ status, updatedAt: sql`now()` }).where(eq(jobExecutions.jobId, jobId));

describe('reconciliation', () => {
  it('lists each disagreement with both sides, and nothing where they agree', async () => {
    const agreeing = await t.app.jobs.enqueue('rec-ok', { n: 1 });
    const restored = await t.app.jobs.enqueue('rec-ok', { n: 2 });
    const retried = await t.app.jobs.enqueue('rec-flaky', {});
    await waitForJob(database.handle, agreeing.jobId, hasStatus('completed'));
    await waitForJob(database.handle, restored.jobId, hasStatus('completed'));
    await waitForJob(database.handle, retried.jobId, hasStatus('retrying'));
    // A restore from a backup older than these runs: one job back to processing, one marked completed by hand.
    await setStatus(restored.jobId, 'processing');
    await setStatus(retried.jobId, 'completed');

    // A message to a worker endpoint through another host name than BASE_URL: the worker rejects its signature, no row.
    const qstash = new Client({ baseUrl: `${t.server.url}/qstash`, token: DEV_QSTASH_TOKEN, devMode: false, retry: false });
    const { messageId: strayId } = await qstash.publishJSON({
      url: `${t.server.url.replace('127.0.0.1', 'localhost')}/api/jobs/rec-ok`,
      body: { jobId: 'stray', type: 'rec-ok', payload: { n: 3 }, metadata: {} },
      retries: 0,
    });
    await expect.poll(async () => (await qstash.logs({ messageIds: [strayId] })).logs.some((entry) => entry.state === 'FAILED')).toBe(true);

    // A pending (delayed) job whose message someone cancelled in QStash.
    const delayed = await t.app.jobs.enqueue('rec-ok', { n: 4 }, { delaySeconds: 3600 });
    const published = await waitForJob(database.handle, delayed.jobId, (row) => row.messageId !== null);
    await qstash.messages.delete(published.messageId!);

    const { reconciliation } = await graphqlData(t.baseUrl, ReconciliationDocument, { variables: { since: started.toISOString() } });
    const byKind = Object.fromEntries(reconciliation.mismatches.map((m) => [m.kind, m]));
    expect(Object.keys(byKind).sort()).toEqual(['DELIVERED_NOT_RECORDED', 'FAILED_WITHOUT_ROW', 'PENDING_NOT_IN_QSTASH', 'RETRYING_BUT_COMPLETED']);
    expect(reconciliation.mismatches).toHaveLength(4);
    expect(byKind.DELIVERED_NOT_RECORDED).toMatchObject({ jobId: restored.jobId, qstashState: 'DELIVERED', jobStatus: 'PROCESSING' });
    expect(byKind.RETRYING_BUT_COMPLETED).toMatchObject({ jobId: retried.jobId, jobStatus: 'COMPLETED' });
    expect(['RETRY', 'ERROR', 'ACTIVE', 'CREATED']).toContain(byKind.RETRYING_BUT_COMPLETED!.qstashState);
    expect(byKind.FAILED_WITHOUT_ROW).toMatchObject({ messageId: strayId, jobId: null, qstashState: 'FAILED', jobStatus: null });
    expect(byKind.PENDING_NOT_IN_QSTASH).toMatchObject({ jobId: delayed.jobId, messageId: published.messageId, jobStatus: 'PENDING', qstashState: 'CANCELLED' });
    expect(reconciliation.messagesChecked).toBeGreaterThanOrEqual(4);
    expect(reconciliation.truncated).toBe(false);
    expect(reconciliation.mismatches.some((m) => m.jobId === agreeing.jobId)).toBe(false);
  });
});
