/**
 * jobDiagnosis on scenarios produced for real (both databases): a throwing handler, a handler
 * slower than its timeout, an invalid payload published straight to the stand-in, a retry
 * waiting, a delayed job, an unreachable BASE_URL, a worker that rejects every signature.
 */
import { Client } from '@upstash/qstash';
import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { jobExecutions, jobPublishes } from '../../src/db/schema.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { defineJob } from '../../src/jobs/registry.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { errorCodes, graphql, graphqlData } from '../helpers/graphql.js';
import { closedPortUrl } from '../helpers/standin.js';
import { JobDiagnosisDocument } from '../gql/graphql.js';

const throwing = defineJob({
  type: 'diag-throw',
  endpoint: '/api/jobs/diag-throw',
  schema: z.object({ n: z.number() }),
  timeoutSeconds: 5,
  retries: 0,
  async handler() {
    throw new Error('upstream said no');
  },
});
const slow = defineJob({
  type: 'diag-slow',
  endpoint: '/api/jobs/diag-slow',
  schema: z.object({}),
  timeoutSeconds: 0.3,
  retries: 0,
  handler: () => new Promise((resolve) => setTimeout(resolve, 1_500)),
});
let flakyCalls = 0;
const flaky = defineJob({
  type: 'diag-flaky',
  endpoint: '/api/jobs/diag-flaky',
  schema: z.object({}),
  timeoutSeconds: 5,
  retries: 2,
  async handler() {
    if (++flakyCalls === 1) throw new Error('first try fails');
    return {};
  },
});
const fine = defineJob({
  type: 'diag-ok',
  endpoint: '/api/jobs/diag-ok',
  schema: z.object({ to: z.string().email() }),
  timeoutSeconds: 5,
  retries: 2,
  handler: async () => ({ ok: true }),
});

let releaseHeld: () => void = () => {};
const held = defineJob({
  type: 'diag-held',
  endpoint: '/api/jobs/diag-held',
  schema: z.object({}),
  timeoutSeconds: 20,
  retries: 0,
  handler: () => new Promise((resolve) => (releaseHeld = () => resolve({ released: true }))),
});

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  // QStash's real backoff (12 s before the first retry), so a retrying job stays retrying while it is looked at.
  // Heartbeats every 0.2 s (lost after 3 missed: 0.6 s), so a RUNNING verdict shows they keep coming.
  t = await startTestApp(database.handle, { jobs: [throwing, slow, flaky, fine, held], env: { QSTASH_RETRY_DELAY_FACTOR: '1', JOBSCOPE_HEARTBEAT_SECONDS: '0.2' } });
});

afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

const diagnose = async (base: string, jobId: string) => (await graphqlData(base, JobDiagnosisDocument, { variables: { jobId } })).jobDiagnosis;

