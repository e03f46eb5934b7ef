import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROOT } from '../helpers/build.js';
import { cliEnv, configFolder, runCli, startCli } from '../helpers/cli.js';
import { createTestDatabase, databaseKind, type TestDatabase } from '../helpers/db.js';
import { graphqlData } from '../helpers/graphql.js';

/** A team's config, as README shows it: its own job type, a policy, a base path, a port the environment overrides. */
const TEAM_CONFIG = `
import { z } from 'zod';
import { defineConfig, defineJob, NonRetryableJobError } from 'jobscope';

const resizeImage = defineJob({
  type: 'resize-image',
  endpoint: '/api/jobs/resize-image',
  schema: z.object({ url: z.url(), width: z.number().int().positive() }),
  timeoutSeconds: 10,
  retries: 2,
  async handler(payload) {
    if (payload.width > 4000) throw new NonRetryableJobError(\`width \${payload.width} is over 4000\`);
    return { resized: payload.url, width: payload.width };
  },
});

export default defineConfig({
  jobs: [resizeImage],
  port: 65001,
  basePath: '/ops',
  policy: { stuckAfterMinutes: 15 },
});
`;

const JS_CONFIG = `
import { defineConfig, defineJob } from 'jobscope';
import { z } from 'zod';
export default defineConfig({
  jobs: [defineJob({ type: 'ping', endpoint: '/api/jobs/ping', schema: z.object({}), timeoutSeconds: 1, retries: 0, handler: async () => 'pong' })],
});
`;

/** Wrong in every way a file can be: each problem must be named, with the file. */
const BAD_CONFIG = `
export default {
  prot: 4000,
  port: 'eighty',
  policy: { stuckAfterMinutes: -1 },
  apiKeys: { read: [''] },
  jobs: [
    { type: 'resize image', endpoint: 'api/jobs/resize', schema: {}, timeoutSeconds: 0, retries: 1, handler: 'not a function' },
  ],
};
`;

const JOB = `query ($jobId: ID!) { jobExecution(jobId: $jobId) { status result error retryCount attempts { httpStatus } } }`;
const ENQUEUE = `mutation ($width: Int!) { enqueueJob(input: { jobType: "resize-image", payload: { url: "https://example.com/a.png", width: $width } }) { jobId } }`;

