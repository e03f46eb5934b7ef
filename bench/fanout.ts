import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { cpuMillis, freePort, listening, rssMiB, startServer as startProcess, type ServerProcess } from './load.js';

/**
 * The jobEvents fan-out (issue 7): N SSE subscribers over loopback, events from real writes to
 * job_executions (the NOTIFY trigger fires), every event counted at every subscriber, p99 from the
 * event's `occurredAt` (the trigger's clock_timestamp()) to its arrival at the client. Beside it, in
 * the same run and alternating with it, the floor: a bare node:http server that LISTENs on the same
 * channel with postgres.js and writes each payload to every response.
 *
 * Each server runs in its own process, pinned to core 1 (taskset) when it can; the clients and the
 * writer run here. Memory is the server process's resident set (/proc/<pid>/status VmRSS).
 */

const QUERY = 'subscription { jobEvents { type jobId jobType status occurredAt } }';

const BARE_SERVER = `
import { createServer } from 'node:http';
import postgres from 'postgres';
const sql = postgres(process.env.DATABASE_URL, { onnotice: () => {} });
const clients = new Set();
await sql.listen('jobscope_job_events', (payload) => {
  const message = 'event: next\\ndata: {"data":{"jobEvents":' + payload + '}}\\n\\n';
  for (const res of clients) res.write(message);
});
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.write(':\\n\\n');
  clients.add(res);
  res.on('close', () => clients.delete(res));
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.closeAllConnections(); server.close(); sql.end().then(() => process.exit(0)); });
`;

interface Server extends ServerProcess {
  /** Request bytes that open one subscription. */
  request: string;
}

/** A server on core 1 (the clients and the writer stay off it), ready once it accepts connections. */
async function startServer(name: string, command: string[], env: Record<string, string>, request: (port: number) => string): Promise<Server> {
  const port = await freePort();
  const server = await startProcess(name, command, { env, core: 1, port, ready: () => listening(port) });
  return { ...server, request: request(port) };
}

const cpuSeconds = (pid: number) => cpuMillis(pid) / 1000;

/** Latencies in 1 ms buckets up to a minute; the last bucket takes everything later. */
class Histogram {
  private readonly buckets = new Uint32Array(60_001);
  count = 0;
  add(ms: number): void {
    this.buckets[Math.min(60_000, Math.max(0, Math.round(ms)))]!++;
    this.count++;
  }
  quantile(q: number): number {
    const target = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= target && seen > 0) return i;
    }
    return NaN;
  }
}

const NEXT = Buffer.from('event: next');
const ERRORS = Buffer.from('"errors"');
// `"occurredAt":"…"` from GraphQL, `"occurredAt" : "…"` from json_build_object.
const OCCURRED = Buffer.from('"occurredAt"');

/** N raw SSE clients: a socket each, counting `event: next` messages and timing them by occurredAt. */
class Subscribers {
  readonly sockets: Socket[] = [];
  readonly received: number[] = [];
  readonly histogram = new Histogram();
  /** occurredAt strings parsed once for all subscribers. */
  private readonly parsed = new Map<string, number>();
  errors = 0;
  other = '';

  /**
   * Every subscriber counts its events; latency is taken at every subscriber up to 1,000 and at an
   * evenly spread 1,000 of them beyond (every 5th of 5,000): the clients share this machine's two
   * cores with the server, and parsing every timestamp at 5,000 cost them more than the server's work.
   */
  private sampleEvery = 1;

