import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN } from '../../src/qstash/dev-credentials.js';
import { ROOT } from '../helpers/build.js';
import { cliEnv, configFolder, startCli, type Running } from '../helpers/cli.js';
import { freePort } from '../helpers/ports.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';

/**
 * The fault test of lost runs: jobscope SIGKILLed with every job mid-run, the QStash stand-in in
 * a process of its own (`npm run qstash:dev`), then jobscope started again on the same port.
 * The handler hangs in the first process only (HANG=1), as a run that the kill interrupts.
 */
const CONFIG = `
import { z } from 'zod';
import { defineConfig, defineJob } from 'jobscope';

const work = async () => {
  if (process.env.HANG === '1') await new Promise((resolve) => setTimeout(resolve, 60_000));
  return { pid: process.pid };
};
const payload = z.object({ n: z.number() });
export default defineConfig({
  jobs: [
    defineJob({ type: 'one-retry', endpoint: '/api/jobs/one-retry', schema: payload, timeoutSeconds: 20, retries: 1, handler: work }),
    defineJob({ type: 'three-retries', endpoint: '/api/jobs/three-retries', schema: payload, timeoutSeconds: 20, retries: 3, handler: work }),
  ],
});
`;

/** QStash's first backoff (12 s) × this = 6 s: jobscope is back before the redelivery, as with the real delays. */
const RETRY_DELAY_FACTOR = '0.5';
const JOBS_PER_TYPE = 4;

const ENQUEUE = `mutation ($type: String!, $n: Int!) { enqueueJob(input: { jobType: $type, payload: { n: $n } }) { jobId } }`;
const JOB = `query ($jobId: ID!) { jobExecution(jobId: $jobId) { status retryCount result attempts { attempt httpStatus error finishedAt } } }`;

interface Job {
  status: string;
  retryCount: number;
  result: { pid: number } | null;
  attempts: { attempt: number; httpStatus: number | null; error: string | null; finishedAt: string | null }[];
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

  it('recovers every run within seconds of the restart, each completing exactly once, spending only the retry the kill itself cost', async () => {
    const port = await freePort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env = (extra: Record<string, string>) =>
      cliEnv(join(scratch, 'pglite'), {
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
    for (const type of ['one-retry', 'three-retries']) {
      for (let n = 0; n < JOBS_PER_TYPE; n++) {
        const data = await graphqlData<{ enqueueJob: { jobId: string } }, object>(server.url, ENQUEUE, { variables: { type, n } });
        jobIds.push(data.enqueueJob.jobId);
      }
    }
    const read = async (url: string) =>
      Promise.all(jobIds.map(async (jobId) => (await graphqlData<{ jobExecution: Job }, object>(url, JOB, { variables: { jobId } })).jobExecution));
    await expect.poll(async () => (await read(server.url)).map((j) => j.status), { timeout: 15_000 }).toEqual(jobIds.map(() => 'PROCESSING'));

    await server.kill();
    const killedAt = Date.now();
    server = await startCli([], { cwd: folder.dir, env: env({}) });
    const upAt = Date.now();
    try {
      await expect.poll(async () => (await read(server.url)).map((j) => j.status), { timeout: 30_000, interval: 100 }).toEqual(jobIds.map(() => 'COMPLETED'));
      const doneAt = Date.now();
      const jobs = await read(server.url);
      for (const job of jobs) {
        // Final exactly once: one attempt answered 200, the killed one closed as WORKER_LOST.
        expect(job.attempts.filter((a) => a.httpStatus === 200)).toHaveLength(1);
        expect(job.attempts.every((a) => a.finishedAt !== null)).toBe(true);
        expect(job.attempts.map((a) => [a.attempt, a.httpStatus, a.error?.split(':')[0] ?? null])).toEqual([
          [0, null, 'WORKER_LOST'],
          [1, 200, null],
        ]);
        // Retries spent: the completing delivery's Upstash-Retried. 1 is the delivery the kill cut.
        expect(job.retryCount).toBe(1);
      }
      const figures = {
        database: databaseKind,
        jobs: jobs.length,
        restartMs: upAt - killedAt,
        recoveredAfterRestartMs: doneAt - upAt,
        recoveredAfterKillMs: doneAt - killedAt,
        retriesSpent: jobs.map((j) => j.retryCount),
        qstash: await qstashTally(standIn.url),
      };
      // One failed delivery per job (the one the kill cut), none dead-lettered.
      expect(figures.qstash).toEqual({ errors: jobs.length, failed: 0, delivered: jobs.length });
      console.log(`[worker-lost] ${JSON.stringify(figures)}`);
      // The redelivery comes 6 s after the kill (the stand-in's first backoff); nothing waits beyond it.
      expect(doneAt - killedAt).toBeLessThan(15_000);
    } finally {
      await server.stop();
    }
  }, 120_000);
});
