/**
 * systemCheck and GET /health/checks on a real deployment: the signed self-probe through BASE_URL
 * (reachable, unreachable, rejected by other signing keys), QStash reachable, and the failure
 * group on real failed jobs.
 */
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/jobs/registry.js';
import { hasStatus, startTestApp, waitForJob, type TestApp } from '../helpers/app.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';
import { closedPortUrl } from '../helpers/standin.js';
import { SystemCheckDocument } from '../gql/graphql.js';

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