  async open(server: Server, n: number): Promise<void> {
    this.sampleEvery = Math.max(1, Math.ceil(n / 1000));
    const batch = 100;
    for (let i = 0; i < n; i += batch) {
      await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => this.openOne(server, i + j)));
    }
  }

  private openOne(server: Server, index: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.received[index] = 0;
      const timed = index % this.sampleEvery === 0;
      const socket = connect(server.port, '127.0.0.1');
      this.sockets[index] = socket;
      let pending: Buffer | undefined;
      let opened = false;
      socket.setNoDelay(true);
      socket.on('error', (error) => (opened ? this.errors++ : reject(error)));
      socket.on('connect', () => socket.write(server.request));
      // Buffers scanned as they are: decoding each chunk to a string cost more than the servers' writes.
      socket.on('data', (chunk: Buffer) => {
        const now = Date.now();
        let buf = pending ? Buffer.concat([pending, chunk]) : chunk;
        pending = undefined;
        if (!opened) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) {
            pending = buf;
            return;
          }
          if (!buf.toString('latin1', 0, 12).startsWith('HTTP/1.1 200')) return reject(new Error(`${server.name}: ${buf.toString('utf8', 0, 300)}`));
          opened = true;
          buf = buf.subarray(end + 4);
          resolve();
        }
        if (this.other.length < 500 && buf.includes(ERRORS)) this.other += buf.toString('utf8', 0, 500);
        let at = 0;
        for (;;) {
          const next = buf.indexOf(NEXT, at);
          if (next < 0) {
            // A message may begin in this chunk's last bytes: keep a tail as long as the marker.
            const tail = buf.length - NEXT.length;
            if (tail > at && buf.indexOf(0x65, tail) >= 0) pending = Buffer.from(buf.subarray(tail));
            break;
          }
          if (!timed) {
            this.received[index]!++;
            at = next + NEXT.length;
            continue;
          }
          const field = buf.indexOf(OCCURRED, next);
          const open = field < 0 ? -1 : buf.indexOf(0x22, field + OCCURRED.length);
          const close = open < 0 ? -1 : buf.indexOf(0x22, open + 1);
          if (close < 0) {
            pending = Buffer.from(buf.subarray(next));
            break;
          }
          const stamp = buf.toString('latin1', open + 1, close);
          let time = this.parsed.get(stamp);
          if (time === undefined) {
            time = Date.parse(stamp);
            this.parsed.set(stamp, time);
          }
          this.histogram.add(now - time);
          this.received[index]!++;
          at = close;
        }
      });
    });
  }

  total(): number {
    let sum = 0;
    for (const n of this.received) sum += n;
    return sum;
  }

  close(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}

interface Outcome {
  server: string;
  subscribers: number;
  events: number;
  missed: number;
  p50: number;
  p99: number;
  max: number;
  rssMiB: number;
  /** With every subscriber connected, before the first event. */
  connectedRssMiB: number;
  /** Share of one core used while events flowed (until the last arrived). */
  serverCpu: number;
  clientCpu: number;
}