describe(`jobscope start on ${databaseKind}`, () => {
  let database: TestDatabase | undefined;
  let scratch: string;
  /** The CLI's database: a fresh PGlite folder, or this test's PostgreSQL database. */
  const env = (extra: Record<string, string> = {}) =>
    cliEnv(join(scratch, `pg-${Math.random().toString(36).slice(2)}`), {
      ...(database?.target.kind === 'postgres' ? { DATABASE_URL: database.target.url } : { DATABASE_URL: '' }),
      ...extra,
    });

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'jobscope-cli-'));
    if (databaseKind === 'postgres') database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("serves a team's jobscope.config.ts from the working directory: its job types, policy and base path; the environment's PORT wins", async () => {
    const folder = configFolder({ 'jobscope.config.ts': TEAM_CONFIG });
    const server = await startCli([], { cwd: folder.dir, env: env() });
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ops$/);
      expect(new URL(server.url).port).not.toBe('65001');
      expect(server.output().stdout).toContain(join(folder.dir, 'jobscope.config.ts'));

      const data = await graphqlData<{ jobTypes: { name: string; endpoint: string }[]; jobHealth: { stuckAfterMinutes: number } }, object>(
        server.url,
        '{ jobTypes { name endpoint } jobHealth { stuckAfterMinutes } }',
      );
      expect(data).toEqual({ jobTypes: [{ name: 'resize-image', endpoint: '/api/jobs/resize-image' }], jobHealth: { stuckAfterMinutes: 15 } });

      // The handler runs in the server; NonRetryableJobError comes from the config's own import.
      const ok = (await graphqlData<{ enqueueJob: { jobId: string } }, { width: number }>(server.url, ENQUEUE, { variables: { width: 640 } })).enqueueJob;
      const tooWide = (await graphqlData<{ enqueueJob: { jobId: string } }, { width: number }>(server.url, ENQUEUE, { variables: { width: 9000 } }))
        .enqueueJob;
      const job = (jobId: string) => graphqlData<{ jobExecution: Record<string, unknown> }, { jobId: string }>(server.url, JOB, { variables: { jobId } });
      await vi.waitFor(async () => expect((await job(ok.jobId)).jobExecution.status).toBe('COMPLETED'), { timeout: 10_000, interval: 50 });
      await vi.waitFor(async () => expect((await job(tooWide.jobId)).jobExecution.status).toBe('FAILED'), { timeout: 10_000, interval: 50 });
      expect((await job(ok.jobId)).jobExecution).toMatchObject({ result: { resized: 'https://example.com/a.png', width: 640 } });
      expect((await job(tooWide.jobId)).jobExecution).toEqual({
        status: 'FAILED',
        result: null,
        error: 'width 9000 is over 4000',
        retryCount: 0,
        attempts: [{ httpStatus: 489 }],
      });
    } finally {
      expect(await server.stop()).toBe(0);
      folder.remove();
    }
  });

  it('logs a promise rejection nobody handles, with its stack, and keeps serving: the run that caused it completes', async () => {
    const folder = configFolder({
      'jobscope.config.mjs': `
import { defineConfig, defineJob } from 'jobscope';
import { z } from 'zod';
export default defineConfig({
  jobs: [defineJob({ type: 'careless', endpoint: '/api/jobs/careless', schema: z.object({}), timeoutSeconds: 5, retries: 0,
    handler: async () => { void Promise.reject(new Error('a promise the handler forgot')); return 'done'; } })],
});
`,
    });
    const server = await startCli([], { cwd: folder.dir, env: env() });
    try {
      const { jobId } = (await graphqlData<{ enqueueJob: { jobId: string } }, object>(server.url, 'mutation { enqueueJob(input: { jobType: "careless", payload: {} }) { jobId } }')).enqueueJob;
      await vi.waitFor(() => expect(server.output().stdout).toContain('[jobscope] Unhandled promise rejection'), { timeout: 10_000, interval: 50 });
      const out = server.output().stdout;
      const logged = out.slice(out.indexOf('[jobscope] Unhandled promise rejection'));
      expect(logged.split('\n')[0]).toContain('a promise the handler forgot');
      expect(logged).toMatch(/\n\s+at .*jobscope\.config\.mjs/); // the stack, on the lines after, names where it came from
      const status = async () =>
        (await graphqlData<{ jobExecution: { status: string } }, { jobId: string }>(server.url, JOB, { variables: { jobId } })).jobExecution.status;
      await vi.waitFor(async () => expect(await status()).toBe('COMPLETED'), { timeout: 10_000, interval: 50 });
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      expect(await server.stop()).toBe(0);
      folder.remove();
    }
  });

  it('takes --config with a JavaScript file from elsewhere, and without any config serves the shipped examples', async () => {
    const folder = configFolder({ 'jobs.mjs': JS_CONFIG });
    const withConfig = await startCli(['--config', join(folder.dir, 'jobs.mjs')], { cwd: scratch, env: env() });
    const withNone = await startCli([], { cwd: scratch, env: env() });
    try {
      const names = async (url: string) => (await graphqlData<{ jobTypes: { name: string }[] }, object>(url, '{ jobTypes { name } }')).jobTypes.map((t) => t.name);
      expect(await names(withConfig.url)).toEqual(['ping']);
      expect(await names(withNone.url)).toEqual(['send-email', 'generate-report']);
      expect(withNone.output().stdout).toContain('(none: the example job types)');
    } finally {
      expect(await withConfig.stop()).toBe(0);
      expect(await withNone.stop()).toBe(0);
      folder.remove();
    }
  });

  it('reports every problem of a bad config file with its path, and exits 1', async () => {
    const folder = configFolder({ 'jobscope.config.mjs': BAD_CONFIG });
    const result = await runCli(['start'], { cwd: folder.dir, env: env() });
    expect(result.code).toBe(1);
    const lines = result.stderr.split('\n');
    expect(lines[0]).toBe(`Invalid configuration in ${join(folder.dir, 'jobscope.config.mjs')}:`);
    const problems = lines.filter((l) => l.startsWith('  - ')).map((l) => l.slice(4));
    expect(problems).toEqual([
      'jobscope.config.mjs: jobs[0] ("resize image").type: must be a name of letters, digits, ".", "_", ":" or "-"',
      'jobscope.config.mjs: jobs[0] ("resize image").endpoint: must be a path starting with /, e.g. /api/jobs/email',
      'jobscope.config.mjs: jobs[0] ("resize image").schema: must be a zod schema',
      'jobscope.config.mjs: jobs[0] ("resize image").timeoutSeconds: Too small: expected number to be >0',
      'jobscope.config.mjs: jobs[0] ("resize image").handler: must be a function',
      // The file's port problem is hidden: PORT (0 here) overrides it.
      'jobscope.config.mjs: apiKeys.read.0: Too small: expected string to have >=1 characters',
      'jobscope.config.mjs: policy.stuckAfterMinutes: Too small: expected number to be >0',
      'jobscope.config.mjs: unknown option "prot"',
    ]);
    const withoutPort = await runCli(['start'], { cwd: folder.dir, env: { ...env(), PORT: '' } });
    expect(withoutPort.stderr).toContain('  - jobscope.config.mjs: port: Invalid input: expected number, received string');
    expect(result.stderr).not.toMatch(/\n\s+at /); // a reason, not a stack trace
    folder.remove();
  });

  it('names a bad environment variable over a good file, a missing file and a file that does not load', async () => {
    const folder = configFolder({ 'jobscope.config.ts': TEAM_CONFIG, 'broken.ts': 'export default {' });
    try {
      const badPort = await runCli(['start'], { cwd: folder.dir, env: env({ PORT: 'eighty' }) });
      expect(badPort.code).toBe(1);
      expect(badPort.stderr).toContain('  - PORT: ');

      const missing = await runCli(['start', '--config', 'nowhere.ts'], { cwd: folder.dir, env: env() });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`config file not found: ${join(folder.dir, 'nowhere.ts')}`);

      const broken = await runCli(['start', '--config', 'broken.ts'], { cwd: folder.dir, env: env() });
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain(`Invalid configuration in ${join(folder.dir, 'broken.ts')}:`);
      expect(broken.stderr).toContain('could not load it');
    } finally {
      folder.remove();
    }
  });

  it('answers usage errors with exit 2, and --version with the package version', async () => {
    const unknown = await runCli(['frobnicate'], { cwd: scratch, env: env() });
    expect(unknown).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
    const badPort = await runCli(['start', '--port', 'abc'], { cwd: scratch, env: env() });
    expect(badPort).toMatchObject({ code: 2, stderr: expect.stringContaining('--port must be a port number') });
    const badFlag = await runCli(['start', '--frob'], { cwd: scratch, env: env() });
    expect(badFlag.code).toBe(2);
    const version = await runCli(['--version'], { cwd: scratch, env: env() });
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(version).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });
});
