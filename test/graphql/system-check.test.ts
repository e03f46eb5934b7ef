/**
 * systemCheck and GET /health/checks on a real deployment: the signed self-probe through BASE_URL
 * (reachable, unreachable, rejected by other signing keys), QStash reachable, and the failure
 * group on real failed jobs.
 */
import { Client } from '@upstash/qstash';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/jobs/registry.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';
import { closedPortUrl } from '../helpers/standin.js';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { SystemCheckDocument } from '../gql/graphql.js';
import { signDelivery } from '../../src/qstash/signing.js';
import { sql } from 'drizzle-orm';

let runs = 0;
const jobs = [
  defineJob({
    type: 'check-fails',
    endpoint: '/api/jobs/check-fails',
    schema: z.object({ n: z.number() }),
    timeoutSeconds: 5,
    retries: 0,
    async handler() {
      runs++;
      throw new Error('the mail server said 550');
    },
  }),
];

let database: TestDatabase;
let t: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  t = await startTestApp(database.handle, { jobs });
});

afterAll(async () => {
  await t?.close();
  await database?.destroy();
});

type Check = Awaited<ReturnType<typeof check>>;
const check = async (base: string) => (await graphqlData(base, SystemCheckDocument, {})).systemCheck;
const item = (report: Check, name: string) => report.groups.flatMap((group) => group.items).find((entry) => entry.name === name);

describe('systemCheck', () => {
  it('passes the probe through BASE_URL and the QStash call on a working deployment; the four groups of the guide', async () => {
    const report = await check(t.baseUrl);
    expect(report.groups.map((group) => group.title)).toEqual(['Job not enqueueing', 'Job not processing', 'High failure rate', 'Poor performance']);
    expect(item(report, 'endpoint:check-fails')).toMatchObject({ status: 'PASS', fix: null });
    expect(item(report, 'endpoint:check-fails')?.detail).toContain(`${t.baseUrl}/api/jobs/check-fails`);
    expect(item(report, 'qstash-reachable')?.status).toBe('PASS');
    expect(item(report, 'signing-keys')?.detail).toContain('development');
    expect(item(report, 'database-latency')?.status).toMatch(/PASS|WARN/);
    expect(runs).toBe(0);
    const response = await fetch(`${t.baseUrl}/health/checks`);
    expect(response.status).toBe(report.status === 'FAIL' ? 503 : 200);
  });

  it('names failing types, their top errors and the dead letters waiting', async () => {
    for (let n = 0; n < 3; n++) {
      const job = await t.app.jobs.enqueue('check-fails', { n });
      await waitForJob(database.handle, job.jobId, hasStatus('failed'));
    }
    await t.app.standIn!.idle();
    const report = await check(t.baseUrl);
    expect(item(report, 'failure-rate:check-fails')).toMatchObject({ status: 'FAIL' });
    expect(item(report, 'failure-rate:check-fails')?.detail).toContain('3 of 3 job(s) failed');
    expect(item(report, 'top-errors')).toMatchObject({ status: 'WARN', detail: '3× the mail server said 550' });
    expect(item(report, 'dead-letters')?.status).toBe('WARN');
    expect(report.groups.find((group) => group.title === 'High failure rate')?.status).toBe('FAIL');
    expect(report.status).toBe('FAIL');
    const response = await fetch(`${t.baseUrl}/health/checks`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { status: string }).status).toBe('FAIL');
  });

  it('fails the probe of an unreachable BASE_URL, and of a worker that verifies with other signing keys (401)', async () => {
    const nowhere = await closedPortUrl();
    const lost = await startTestApp(database.handle, { jobs, env: { BASE_URL: nowhere } });
    try {
      const report = await check(lost.server.url);
      expect(item(report, 'endpoint:check-fails')).toMatchObject({ status: 'FAIL' });
      expect(item(report, 'endpoint:check-fails')?.detail).toContain(`${nowhere}/api/jobs/check-fails could not be reached`);
      expect(item(report, 'endpoint:check-fails')?.fix).toContain('BASE_URL');
    } finally {
      await lost.close();
    }

    const strict = await startTestApp(database.handle, { jobs, env: { QSTASH_CURRENT_SIGNING_KEY: 'sig_otherCurrent', QSTASH_NEXT_SIGNING_KEY: 'sig_otherNext' } });
    const pointing = await startTestApp(database.handle, { jobs, env: { BASE_URL: strict.baseUrl } });
    try {
      const report = await check(pointing.server.url);
      expect(item(report, 'endpoint:check-fails')).toMatchObject({ status: 'FAIL' });
      expect(item(report, 'endpoint:check-fails')?.detail).toContain('rejected a correctly signed probe (401)');
    } finally {
      await pointing.close();
      await strict.close();
    }
    expect(runs).toBe(3);
  });
});

