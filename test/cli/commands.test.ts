import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { defineJob } from '../../src/jobs/registry.js';
import { hasStatus, useTestApp, waitForJob } from '../helpers/app.js';
import { ROOT } from '../helpers/build.js';
import { configFolder, runCli, runCliInTerminal, type Finished } from '../helpers/cli.js';
import { inArray } from 'drizzle-orm';
import { jobExecutions } from '../../src/db/schema.js';
import { databaseKind } from '../helpers/db.js';

/** Fails with an ECONNRESET while `upstreamDown`; a retry after the upstream is back completes. */
let upstreamDown = true;
const flakyJob = defineJob({
  type: 'flaky',
  endpoint: '/api/jobs/flaky',
  schema: z.object({ n: z.number().int() }),
  timeoutSeconds: 5,
  retries: 0,
  async handler({ n }) {
    if (upstreamDown) throw new Error(`read ECONNRESET (call ${n})`);
    return { n };
  },
});

const OPERATE = 'cli-operate-key';
const READ = 'cli-read-key';

describe(`the jobscope client commands on ${databaseKind}`, () => {
  const t = useTestApp({
    jobs: [flakyJob],
    env: { JOBSCOPE_OPERATE_KEYS: `ops:${OPERATE}`, JOBSCOPE_READ_KEYS: READ, JOBSCOPE_BULK_RATE_PER_SECOND: '20' },
  });
  /** The built binary against the test's server, with the operate key unless `key` says otherwise. */
  const cli = (args: string[], key: string = OPERATE): Promise<Finished> =>
    runCli(args, {
      cwd: ROOT,
      env: { PATH: process.env['PATH'], NO_COLOR: '1', JOBSCOPE_URL: `${t.app.baseUrl}/graphql`, JOBSCOPE_API_KEY: key },
    });
  const json = <T = Record<string, unknown>>(run: Finished): T => {
    expect(run.stderr, run.stderr).toBe('');
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as T;
  };
  const enqueued: string[] = [];

  it('enqueues from inline JSON and from @file, and the jobs fail through the real pipeline', async () => {
    const folder = configFolder();
    try {
      writeFileSync(join(folder.dir, 'payload.json'), JSON.stringify({ n: 2 }));
      const inline = await cli(['enqueue', 'flaky', '--payload', '{"n":1}']);
      expect(inline.code).toBe(0);
      expect(inline.stdout).toMatch(/^[0-9a-f-]{36} {2}flaky {2}PENDING\n$/);
      enqueued.push(inline.stdout.split(' ')[0]!);
      for (const n of [2, 3]) {
        const fromFile = json<{ jobId: string; jobType: string; status: string }>(await cli(['enqueue', 'flaky', '--payload', `@${join(folder.dir, 'payload.json')}`, '--json']));
        expect(fromFile).toMatchObject({ jobType: 'flaky', status: 'PENDING' });
        enqueued.push(fromFile.jobId);
      }
      for (const jobId of enqueued) await waitForJob(t.database.handle, jobId, hasStatus('failed'));

      const missing = await cli(['enqueue', 'flaky', '--payload', '@nowhere.json']);
      expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('cannot read nowhere.json: ENOENT') });
      const badType = await cli(['enqueue', 'nope', '--payload', '{}']);
      expect(badType).toMatchObject({ code: 2, stderr: expect.stringContaining('(UNKNOWN_JOB_TYPE)') });
      const badPayload = await cli(['enqueue', 'flaky', '--payload', '{"n":"x"}']);
      expect(badPayload).toMatchObject({ code: 2, stderr: expect.stringContaining('(INVALID_PAYLOAD)') });
    } finally {
      folder.remove();
    }
  });

  it('lists and filters jobs as an aligned table and as JSON', async () => {
    const table = await cli(['list', '--status', 'failed', '--type', 'flaky', '--error-contains', 'econnreset', '--since', '1h']);
    expect(table.code).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^JOB ID +TYPE +STATUS +RETRIES +CREATED +DURATION +ERROR$/);
    expect(rows.slice(0, 3).map((r) => r.split(/ {2,}/)[0]).sort()).toEqual([...enqueued].sort());
    expect(header!.indexOf('STATUS')).toBe(rows[0]!.indexOf('FAILED'));
    expect(rows.at(-1)).toBe('3 of 3 shown');

    const limited = json<{ totalCount: number; nodes: { jobId: string; status: string; error: string }[] }>(await cli(['list', '--type', 'flaky', '--limit', '2', '--json']));
    expect(limited.totalCount).toBe(3);
    expect(limited.nodes).toHaveLength(2);
    expect(limited.nodes[0]).toMatchObject({ status: 'FAILED', error: expect.stringContaining('ECONNRESET') });
    const none = json<{ totalCount: number }>(await cli(['list', '--status', 'completed', '--json'], READ));
    expect(none.totalCount).toBe(0);
  });

  it('shows one job with its attempts, diagnosis and logs; an unknown id exits 3', async () => {
    const jobId = enqueued[0]!;
    const human = await cli(['get', jobId], READ);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^Job: +${jobId}\nType: +flaky\nStatus: +FAILED\n`));
    expect(human.stdout).toContain('\nAttempts\n');
    expect(human.stdout).toMatch(/\n {2}0 +\S+ +500 /);
    expect(human.stdout).toMatch(/\nDiagnosis: HANDLER_ERROR/);
    const job = json<{ jobId: string; attempts: unknown[]; diagnosis: { verdict: string }; logs: { message: string }[] }>(await cli(['get', jobId, '--json'], READ));
    expect(job).toMatchObject({ jobId, attempts: [{ attempt: 0, httpStatus: 500 }], diagnosis: { verdict: 'HANDLER_ERROR' } });
    expect(job.logs.length).toBeGreaterThan(0);

    const missing = await cli(['get', 'no-such-job', '--json'], READ);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stdout)).toEqual({ error: { message: 'no job no-such-job', code: 'JOB_NOT_FOUND', exitCode: 3 } });
    expect((await cli(['retry', 'no-such-job'])).code).toBe(3);
  });

  it('reports stats, health and the checklist', async () => {
    const stats = json<{ jobType: string; status: string; count: number }[]>(await cli(['stats', '--type', 'flaky', '--json'], READ));
    expect(stats).toEqual([expect.objectContaining({ jobType: 'flaky', status: 'FAILED', count: 3 })]);
    const table = await cli(['stats', '--since', '7d'], READ);
    expect(table.stdout.split('\n')[0]).toMatch(/^TYPE +STATUS +COUNT +AVG +P50 +P95$/);

    // Three failures of three in the window: UNHEALTHY, exit 1, in either form.
    const health = await cli(['health'], READ);
    expect(health.code).toBe(1);
    expect(health.stdout).toMatch(/^Status: +UNHEALTHY\n/);
    expect(health.stdout).toMatch(/\nFailed: +3 \(100\.0 %; threshold/);
    const healthJson = await cli(['health', '--json'], READ);
    expect(healthJson.code).toBe(1);
    expect(JSON.parse(healthJson.stdout)).toMatchObject({ ok: false, health: { status: 'UNHEALTHY', failedJobs: 3, totalJobs: 3 } });

    const doctor = await cli(['doctor', '--json'], READ);
    const check = JSON.parse(doctor.stdout) as { status: string; groups: { items: { name: string }[] }[] };
    expect(doctor.code).toBe(check.status === 'FAIL' ? 1 : 0);
    expect(check.groups.flatMap((g) => g.items.map((i) => i.name))).toContain('failure-rate:flaky');
    const human = await cli(['doctor'], READ);
    expect(human.stdout).toMatch(/\nOverall: (PASS|WARN|FAIL) \(\d+ ms\)\n$/);
  });

  it('refuses a wrong key (4), a read key asked to operate (4), an unreachable server (5)', async () => {
    const wrong = await cli(['list'], 'not-a-key');
    expect(wrong).toMatchObject({ code: 4, stdout: '', stderr: 'jobscope: Missing or unknown API key: send "Authorization: Bearer <key>" (UNAUTHENTICATED)\n' });
    expect((await cli(['tail'], 'not-a-key')).code).toBe(4);
    const readOnly = await cli(['retry', enqueued[0]!], READ);
    expect(readOnly).toMatchObject({ code: 4, stderr: expect.stringContaining('(FORBIDDEN)') });
    const down = await runCli(['health', '--url', 'http://127.0.0.1:9/graphql'], { cwd: ROOT, env: { PATH: process.env['PATH'] } });
    expect(down).toMatchObject({ code: 5, stderr: expect.stringContaining('cannot reach http://127.0.0.1:9/graphql') });
  });

  it('answers bad flags with a clear message and exit 2', async () => {
    const cases: [string[], string][] = [
      [['list', '--since', 'yesterday'], `argument 'yesterday' is invalid. expected a duration like 1h or an ISO 8601 time`],
      [['list', '--status', 'broken'], 'expected one of pending, processing, retrying, completed, failed, cancelled, got "broken"'],
      [['list', '--limit', '-3'], `argument '-3' is invalid`],
      [['list', '--frob'], "unknown option '--frob'"],
      [['enqueue', 'flaky'], "required option '--payload <json>' not specified"],
      [['enqueue', 'flaky', '--payload', '{n:1}'], 'not JSON'],
      [['get'], "missing required argument 'jobId'"],
      [['retry'], 'retry needs a job id or filter flags'],
      [['cancel', 'some-id', '--status', 'pending'], 'cancel takes a job id or filter flags, not both'],
      [['retry', '--status', 'failed'], 'not asking without a terminal: pass --yes'],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args);
      expect(run.stderr, args.join(' ')).toContain(message);
      expect(run.code, args.join(' ')).toBe(2);
    }
  });

  it('bulk-retries with a dry run first, then with a progress bar to the end', async () => {
    const filter = ['--status', 'failed', '--type', 'flaky', '--since', '1h', '--error-contains', 'ECONNRESET'];
    const dry = await cli(['retry', ...filter, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n')[0]).toBe('3 failed, cancelled or stuck jobs match:');
    expect(dry.stdout).toMatch(/\nJOB ID +TYPE +STATUS +ERROR\n/);
    const dryJson = json<{ dryRun: boolean; matched: number; sample: unknown[] }>(await cli(['retry', ...filter, '--dry-run', '--json']));
    expect(dryJson).toMatchObject({ dryRun: true, matched: 3, id: null });
    expect(dryJson.sample).toHaveLength(3);

    upstreamDown = false;
    const run = await cli(['retry', ...filter, '--yes']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/100% \| 3\/3 jobs \| COMPLETED/);
    expect(run.stdout).toMatch(/\nBulk retry \S+: COMPLETED, 3 succeeded, 0 failed of 3\n$/);
    for (const jobId of enqueued) await waitForJob(t.database.handle, jobId, hasStatus('completed'));

    const again = json<{ matched: number }>(await cli(['retry', ...filter, '--yes', '--json']));
    expect(again).toMatchObject({ matched: 0 });
  });

  it('cancels one job by id and a bulk set by filter', async () => {
    const delayed = async () => json<{ jobId: string }>(await cli(['enqueue', 'flaky', '--payload', '{"n":9}', '--delay', '3600', '--json'])).jobId;
    const one = await delayed();
    const cancelled = json<{ jobId: string; status: string }>(await cli(['cancel', one, '--json']));
    expect(cancelled).toEqual({ jobId: one, status: 'CANCELLED' });
    const twice = await cli(['cancel', one]);
    expect(twice).toMatchObject({ code: 1, stderr: expect.stringContaining('(JOB_NOT_CANCELLABLE)') });

    const [a, b] = [await delayed(), await delayed()];
    // At a terminal, without --yes, it shows the matched jobs and asks; anything but y does nothing.
    const terminal = (answer: string) =>
      runCliInTerminal(['cancel', '--status', 'pending', '--type', 'flaky'], {
        cwd: ROOT,
        env: { PATH: process.env['PATH'], NO_COLOR: '1', JOBSCOPE_URL: `${t.app.baseUrl}/graphql`, JOBSCOPE_API_KEY: OPERATE },
        prompt: '[y/N]',
        answer,
      });
    const declined = await terminal('n');
    expect(declined).toMatchObject({ code: 0, prompted: true });
    expect(declined.output).toContain('2 pending or retrying jobs match:');
    expect(declined.output).toContain('cancel 2 jobs? [y/N] ');
    expect(declined.output).toContain('Nothing done.');
    const untouched = await t.database.handle.db.select().from(jobExecutions).where(inArray(jobExecutions.jobId, [a!, b!]));
    expect(untouched.map((row) => row.status)).toEqual(['pending', 'pending']);
    const accepted = await terminal('y');
    expect(accepted).toMatchObject({ code: 0, prompted: true });
    expect(accepted.output).toMatch(/Bulk cancel \S+: COMPLETED, 2 succeeded, 0 failed of 2/);
    for (const jobId of [a, b]) await waitForJob(t.database.handle, jobId!, hasStatus('cancelled'));
    const [c, d] = [await delayed(), await delayed()];
    const bulk = json<{ status: string; matched: number; succeeded: number }>(await cli(['cancel', '--status', 'pending', '--type', 'flaky', '--yes', '--json']));
    expect(bulk).toMatchObject({ status: 'COMPLETED', matched: 2, succeeded: 2 });
    for (const jobId of [c, d]) await waitForJob(t.database.handle, jobId, hasStatus('cancelled'));
  });

  it('tails job events over SSE, one JSON line per event', async () => {
    const tail = cli(['tail', '--type', 'flaky', '--count', '2', '--json'], READ);
    let finished = false;
    void tail.then(() => (finished = true));
    // The subscription opens asynchronously: enqueue until events arrive (each job gives several).
    while (!finished) {
      await cli(['enqueue', 'flaky', '--payload', '{"n":10}']);
      await Promise.race([tail, new Promise((resolve) => setTimeout(resolve, 200))]);
    }
    const run = await tail;
    expect(run.code).toBe(0);
    const events = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ jobType: 'flaky', type: expect.stringMatching(/^[A-Z]+$/), occurredAt: expect.any(String) });
  });
});
