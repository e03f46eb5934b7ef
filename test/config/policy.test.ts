import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobExecutions, type JobStatus } from '../../src/db/schema.js';
import { startTestApp, type TestApp } from '../helpers/app.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { graphql, graphqlData } from '../helpers/graphql.js';

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000);
const row = (jobId: string, status: JobStatus, createdMinutesAgo: number) => ({
  jobId,
  jobType: 'send-email',
  status,
  payload: { jobId, type: 'send-email', payload: {}, metadata: {} },
  createdAt: minutesAgo(createdMinutesAgo),
  startedAt: minutesAgo(createdMinutesAgo),
  completedAt: status === 'processing' ? null : minutesAgo(createdMinutesAgo - 0.1),
});

interface Verdicts {
  stuckJobs: string[];
  health: { status: string; windowMinutes: number; failureRateThreshold: number; stuckAfterMinutes: number; stuckJobs: number; totalJobs: number };
  healthJobs: { httpStatus: number; status: string; stuckJobs: number; totalJobs: number; windowMinutes: number };
  metrics: { stuck: number; failureRate: number };
  /** The default rules: what the guide's two alerts measure over, and the threshold. */
  alerts: [string, number, number][];
}

/** What each surface says about the same rows, with no thresholds given: each must use the configured policy. */
async function verdicts(t: TestApp): Promise<Verdicts> {
  const data = await graphqlData<
    { stuckJobs: { jobId: string }[]; jobHealth: Verdicts['health'] },
    object
  >(t.baseUrl, '{ stuckJobs { jobId } jobHealth { status windowMinutes failureRateThreshold stuckAfterMinutes stuckJobs totalJobs } }');
  const healthRes = await fetch(`${t.baseUrl}/health/jobs`);
  const health = (await healthRes.json()) as Omit<Verdicts['healthJobs'], 'httpStatus'>;
  const metrics = await (await fetch(`${t.baseUrl}/metrics`)).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
  const alerts = await t.app.alerts.rules();
  return {
    stuckJobs: data.stuckJobs.map((j) => j.jobId),
    health: data.jobHealth,
    healthJobs: {
      httpStatus: healthRes.status,
      status: health.status,
      stuckJobs: health.stuckJobs,
      totalJobs: health.totalJobs,
      windowMinutes: health.windowMinutes,
    },
    metrics: { stuck: gauge('jobscope_stuck_jobs'), failureRate: gauge('jobscope_job_failure_rate') },
    alerts: alerts.filter((r) => r.defaultKey !== null).map((r) => [r.defaultKey!, r.windowMinutes, r.threshold]),
  };
}

describe(`one policy for every surface on ${databaseKind}`, () => {
  let database: TestDatabase;
  let guide: TestApp;
  let changed: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    await database.handle.db.insert(jobExecutions).values([
      // Running for 15 minutes: stuck by the guide's 10, not by 20.
      row('running-15m', 'processing', 15),
      // Failed 90 minutes ago: outside the guide's hour, inside a two-hour window.
      row('failed-90m', 'failed', 90),
      row('completed-5m', 'completed', 5),
    ]);
    guide = await startTestApp(database.handle);
    changed = await startTestApp(database.handle, {
      env: { ALERT_STUCK_MINUTES: '20', HEALTH_WINDOW_MINUTES: '120', ALERT_FAILURE_RATE: '0.3' },
    });
  });
  afterAll(async () => {
    await changed?.close();
    await guide?.close();
    await database?.destroy();
  });

  it("judges by the guide's numbers by default: 10 minutes stuck, the last hour, 5 %", async () => {
    expect(await verdicts(guide)).toEqual({
      stuckJobs: ['running-15m'],
      health: { status: 'HEALTHY', windowMinutes: 60, failureRateThreshold: 0.05, stuckAfterMinutes: 10, stuckJobs: 1, totalJobs: 2 },
      healthJobs: { httpStatus: 200, status: 'healthy', stuckJobs: 1, totalJobs: 2, windowMinutes: 60 },
      metrics: { stuck: 1, failureRate: 0 },
      alerts: [
        ['failure-rate', 60, 0.05],
        ['stuck-jobs', 10, 1],
      ],
    });
  });

  it('moves every surface together when the policy is configured: stuckJobs, jobHealth, /health/jobs, /metrics, the alerts', async () => {
    expect(await verdicts(changed)).toEqual({
      stuckJobs: [],
      health: { status: 'UNHEALTHY', windowMinutes: 120, failureRateThreshold: 0.3, stuckAfterMinutes: 20, stuckJobs: 0, totalJobs: 3 },
      healthJobs: { httpStatus: 503, status: 'unhealthy', stuckJobs: 0, totalJobs: 3, windowMinutes: 120 },
      metrics: { stuck: 0, failureRate: 1 / 3 },
      alerts: [
        ['failure-rate', 120, 0.3],
        ['stuck-jobs', 20, 1],
      ],
    });
  });

  it("applies the configured stuck threshold to retryJob's stuck rule too", async () => {
    const retry = `mutation { retryJob(jobId: "running-15m") { status } }`;
    const refused = await graphql(changed.baseUrl, retry);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: 'JOB_NOT_RETRYABLE', status: 'PROCESSING' });
    const retried = await graphqlData<{ retryJob: { status: string } }, object>(guide.baseUrl, retry);
    expect(retried.retryJob.status).toBe('PENDING');
  });
});
