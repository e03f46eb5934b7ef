import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { ROOT } from '../helpers/build.js';
import { cliEnv, configFolder, startCli, type Running } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { openDatabase } from '../../src/db/client.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';
import { startTestApp } from '../helpers/app.js';
import { defineJob } from '../../src/jobs/registry.js';
import { z } from 'zod';

/**
 * The fault test of lost runs: jobscope SIGKILLed with every job mid-run, the QStash stand-in in
 * a process of its own (`npm run qstash:dev`), then jobscope started again on the same port.
 * The handler hangs in the first process only (HANG=1), as a run that the kill interrupts.
 * Four types: with retries left (1 and 3), the redelivery takes the lost run over; with none
 * left, QStash dead-letters the message and the reaper settles the job by the type's policy:
 * `last-retry` (1 retry, its first attempt failed, so the kill cut its last) is re-enqueued,
 * `no-retry` (0 retries: lost more often than its retries allow) is failed as WORKER_LOST.
 */
const CONFIG = `
import { z } from 'zod';
import { defineConfig, defineJob } from 'jobscope';

const work = async () => {
  if (process.env.HANG === '1') await new Promise((resolve) => setTimeout(resolve, 60_000));
  return { pid: process.pid };
};
/** Fails its first attempt in this process, then works as the others do. */
const calls = new Map();
const failFirst = async (payload, job) => {
  calls.set(job.jobId, (calls.get(job.jobId) ?? 0) + 1);
  if (calls.get(job.jobId) === 1 && process.env.HANG === '1') throw new Error('first attempt fails');
  return work();
};
const payload = z.object({ n: z.number() });
export default defineConfig({
  jobs: [
    defineJob({ type: 'one-retry', endpoint: '/api/jobs/one-retry', schema: payload, timeoutSeconds: 20, retries: 1, handler: work }),
    defineJob({ type: 'three-retries', endpoint: '/api/jobs/three-retries', schema: payload, timeoutSeconds: 20, retries: 3, handler: work }),
    defineJob({ type: 'last-retry', endpoint: '/api/jobs/last-retry', schema: payload, timeoutSeconds: 20, retries: 1, handler: failFirst }),
    defineJob({ type: 'no-retry', endpoint: '/api/jobs/no-retry', schema: payload, timeoutSeconds: 20, retries: 0, handler: work }),
  ],
});
`;

/** QStash's first backoff (12 s) × this = 6 s: jobscope is back before the redelivery, as with the real delays. */
const RETRY_DELAY_FACTOR = '0.5';
const JOBS_PER_TYPE = 4;
/** Types whose lost run QStash redelivers (retries left), and those the reaper settles (none left). */
const REDELIVERED = ['one-retry', 'three-retries'];
const REAPED = ['last-retry', 'no-retry'];

const ENQUEUE = `mutation ($type: String!, $n: Int!) { enqueueJob(input: { jobType: $type, payload: { n: $n } }) { jobId } }`;
const JOB = `query ($jobId: ID!) { jobExecution(jobId: $jobId) { jobType status retryCount result error attempts { attempt httpStatus error finishedAt } diagnosis { verdict summary evidence { source message } } } }`;

interface Job {
  jobType: string;
  status: string;
  error: string | null;
  retryCount: number;
  result: { pid: number } | null;
  attempts: { attempt: number; httpStatus: number | null; error: string | null; finishedAt: string | null }[];
  diagnosis: { verdict: string; summary: string; evidence: { source: string; message: string }[] };
}