describe('jobDiagnosis', () => {
  it('HANDLER_ERROR: the error per attempt, and how many other jobs of the type failed the same way', async () => {
    const first = await t.app.jobs.enqueue('diag-throw', { n: 1 });
    const second = await t.app.jobs.enqueue('diag-throw', { n: 2 });
    await waitForJob(database.handle, first.jobId, hasStatus('failed'));
    await waitForJob(database.handle, second.jobId, hasStatus('failed'));
    const diagnosis = await diagnose(t.baseUrl, second.jobId);
    expect(diagnosis.verdict).toBe('HANDLER_ERROR');
    expect(diagnosis.handlerError).toEqual({ errors: ['upstream said no'], sameEachTime: true, otherJobsWithSameError: 1 });
    expect(diagnosis.summary).toContain('upstream said no');
    expect(diagnosis.remedy).toContain('1 other job(s) of the type failed the same way');
    expect(diagnosis.evidence.map((fact) => fact.message).join('\n')).toMatch(/Attempt 0 of message msg_\w+: failed \(500\): upstream said no/);
  });

  it('TIMEOUT: the timeout, the attempt durations and how far to raise it', async () => {
    const job = await t.app.jobs.enqueue('diag-slow', {});
    await waitForJob(database.handle, job.jobId, hasStatus('failed'));
    const diagnosis = await diagnose(t.baseUrl, job.jobId);
    expect(diagnosis.verdict).toBe('TIMEOUT');
    expect(diagnosis.timeout?.timeoutSeconds).toBe(0.3);
    expect(diagnosis.timeout?.attemptDurationsSeconds[0]).toBeGreaterThanOrEqual(0.29);
    expect(diagnosis.timeout?.p95DurationSeconds).toBeNull();
    expect(diagnosis.timeout?.suggestedTimeoutSeconds).toBeGreaterThanOrEqual(1);
    expect(diagnosis.remedy).toContain(`about ${diagnosis.timeout?.suggestedTimeoutSeconds} s`);
  });

  it('PAYLOAD_INVALID: the recorded refusal, and whether the payload would pass the schema today', async () => {
    const qstash = new Client({ baseUrl: `${t.baseUrl}/qstash`, token: DEV_QSTASH_TOKEN, devMode: false, retry: false });
    const jobId = 'diag-bad-payload';
    await qstash.publishJSON({ url: `${t.baseUrl}/api/jobs/diag-ok`, body: { jobId, type: 'diag-ok', payload: { to: 'not-an-email' }, metadata: {} } });
    await waitForJob(database.handle, jobId, hasStatus('failed'));
    const diagnosis = await diagnose(t.baseUrl, jobId);
    expect(diagnosis.verdict).toBe('PAYLOAD_INVALID');
    expect(diagnosis.payload).toMatchObject({ passesSchemaToday: false, issuesToday: [{ path: ['to'] }] });
    expect(diagnosis.payload?.error).toMatch(/^Invalid job payload: /);
    expect(diagnosis.remedy).toContain('replayJob');
  });

  it('RETRYING while QStash waits to deliver again, HEALTHY once done, NOT_DELIVERED_YET for a delayed job', async () => {
    const job = await t.app.jobs.enqueue('diag-flaky', {});
    await waitForJob(database.handle, job.jobId, hasStatus('retrying'));
    const retrying = await diagnose(t.baseUrl, job.jobId);
    expect(retrying.verdict).toBe('RETRYING');
    expect(retrying.summary).toContain('HANDLER_ERROR');

    const ok = await t.app.jobs.enqueue('diag-ok', { to: 'ada@example.com' });
    await waitForJob(database.handle, ok.jobId, hasStatus('completed'));
    expect((await diagnose(t.baseUrl, ok.jobId)).verdict).toBe('HEALTHY');

    const { data } = await graphql<{ enqueueJob: { jobId: string } }>(
      t.baseUrl,
      `mutation { enqueueJob(input: { jobType: "diag-ok", payload: { to: "later@example.com" }, delaySeconds: 3600 }) { jobId } }`,
    );
    const delayed = await diagnose(t.baseUrl, data!.enqueueJob.jobId);
    expect(delayed.verdict).toBe('NOT_DELIVERED_YET');
    expect(delayed.summary).toMatch(/^Delayed: not due before /);
  });

  it('RUNNING while its handler runs (its heartbeats keep coming), CANCELLED once cancelled', async () => {
    const running = await t.app.jobs.enqueue('diag-held', {});
    await waitForJob(database.handle, running.jobId, hasStatus('processing'));
    // Well past the 0.6 s after which an attempt without heartbeats is lost: this one's keep coming.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const diagnosis = await diagnose(t.baseUrl, running.jobId);
    expect(diagnosis.verdict).toBe('RUNNING');
    releaseHeld();
    await waitForJob(database.handle, running.jobId, hasStatus('completed'));

    const { data } = await graphql<{ enqueueJob: { jobId: string } }>(
      t.baseUrl,
      `mutation { enqueueJob(input: { jobType: "diag-ok", payload: { to: "never@example.com" }, delaySeconds: 3600 }) { jobId } }`,
    );
    const jobId = data!.enqueueJob.jobId;
    await graphqlData(t.baseUrl, `mutation ($jobId: ID!) { cancelJob(jobId: $jobId) { status } }`, { variables: { jobId } });
    const cancelled = await diagnose(t.baseUrl, jobId);
    expect(cancelled.verdict).toBe('CANCELLED');
  });

  it('JOB_NOT_FOUND for an unknown id', async () => {
    expect(errorCodes(await graphql(t.baseUrl, JobDiagnosisDocument, { variables: { jobId: 'no-such-job' } }))).toEqual(['JOB_NOT_FOUND']);
  });
});

