import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './build.js';

/** The compiled command, as `npx jobscope` runs it. */
export const CLI = join(ROOT, 'dist', 'cli', 'index.js');

/**
 * A folder for config files inside the repository (git-ignored), so that `import … from 'jobscope'`
 * in them resolves to this package, as it does in a project that installed it.
 */
export function configFolder(files: Record<string, string> = {}): { dir: string; remove(): void } {
  mkdirSync(join(ROOT, '.tmp'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.tmp', 'cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The environment of a CLI run, from nothing (vitest's own, e.g. Vite's BASE_URL=/, must not
 * leak in): port 0, no log files, no alert checks, PGlite in `dataDir`.
 */
export function cliEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_DIR: 'off',
    ALERT_INTERVAL_SECONDS: '0',
    PGLITE_DIR: dataDir,
    NO_COLOR: '1',
    ...extra,
  };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command to its end (usage errors, bad configs). */
export async function runCli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Finished> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: options.env });
  const out = collect(child);
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, ...out() };
}

export interface Running {
  /** The URL the server printed in its start-up line. */
  url: string;
  output: () => { stdout: string; stderr: string };
  /** SIGTERM, then the exit code of a clean shutdown. */
  stop(): Promise<number | null>;
  /** SIGKILL (a crash: nothing is drained or recorded), resolved once the process is gone. */
  kill(): Promise<void>;
}

/** Starts `jobscope start …` and waits for its "Listening on" line. */
export async function startCli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Running> {
  const child = spawn(process.execPath, [CLI, 'start', ...args], { cwd: options.cwd, env: options.env });
  const out = collect(child);
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up line in 30 s:\n${JSON.stringify(out())}`)), 30_000);
    const check = () => {
      const match = /Listening on (http:\/\/[^\s,]+)/.exec(out().stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${out().stderr}${out().stdout}`));
    });
  });
  return {
    url,
    output: out,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

function collect(child: ChildProcess): () => { stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return () => ({ stdout, stderr });
}

/** A word for the shell: single-quoted. */
const shellWord = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/**
 * Runs the command in a pseudo-terminal (util-linux `script`), as a person at a terminal runs
 * it, and types `answer` and Enter once the output shows `prompt`. The terminal merges stdout and
 * stderr into `output`, and `script` passes on the command's exit code.
 */
export async function runCliInTerminal(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; prompt: string; answer: string }): Promise<{ code: number | null; output: string; prompted: boolean }> {
  const command = [process.execPath, CLI, ...args].map(shellWord).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], { cwd: options.cwd, env: { ...options.env, TERM: 'dumb' } });
  let output = '';
  let prompted = false;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (!prompted && output.includes(options.prompt)) {
      prompted = true;
      child.stdin.write(`${options.answer}\r`);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output: output.replaceAll('\r', ''), prompted };
}