/** `npm run qstash:dev` on its own port, as a team runs it beside jobscope. */
async function startStandIn(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'src', 'qstash', 'main.ts')], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'], HOME: process.env['HOME'], PORT: '0', QSTASH_RETRY_DELAY_FACTOR: RETRY_DELAY_FACTOR },
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`stand-in did not start:\n${out}`)), 30_000);
    child.stdout!.on('data', () => {
      const match = /running at http:\/\/localhost:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

/** What the stand-in's event log says became of every message: deliveries that failed (each one a spent retry), dead-lettered, delivered. */
async function qstashTally(url: string): Promise<{ errors: number; failed: number; delivered: number }> {
  const res = await fetch(`${url}/v2/events`, { headers: { authorization: `Bearer ${DEV_QSTASH_TOKEN}` } });
  const { events } = (await res.json()) as { events: { state: string }[] };
  const count = (state: string) => events.filter((e) => e.state === state).length;
  return { errors: count('ERROR'), failed: count('FAILED'), delivered: count('DELIVERED') };
}

describe(`a jobscope SIGKILLed mid-run, on ${databaseKind}`, () => {
  let database: TestDatabase | undefined;
  let scratch: string;
  let standIn: { url: string; child: ChildProcess };
  const folder = configFolder({ 'jobscope.config.ts': CONFIG });

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'jobscope-lost-'));
    if (databaseKind === 'postgres') database = await createTestDatabase();
    standIn = await startStandIn();
  });
  afterAll(async () => {
    standIn?.child.kill('SIGTERM');
    await database?.destroy();
    folder.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('settles every run within seconds of the restart, each final exactly once: redelivered while retries are left, re-enqueued or failed by the reaper when none are', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const dataDir = join(scratch, 'pglite');
    const env = (extra: Record<string, string>) =>
      cliEnv(dataDir, {
        ...(database?.target.kind === 'postgres' ? { DATABASE_URL: database.target.url } : { DATABASE_URL: '' }),
        PORT: String(port),
        BASE_URL: baseUrl,
        QSTASH_URL: standIn.url,
        QSTASH_TOKEN: DEV_QSTASH_TOKEN,
        QSTASH_CURRENT_SIGNING_KEY: DEV_CURRENT_SIGNING_KEY,
        QSTASH_NEXT_SIGNING_KEY: DEV_NEXT_SIGNING_KEY,
        JOBSCOPE_HEARTBEAT_SECONDS: '0.5',
        JOBSCOPE_REAPER_INTERVAL_SECONDS: '1',
        ...extra,
      });

    let server: Running = await startCli([], { cwd: folder.dir, env: env({ HANG: '1' }) });
    const jobIds: string[] = [];
    const typeOf = new Map<string, string>();
    for (const type of [...REDELIVERED, ...REAPED]) {
      for (let n = 0; n < JOBS_PER_TYPE; n++) {
        const data = await graphqlData<{ enqueueJob: { jobId: string } }, object>(server.url, ENQUEUE, { variables: { type, n } });
        jobIds.push(data.enqueueJob.jobId);
        typeOf.set(data.enqueueJob.jobId, type);
      }
    }
    const read = async (url: string) =>
      Promise.all(jobIds.map(async (jobId) => (await graphqlData<{ jobExecution: Job }, object>(url, JOB, { variables: { jobId } })).jobExecution));
    // Every run under way; `last-retry` on its last attempt (after its first failed and the 6 s backoff).
    const underWay = (job: Job) => job.status === 'PROCESSING' && (job.jobType !== 'last-retry' || job.retryCount === 1);
    await expect.poll(async () => (await read(server.url)).every(underWay), { timeout: 30_000, interval: 200 }).toBe(true);

    await server.kill();
    const killedAt = Date.now();
    server = await startCli([], { cwd: folder.dir, env: env({}) });
    const upAt = Date.now();
    /** When each job was first seen final. */
    const finalAt = new Map<string, number>();
    try {
      await expect
        .poll(
          async () => {
            const now = await read(server.url);
            now.forEach((job, i) => {
              if ((job.status === 'COMPLETED' || job.status === 'FAILED') && !finalAt.has(jobIds[i]!)) finalAt.set(jobIds[i]!, Date.now());
            });
            return now.map((j) => j.status);
          },
          { timeout: 30_000, interval: 100 },
        )
        .toEqual(jobIds.map((id) => (typeOf.get(id) === 'no-retry' ? 'FAILED' : 'COMPLETED')));
      const doneAt = Date.now();
      const jobs = await read(server.url);
      const shape = (job: Job) => job.attempts.map((a) => [a.attempt, a.httpStatus, a.error?.split(':')[0] ?? null]);
      for (const job of jobs) {
        expect(job.attempts.every((a) => a.finishedAt !== null)).toBe(true);
        if (REDELIVERED.includes(job.jobType)) {
          // Final exactly once: one attempt answered 200, the killed one closed as WORKER_LOST.
          expect(shape(job)).toEqual([
            [0, null, 'WORKER_LOST'],
            [1, 200, null],
          ]);
          // Retries spent: the completing delivery's Upstash-Retried. 1 is the delivery the kill cut.
          expect(job.retryCount).toBe(1);
          expect(job.diagnosis.verdict).toBe('HEALTHY');
        } else if (job.jobType === 'last-retry') {
          // Its first attempt failed (500), the kill cut its last: the reaper closed that one and
          // re-enqueued the job as a new message, whose first delivery completed it.
          expect(shape(job)).toEqual([
            [0, 500, 'first attempt fails'],
            [1, null, 'WORKER_LOST'],
            [0, 200, null],
          ]);
          expect(job.result?.pid).toBeGreaterThan(0);
        } else {
          // No retry to spend: the reaper closed the lost attempt and failed the job.
          expect(shape(job)).toEqual([[0, null, 'WORKER_LOST']]);
          expect(job.error).toMatch(/^WORKER_LOST: no heartbeat for/);
          expect(job.result).toBeNull();
          // The diagnosis names the guide's scenario: the worker went away mid-run.
          expect(job.diagnosis.verdict).toBe('WORKER_LOST');
          expect(job.diagnosis.summary).toContain('its worker stopped before recording an outcome');
          expect(job.diagnosis.evidence).toContainEqual({ source: 'DATABASE', message: expect.stringMatching(/^Attempt 0 of message .*WORKER_LOST/) });
        }
      }
      const figures = {
        database: databaseKind,
        jobs: jobs.length,
        restartMs: upAt - killedAt,
        recoveredAfterRestartMs: doneAt - upAt,
        recoveredAfterKillMs: doneAt - killedAt,
        // The last job of each type seen final, after the kill.
        finalAfterKillMsByType: Object.fromEntries(
          [...REDELIVERED, ...REAPED].map((type) => [type, Math.max(...jobIds.filter((id) => typeOf.get(id) === type).map((id) => finalAt.get(id)! - killedAt))]),
        ),
        retriesSpent: jobs.map((j) => j.retryCount),
        qstash: await qstashTally(standIn.url),
      };
      const n = JOBS_PER_TYPE;
      // Failed deliveries: the one the kill cut per job, and last-retry's failed first attempt.
      // Dead-lettered: the messages whose last delivery the kill cut (last-retry's and no-retry's).
      // Delivered: the redeliveries and last-retry's new messages.
      expect(figures.qstash).toEqual({ errors: 5 * n, failed: 2 * n, delivered: 3 * n });
      console.log(`[worker-lost] ${JSON.stringify(figures)}`);
      // The redelivery comes 6 s after the kill (the stand-in's first backoff); nothing waits beyond it.
      expect(doneAt - killedAt).toBeLessThan(15_000);
    } finally {
      await server.stop();
    }

    // Final exactly once, as the job event log recorded it: one completed or failed event per job.
    const reopened = database ? undefined : await openDatabase({ kind: 'pglite', dataDir });
    try {
      const handle = database?.handle ?? reopened!;
      const finals = await handle.query<{ job_id: string; n: string }>(
        `SELECT job_id, count(*)::text AS n FROM job_events WHERE type IN ('completed', 'failed') AND job_id = ANY($1::text[]) GROUP BY job_id`,
        [jobIds],
      );
      expect(finals.map((row) => [row.job_id, row.n]).sort()).toEqual(jobIds.map((id) => [id, '1']).sort());
    } finally {
      await reopened?.close();
    }
  }, 150_000);

  it('diagnoses a run whose worker was SIGKILLed as WORKER_LOST while its row still reads processing', async () => {
    // A database and a process of their own; the stand-in is the one inside the killed process, so nothing redelivers.
    const own = database ? await createTestDatabase() : undefined;
    const dataDir = join(scratch, 'pglite-diagnosis');
    const server = await startCli([], {
      cwd: folder.dir,
      env: cliEnv(dataDir, { ...(own?.target.kind === 'postgres' ? { DATABASE_URL: own.target.url } : { DATABASE_URL: '' }), HANG: '1', JOBSCOPE_HEARTBEAT_SECONDS: '0.5' }),
    });
    const { enqueueJob } = await graphqlData<{ enqueueJob: { jobId: string } }, object>(server.url, ENQUEUE, { variables: { type: 'no-retry', n: 0 } });
    const jobId = enqueueJob.jobId;
    await expect.poll(async () => (await graphqlData<{ jobExecution: Job }, object>(server.url, JOB, { variables: { jobId } })).jobExecution.status, { timeout: 30_000 }).toBe('PROCESSING');
    await server.kill();

    // Another instance on the same database, its reaper off so the lost run stays as the kill left it.
    const handle = own?.handle ?? (await openDatabase({ kind: 'pglite', dataDir }));
    const noRetry = defineJob({ type: 'no-retry', endpoint: '/api/jobs/no-retry', schema: z.object({ n: z.number() }), timeoutSeconds: 20, retries: 0, handler: async () => ({}) });
    const reader = await startTestApp(handle, { jobs: [noRetry], env: { JOBSCOPE_HEARTBEAT_SECONDS: '0.5', JOBSCOPE_REAPER_INTERVAL_SECONDS: '0' } });
    try {
      const read = async () => (await graphqlData<{ jobExecution: Job }, object>(reader.baseUrl, JOB, { variables: { jobId } })).jobExecution;
      // Alive until its heartbeats are missed (3 × 0.5 s), then lost.
      await expect.poll(async () => (await read()).diagnosis.verdict, { timeout: 10_000, interval: 200 }).toBe('WORKER_LOST');
      const job = await read();
      expect(job.status).toBe('PROCESSING');
      expect(job.attempts).toEqual([{ attempt: 0, httpStatus: null, error: null, finishedAt: null }]);
      expect(job.diagnosis.summary).toContain('its worker stopped before recording an outcome');
    } finally {
      await reader.close();
      if (own) await own.destroy();
      else await handle.close();
    }
  }, 90_000);
});
