import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { openDatabase } from '../src/db/client.js';

/** Load generation against servers in their own processes, each pinned to one core. */

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface ServerProcess {
  name: string;
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** `command` pinned to `core` with taskset, unless taskset is missing or BENCH_NO_PIN is set. */
function pinned(command: string[], core: number): string[] {
  return existsSync('/usr/bin/taskset') && !process.env.BENCH_NO_PIN ? ['taskset', '-c', String(core), ...command] : command;
}

/** Readiness by a TCP connection alone (servers that answer nothing but their own protocol). */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

/**
 * Spawns `command` from the repository root, pinned to `core` (taskset), with PORT set, and waits
 * until `ready(url)` answers. The load generator and PostgreSQL run on the other core.
 */
export async function startServer(
  name: string,
  command: string[],
  { env, core = 0, port: given, ready }: { env: Record<string, string>; core?: number; port?: number; ready: (url: string) => Promise<boolean> },
): Promise<ServerProcess> {
  const port = given ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  // BENCH_CPU_PROF=<dir>: jobscope's own server writes a V8 CPU profile there when it stops, so a
  // figure can be explained from the run that produced it ("profile before you optimise").
  const profiled = process.env.BENCH_CPU_PROF && name === 'jobscope' && command[0] === 'node'
    ? ['node', '--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, ...command.slice(1)]
    : command;
  const [executable, ...args] = pinned(profiled, core);
  const child: ChildProcess = spawn(executable!, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${stderr}`);
    if (Date.now() > deadline) throw new Error(`${name} did not answer within 30 s: ${stderr}`);
    if (await ready(url).catch(() => false)) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // taskset execs the command, so the pid is the server's own.
  return {
    name,
    url,
    port,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** User + system CPU time of a process so far, in milliseconds (Linux /proc). */
export function cpuMillis(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/**
 * User + system CPU time of every PostgreSQL process on this machine so far (its backends: one per
 * connection), in milliseconds. Backends that exit in between take their time with them, so it is
 * read around rounds over pooled connections, which stay open.
 */
export function postgresCpuMillis(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const fields = stat.split(') ')[1]!.split(' ');
      total += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
    } catch {
      // Gone in between.
    }
  }
  return total;
}

/** Resident set size of a process, in MiB. */
export function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  /** Server CPU per answered request, ms. */
  cpuPerRequest: number;
  /** PostgreSQL's CPU per answered request, ms (all its processes on this machine). */
  dbCpuPerRequest: number;
  errors: number;
}

export interface LoadRequest {
  path: string;
  body?: string;
  headers?: Record<string, string>;
  /** A fresh request each time (autocannon's setupRequest): its body and extra headers. */
  fresh?: () => { body: string; headers: Record<string, string> };
}

/** autocannon at `connections` for `seconds`; every response must be a 200. */
export async function load(server: ServerProcess, request: LoadRequest, { connections, seconds }: { connections: number; seconds: number }): Promise<LoadResult> {
  const cpuBefore = cpuMillis(server.pid);
  const dbCpuBefore = postgresCpuMillis();
  const headers = { 'content-type': 'application/json', ...request.headers };
  const result = await autocannon({
    url: server.url + request.path,
    method: 'POST',
    headers,
    body: request.body,
    connections,
    duration: seconds,
    ...(request.fresh
      ? {
          requests: [
            {
              setupRequest: (req: autocannon.Request) => {
                const fresh = request.fresh!();
                return { ...req, body: fresh.body, headers: { ...headers, ...fresh.headers } };
              },
            },
          ],
        }
      : {}),
  });
  const cpu = cpuMillis(server.pid) - cpuBefore;
  const dbCpu = postgresCpuMillis() - dbCpuBefore;
  const answered = result['2xx'];
  return {
    requests: answered,
    rps: answered / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerRequest: answered ? cpu / answered : NaN,
    dbCpuPerRequest: answered ? dbCpu / answered : NaN,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

/**
 * A scratch database `name` on the server of `databaseUrl`, created if missing (dropped first
 * when `fresh`); resolves to its URL.
 */
export async function scratchDatabase(databaseUrl: string, name: string, { fresh = false } = {}): Promise<string> {
  const admin = await openDatabase({ kind: 'postgres', url: databaseUrl }, { maxConnections: 1 });
  try {
    if (fresh) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.length === 0) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.close();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * jobscope as a production deployment runs it, with credentials that reach nothing: QStash is
 * never called by the load cases. NODE_ENV too, so graphql-js skips its development checks.
 */
export const PRODUCTION_ENV: Readonly<Record<string, string>> = {
  JOBSCOPE_ENV: 'production',
  NODE_ENV: 'production',
  QSTASH_TOKEN: 'bench-token',
  QSTASH_URL: 'http://127.0.0.1:9',
  LOG_DIR: 'off',
  LOG_LEVEL: 'warn',
  ALERT_INTERVAL_SECONDS: '0',
};

/**
 * The limit and jobscope under the same load, a short uncounted warm-up each, then `rounds`
 * rounds in alternation (a slow moment of the machine hits both alike); the median round of each.
 */
export async function alternate(
  run: (server: ServerProcess, seconds: number) => Promise<LoadResult>,
  limit: ServerProcess,
  jobscope: ServerProcess,
  { rounds, seconds }: { rounds: number; seconds: number },
): Promise<{ limit: LoadResult; jobscope: LoadResult }> {
  await run(limit, 1);
  await run(jobscope, 1);
  const results = { limit: [] as LoadResult[], jobscope: [] as LoadResult[] };
  for (let round = 0; round < rounds; round++) {
    results.limit.push(await run(limit, seconds));
    results.jobscope.push(await run(jobscope, seconds));
  }
  const median = (list: LoadResult[]) => [...list].sort((a, b) => a.rps - b.rps)[Math.floor(list.length / 2)]!;
  return { limit: median(results.limit), jobscope: median(results.jobscope) };
}