/** One round: N subscribers on `server`, `rate` events/s for `seconds`, then wait for the stragglers. */
async function round(server: Server, sql: postgres.Sql, n: number, rate: number, seconds: number): Promise<Outcome> {
  const subscribers = new Subscribers();
  await subscribers.open(server, n);
  // Let the server settle (every subscription held) before the first event.
  await new Promise((r) => setTimeout(r, 1_000));
  const connectedRss = rssMiB(server.pid);
  const events = rate * seconds;
  const serverCpu = cpuSeconds(server.pid);
  const clientCpu = process.cpuUsage();
  const started = Date.now();
  let written = 0;
  const writes: Promise<unknown>[] = [];
  await new Promise<void>((resolve) => {
    const tick = () => {
      // Catch up on the schedule rather than drift: event i is due at started + i / rate.
      const due = Math.min(events, Math.floor(((Date.now() - started) * rate) / 1000) + 1);
      while (written < due) {
        const jobId = randomUUID();
        written++;
        // postgres.js sends a query when it is awaited or executed: unexecuted, these went out as one burst at the end.
        writes.push(sql`INSERT INTO job_executions (job_id, job_type, payload) VALUES (${jobId}, 'bench-fanout', ${sql.json({ jobId })})`.execute());
      }
      if (written >= events) resolve();
      else setTimeout(tick, Math.max(0, started + (written * 1000) / rate - Date.now()));
    };
    tick();
  });
  await Promise.all(writes);
  const expected = events * n;
  // Stragglers: until all arrived, or no progress for 5 s (at most 20 s after the last write).
  const deadline = Date.now() + 20_000;
  let last = -1;
  let idleSince = Date.now();
  while (Date.now() < deadline) {
    const total = subscribers.total();
    if (total >= expected) break;
    if (total !== last) {
      last = total;
      idleSince = Date.now();
    } else if (Date.now() - idleSince > 5_000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const rss = rssMiB(server.pid);
  const elapsed = (Date.now() - started) / 1000;
  const client = process.cpuUsage(clientCpu);
  const outcome: Outcome = {
    server: server.name,
    subscribers: n,
    events,
    missed: expected - subscribers.total(),
    p50: subscribers.histogram.quantile(0.5),
    p99: subscribers.histogram.quantile(0.99),
    max: subscribers.histogram.quantile(1),
    rssMiB: rss,
    connectedRssMiB: connectedRss,
    serverCpu: (cpuSeconds(server.pid) - serverCpu) / elapsed,
    clientCpu: (client.user + client.system) / 1e6 / elapsed,
  };
  if (subscribers.errors || subscribers.other) console.log(`  ${server.name}: ${subscribers.errors} socket errors ${subscribers.other.slice(0, 300)}`);
  subscribers.close();
  // Let the server notice the closed sockets before the next round.
  await new Promise((r) => setTimeout(r, 1_500));
  return outcome;
}

function jobscopeCommand(): string[] {
  return [process.execPath, 'dist/cli/index.js', 'start'];
}

const JOBSCOPE_ENV = { LOG_DIR: 'off', LOG_LEVEL: 'warn', ALERT_INTERVAL_SECONDS: '0', NODE_ENV: 'development', JOBSCOPE_ENV: 'development' };

function subscriptionRequest(port: number): string {
  const body = JSON.stringify({ query: QUERY });
  return (
    `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Resident memory 15 s after start, and with 1,000 idle subscribers, of jobscope on embedded PGlite (no bare server: nothing else can LISTEN on it). */
async function pgliteMemory(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'jobscope-fanout-'));
  const server = await startServer('jobscope (PGlite)', jobscopeCommand(), { ...JOBSCOPE_ENV, DATABASE_URL: '', PGLITE_DIR: dir }, subscriptionRequest);
  try {
    await new Promise((r) => setTimeout(r, 15_000));
    const atRest = rssMiB(server.pid);
    const subscribers = new Subscribers();
    await subscribers.open(server, 1_000);
    await new Promise((r) => setTimeout(r, 2_000));
    const held = rssMiB(server.pid);
    subscribers.close();
    console.log(`\n## jobscope memory on PGlite (server process RSS)`);
    console.table([{ 'at rest (15 s) MiB': atRest.toFixed(0), 'with 1,000 subscribers MiB': held.toFixed(0), 'KiB per subscriber': (((held - atRest) * 1024) / 1000).toFixed(1) }]);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchFanout(databaseUrl: string | undefined): Promise<void> {
  const counts = (process.env.BENCH_FANOUT_SUBSCRIBERS ?? '1000,5000').split(',').map(Number);
  const rate = Number(process.env.BENCH_FANOUT_RATE ?? 100);
  const seconds = Number(process.env.BENCH_FANOUT_SECONDS ?? 10);
  if (process.env.BENCH_FANOUT_PGLITE !== '0') await pgliteMemory();
  if (!databaseUrl) {
    console.log('\n(fan-out against the bare server needs DATABASE_URL: skipped)');
    return;
  }
  const sql = postgres(databaseUrl, { onnotice: () => {}, max: 4 });
  const jobscope = await startServer('jobscope', jobscopeCommand(), { ...JOBSCOPE_ENV, DATABASE_URL: databaseUrl }, subscriptionRequest);
  const bare = await startServer('bare node:http + LISTEN', [process.execPath, '--input-type=module', '-e', BARE_SERVER], { DATABASE_URL: databaseUrl }, (port) => `GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  try {
    await new Promise((r) => setTimeout(r, Math.max(0, 15_000)));
    const coldRest = rssMiB(jobscope.pid);
    // A first round of 100 subscribers, not reported: the code a subscription runs is compiled on
    // first use, once per process (about 16 MiB here). It does not take out the growth of V8's young
    // generation under the first large burst of subscriptions (up to ~32 MiB, whatever the count),
    // which still shows in "KiB per subscriber" at the first count; "KiB per further subscriber"
    // (between counts) leaves it out. Memory at rest is the figure before the warm-up.
    for (const server of [bare, jobscope]) await round(server, sql, 100, rate, 1);
    const atRest = rssMiB(jobscope.pid);
    const bareAtRest = rssMiB(bare.pid);
    console.log(`\njobscope RSS 15 s after start ${coldRest.toFixed(0)} MiB, after the warm-up round ${atRest.toFixed(0)} MiB (the base of "KiB per subscriber")`);
    const outcomes: Outcome[] = [];
    for (const n of counts) {
      // Alternating, so a slow moment of the machine hits both alike.
      outcomes.push(await round(bare, sql, n, rate, seconds));
      outcomes.push(await round(jobscope, sql, n, rate, seconds));
    }
    // Other work on the machine shows in every figure here: the load average says how much there was.
    console.log(
      `\n## jobEvents fan-out on PostgreSQL: ${rate} events/s for ${seconds} s, SSE over loopback, ` +
        `${process.env.BENCH_NO_PIN ? 'unpinned' : 'each server on core 1'}; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (${cpus().length} cores)`,
    );
    const marginalKiB = (o: Outcome): string => {
      const previous = outcomes.filter((p) => p.server === o.server && p.subscribers < o.subscribers).at(-1);
      return previous ? (((o.connectedRssMiB - previous.connectedRssMiB) * 1024) / (o.subscribers - previous.subscribers)).toFixed(1) : '';
    };
    console.table(
      outcomes.map((o) => {
        const base = outcomes.find((b) => b.subscribers === o.subscribers && b.server === bare.name)!;
        const restMiB = o.server === bare.name ? bareAtRest : atRest;
        return {
          server: o.server,
          subscribers: o.subscribers,
          'events × subscribers': o.events * o.subscribers,
          missed: o.missed,
          'p50 ms': o.p50,
          'p99 ms': o.p99,
          'max ms': o.max,
          'server CPU': `${(o.serverCpu * 100).toFixed(0)}%`,
          'clients CPU': `${(o.clientCpu * 100).toFixed(0)}%`,
          'p99 ÷ bare': o.server === bare.name ? '1.00x' : `${(o.p99 / Math.max(1, base.p99)).toFixed(2)}x`,
          'RSS after warm-up MiB': restMiB.toFixed(0),
          'RSS connected MiB': o.connectedRssMiB.toFixed(0),
          'KiB per subscriber': (((o.connectedRssMiB - restMiB) * 1024) / o.subscribers).toFixed(1),
          // From the previous count's round on the same server: what each further subscriber
          // holds, without the one-time growth of the young generation (up to ~32 MiB of RSS that
          // the first round's allocations bring on, whatever the count).
          'KiB per further subscriber': marginalKiB(o),
          'RSS after events MiB': o.rssMiB.toFixed(0),
        };
      }),
    );
  } finally {
    await Promise.allSettled([jobscope.stop(), bare.stop()]);
    await sql`DELETE FROM job_executions WHERE job_type = 'bench-fanout'`.catch(() => {});
    await sql.end();
  }
}