describe('systemCheck: the other items in their failing states, produced for real', () => {
  // A database of its own, so the window holds only what these tests do.
  let own: TestDatabase;
  const strictJob = defineJob({ type: 'check-strict', endpoint: '/api/jobs/check-strict', schema: z.object({ to: z.string().email() }), timeoutSeconds: 5, retries: 0, handler: async () => ({}) });
  const nearTimeout = defineJob({
    type: 'check-near-timeout',
    endpoint: '/api/jobs/check-near-timeout',
    schema: z.object({}),
    timeoutSeconds: 2,
    retries: 0,
    // 90 % of the timeout: over the check's 80 % even at the percentile's 4.3 % error, 200 ms short of a timeout on a loaded machine.
    handler: () => new Promise((resolve) => setTimeout(() => resolve({}), 1_800)),
  });
  beforeAll(async () => {
    own = await createTestDatabase();
  });
  afterAll(async () => {
    await own?.destroy();
  });

  it('warns of payloads refused at enqueue and at delivery, fails on forged deliveries, warns of a type near its timeout', async () => {
    const app = await startTestApp(own.handle, { jobs: [strictJob, nearTimeout] });
    try {
      expect(item(await check(app.baseUrl), 'enqueue-validation-errors')?.status).toBe('PASS');
      // Refused at the door: enqueueJob with a payload the schema refuses (audited as INVALID_PAYLOAD).
      const refused = await fetch(`${app.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'mutation { enqueueJob(input: { jobType: "check-strict", payload: { to: "nope" } }) { jobId } }' }),
      });
      expect(JSON.stringify(await refused.json())).toContain('INVALID_PAYLOAD');
      // Refused at delivery: published straight to QStash by a publisher that skips validation.
      const qstash = new Client({ baseUrl: `${app.baseUrl}/qstash`, token: DEV_QSTASH_TOKEN, devMode: false, retry: false });
      await qstash.publishJSON({ url: `${app.baseUrl}/api/jobs/check-strict`, body: { jobId: 'check-bad-payload', type: 'check-strict', payload: { to: 'nope' }, metadata: {} }, retries: 0 });
      await waitForJob(own.handle, 'check-bad-payload', hasStatus('failed'));
      // A delivery signed with another key.
      const body = JSON.stringify({ jobId: 'check-forged', type: 'check-strict', payload: { to: 'a@b.co' }, metadata: {} });
      const forged = await fetch(`${app.baseUrl}/api/jobs/check-strict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'upstash-message-id': 'msg_check_forged', 'upstash-signature': signDelivery({ signingKey: 'sig_notTheKey', url: `${app.baseUrl}/api/jobs/check-strict`, body: Buffer.from(body) }) },
        body,
      });
      expect(forged.status).toBe(401);
      // Runs that take 90 % of their timeout.
      const near = await Promise.all([0, 1, 2].map(() => app.app.jobs.enqueue('check-near-timeout', {})));
      await Promise.all(near.map((job) => waitForJob(own.handle, job.jobId, hasStatus('completed'))));

      let report = await check(app.baseUrl);
      await expect.poll(async () => item((report = await check(app.baseUrl)), 'signature-failures')?.status, { timeout: 10_000 }).toBe('FAIL');
      expect(item(report, 'signature-failures')?.detail).toContain('1 WRONG_KEY');
      expect(item(report, 'signature-failures')?.fix).toContain('QSTASH_CURRENT_SIGNING_KEY');
      expect(item(report, 'enqueue-validation-errors')).toMatchObject({ status: 'WARN', detail: '1 enqueueJob call(s) refused for an invalid payload in the window.' });
      expect(item(report, 'payload-validation-failures')).toMatchObject({ status: 'WARN', detail: '1 job(s) failed on an invalid payload in the window.' });
      expect(item(report, 'slow:check-near-timeout')).toMatchObject({ status: 'WARN', fix: expect.stringContaining('Raise the type') });
      expect(item(report, 'slow:check-near-timeout')?.detail).toMatch(/^p95 1\.\d\d s against a timeout of 2 s\.$/);
      expect(item(report, 'queue-wait:check-near-timeout')?.status).toBe('PASS');
      expect(report.groups.find((group) => group.title === 'Job not processing')?.status).toBe('FAIL');
    } finally {
      await app.close();
    }
  });

  it('fails deliveries when jobs are created and none arrives, and qstash-reachable when QStash does not answer', async () => {
    const nowhere = await closedPortUrl();
    // Deliveries go to a closed port: the jobs wait, no attempt is recorded.
    const unreached = await startTestApp(own.handle, { jobs: [strictJob], env: { BASE_URL: nowhere } });
    try {
      await own.handle.db.execute(sql`DELETE FROM job_attempts`);
      await own.handle.db.execute(sql`DELETE FROM job_executions`);
      await unreached.app.jobs.enqueue('check-strict', { to: 'ada@example.com' });
      const report = await check(unreached.server.url);
      expect(item(report, 'deliveries')).toMatchObject({ status: 'FAIL', detail: '1 job(s) created in the window and no delivery seen.' });
    } finally {
      await unreached.close();
    }
    const noQStash = await startTestApp(own.handle, {
      jobs: [strictJob],
      env: { QSTASH_URL: nowhere, QSTASH_TOKEN: 'a-token', QSTASH_CURRENT_SIGNING_KEY: DEV_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY: DEV_NEXT_SIGNING_KEY },
    });
    try {
      const report = await check(noQStash.baseUrl);
      expect(item(report, 'qstash-configured')).toMatchObject({ status: 'PASS', detail: `QSTASH_TOKEN set; QStash at ${nowhere}.` });
      expect(item(report, 'qstash-reachable')).toMatchObject({ status: 'FAIL', fix: expect.stringContaining('QSTASH_TOKEN and QSTASH_URL') });
      expect(item(report, 'dead-letters')).toMatchObject({ status: 'WARN', fix: 'See qstash-reachable.' });
    } finally {
      await noQStash.close();
    }
  });

  it('names what the database said when a check statement is refused, and never the statement or its parameters', async () => {
    const app = await startTestApp(own.handle, { jobs: [strictJob] });
    await own.handle.db.execute(sql`ALTER TABLE signature_failures RENAME TO signature_failures_away`);
    try {
      const report = await check(app.baseUrl);
      const failed = item(report, 'signature-failures');
      expect(failed).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^The check itself failed: database error 42P01: relation "signature_failures" does not exist\.$/) });
      const response = await fetch(`${app.baseUrl}/health/checks`);
      expect(response.status).toBe(503);
      const text = await response.text();
      expect(text).toContain('database error 42P01');
      expect(text).not.toMatch(/Failed query|select|params:/i);
    } finally {
      await own.handle.db.execute(sql`ALTER TABLE signature_failures_away RENAME TO signature_failures`);
      await app.close();
    }
  });

  it('fails base-url in production when BASE_URL is a local address', async () => {
    const prod = await startTestApp(own.handle, {
      jobs: [strictJob],
      env: {
        JOBSCOPE_ENV: 'production',
        BASE_URL: 'http://127.0.0.1:9',
        QSTASH_URL: `${t.baseUrl}/qstash`,
        QSTASH_TOKEN: 'a-production-token',
        QSTASH_CURRENT_SIGNING_KEY: 'sig_productionCurrent',
        QSTASH_NEXT_SIGNING_KEY: 'sig_productionNext',
        JOBSCOPE_READ_KEYS: 'check-read-key',
      },
    });
    try {
      const report = (await graphqlData(prod.server.url, SystemCheckDocument, { key: 'check-read-key' })).systemCheck;
      expect(item(report, 'base-url')).toMatchObject({ status: 'FAIL', detail: 'BASE_URL is http://127.0.0.1:9: QStash cannot reach a local address.' });
      expect(item(report, 'signing-keys')).toMatchObject({ status: 'PASS', detail: 'QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY are set.' });
      // The stand-in does not know this token: an authenticated call is refused.
      expect(item(report, 'qstash-reachable')).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('unauthorized') });
    } finally {
      await prod.close();
    }
  });
});