describe('jobDiagnosis of deliveries that never reach the handler', () => {
  // A database of their own: no other instance that knows the type may publish these jobs.
  let own: TestDatabase;
  beforeAll(async () => {
    own = await createTestDatabase();
  });
  afterAll(async () => {
    await own?.destroy();
  });

  it('ENDPOINT_UNREACHABLE: BASE_URL points where nothing listens; QStash\'s failed deliveries are the evidence', async () => {
    const nowhere = await closedPortUrl();
    const app = await startTestApp(own.handle, { jobs: [fine], env: { BASE_URL: nowhere, QSTASH_RETRY_DELAY_FACTOR: '1' } });
    try {
      const job = await app.app.jobs.enqueue('diag-ok', { to: 'ada@example.com' });
      // BASE_URL is where QStash delivers; the API is asked where the server listens.
      const api = app.server.url;
      let diagnosis = await diagnose(api, job.jobId);
      await expect
        .poll(async () => (diagnosis = await diagnose(api, job.jobId)).verdict, { timeout: 10_000 })
        .toBe('ENDPOINT_UNREACHABLE');
      expect(diagnosis.summary).toContain(`${nowhere}/api/jobs/diag-ok`);
      expect(diagnosis.remedy).toContain('BASE_URL');
      expect(diagnosis.evidence.some((fact) => fact.source === 'QSTASH' && /failed a delivery of message/.test(fact.message))).toBe(true);
    } finally {
      await app.close();
    }
  });

  it('ENDPOINT_UNREACHABLE: BASE_URL names another deployment, which took the delivery; QStash says delivered, the job stays pending here', async () => {
    const other = await createTestDatabase();
    // Another deployment (its own database) that knows the type and the same signing keys.
    const elsewhere = await startTestApp(other.handle, { jobs: [fine] });
    await elsewhere.app.relay.stop();
    const app = await startTestApp(own.handle, { jobs: [fine], env: { BASE_URL: elsewhere.baseUrl } });
    try {
      const job = await app.app.jobs.enqueue('diag-ok', { to: 'ada@example.com' });
      // The other deployment ran it and recorded it in its own database.
      await waitForJob(other.handle, job.jobId, hasStatus('completed'));
      let diagnosis = await diagnose(app.server.url, job.jobId);
      await expect.poll(async () => (diagnosis = await diagnose(app.server.url, job.jobId)).verdict, { timeout: 10_000 }).toBe('ENDPOINT_UNREACHABLE');
      expect(diagnosis.summary).toContain(`QStash delivered it to ${elsewhere.baseUrl}/api/jobs/diag-ok`);
      expect(diagnosis.summary).toContain('another deployment did');
      expect(diagnosis.evidence.map((fact) => fact.message)).toContainEqual(expect.stringMatching(/^QStash delivered message \S+ to http:\/\/127\.0\.0\.1:\d+\/api\/jobs\/diag-ok, and no attempt of it was recorded here\.$/));
      expect(diagnosis.remedy).toContain('BASE_URL');
      expect((await own.handle.db.select().from(jobExecutions).where(eq(jobExecutions.jobId, job.jobId)))[0]?.status).toBe('pending');
    } finally {
      await app.close();
      await elsewhere.close();
      await other.destroy();
    }
  });

  it('ENDPOINT_UNREACHABLE: published, due long ago, and never delivered (the guide\'s "stuck in pending")', async () => {
    const app = await startTestApp(own.handle, { jobs: [fine], env: { ALERT_STUCK_MINUTES: '10' } });
    try {
      const job = await app.app.jobs.enqueue('diag-ok', { to: 'ada@example.com' }, { delaySeconds: 3600 });
      const published = await waitForJob(own.handle, job.jobId, (row) => row.messageId !== null);
      // QStash loses the message (deleted in its console), and 20 minutes pass after the job was due.
      const qstash = new Client({ baseUrl: `${app.baseUrl}/qstash`, token: DEV_QSTASH_TOKEN, devMode: false, retry: false });
      await qstash.messages.delete(published.messageId!);
      expect((await diagnose(app.server.url, job.jobId)).verdict).toBe('NOT_DELIVERED_YET');
      await own.handle.db
        .update(jobPublishes)
        .set({ notBefore: sql`now() - interval '20 minutes'`, publishedAt: sql`now() - interval '80 minutes'` })
        .where(eq(jobPublishes.jobId, job.jobId));
      const diagnosis = await diagnose(app.server.url, job.jobId);
      expect(diagnosis.verdict).toBe('ENDPOINT_UNREACHABLE');
      expect(diagnosis.summary).toMatch(/^Still pending 20 min past its due time, and QStash reports no delivery to http:\/\/127\.0\.0\.1:\d+\/api\/jobs\/diag-ok: the worker never ran it\.$/);
      expect(diagnosis.evidence.map((fact) => fact.message)).toContainEqual(expect.stringMatching(/^Published and due 1\d{3} s ago, with no delivery yet \(the threshold is 10 min\)\.$/));
    } finally {
      await app.close();
    }
  });

  it('PUBLISH_FAILED: QStash refuses the token, a permanent refusal; the relay\'s last error is the evidence', async () => {
    // A QStash (the first app's stand-in) that does not know this token answers 401.
    const app = await startTestApp(own.handle, { jobs: [fine], env: {
        QSTASH_URL: `${t.baseUrl}/qstash`,
        QSTASH_TOKEN: 'not-the-token',
        QSTASH_CURRENT_SIGNING_KEY: DEV_CURRENT_SIGNING_KEY,
        QSTASH_NEXT_SIGNING_KEY: DEV_NEXT_SIGNING_KEY,
      },
    });
    try {
      const job = await app.app.jobs.enqueue('diag-ok', { to: 'ada@example.com' });
      await waitForJob(own.handle, job.jobId, hasStatus('failed'));
      const diagnosis = await diagnose(app.server.url, job.jobId);
      expect(diagnosis.verdict).toBe('PUBLISH_FAILED');
      expect(diagnosis.summary).toBe(`It was never delivered. Publishing job ${job.jobId} to QStash failed: QStash refused the publish (401): {"error":"unauthorized: missing or invalid bearer token"}`);
      expect(diagnosis.evidence.map((fact) => fact.message)).toContainEqual(expect.stringMatching(/^Its publish failed after 1 attempt\(s\): /));
      expect(diagnosis.remedy).toContain('QSTASH_TOKEN');
    } finally {
      await app.close();
    }
  });

  it('SIGNATURE_INVALID: the worker QStash calls verifies with other signing keys and answers 401', async () => {
    // `strict` checks signatures with keys the publishing stand-in does not sign with; its relay is stopped so only `t` publishes.
    const strict = await startTestApp(own.handle, {
      jobs: [fine],
      env: { QSTASH_CURRENT_SIGNING_KEY: 'sig_otherCurrentKey', QSTASH_NEXT_SIGNING_KEY: 'sig_otherNextKey' },
    });
    await strict.app.relay.stop();
    const sender = await startTestApp(own.handle, { jobs: [fine], env: { BASE_URL: strict.baseUrl, QSTASH_RETRY_DELAY_FACTOR: '1' } });
    try {
      const job = await sender.app.jobs.enqueue('diag-ok', { to: 'ada@example.com' });
      const api = sender.server.url;
      let diagnosis = await diagnose(api, job.jobId);
      await expect
        .poll(async () => (diagnosis = await diagnose(api, job.jobId)).verdict, { timeout: 10_000 })
        .toBe('SIGNATURE_INVALID');
      expect(diagnosis.evidence.some((fact) => /the endpoint answered 401/.test(fact.message))).toBe(true);
      // The worker's own record of the rejection: why, and the URL it checked.
      await expect
        .poll(async () => (await diagnose(api, job.jobId)).evidence.map((fact) => fact.message).join('\n'), { timeout: 10_000 })
        .toMatch(/The worker rejected a delivery of message msg_\w+ for its signature: WRONG_KEY, checked against http:\/\/127\.0\.0\.1:\d+\/api\/jobs\/diag-ok/);
      expect(diagnosis.remedy).toContain('QSTASH_CURRENT_SIGNING_KEY');
    } finally {
      await sender.close();
      await strict.close();
    }
  });
});
