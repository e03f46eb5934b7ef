import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Load generation against servers in their own processes, each pinned to one core. */

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface ServerProcess {
  name: string;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Spawns `command` pinned to `core` (taskset) with PORT set, and waits until `ready(url)`
 * answers. The load generator and PostgreSQL run on the other core.
 */
export async function startServer(
  name: string,
  command: string[],
  { env, core = 0, port: given, ready }: { env: Record<string, string>; core?: number; port?: number; ready: (url: string) => Promise<boolean> },
): Promise<ServerProcess> {
  const port = given ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('taskset', ['-c', String(core), ...command], {
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
    await new Promise((r) => setTimeout(r, 100));
  }
  // taskset execs the command, so the pid is the server's own.
  return {
    name,
    url,
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
  const answered = result['2xx'];
  return {
    requests: answered,
    rps: answered / seconds,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuPerRequest: answered ? cpu / answered : NaN,
    errors: result.non2xx + result.errors + result.timeouts,
  };
}
