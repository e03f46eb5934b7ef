/**
 * The contract every example keeps, checked against the example really running: its server is
 * spawned as a child process on a free port, with an empty PGlite folder of its own and no
 * QStash token (so jobscope's local stand-in delivers the jobs), and stopped at the end.
 *
 *   (a) GraphQL over HTTP: `jobTypes` lists exactly the example's job types;
 *   (b) a `jobEvents` subscription over SSE (and over WebSocket where the example attaches it)
 *       receives the events of a job enqueued while it is open;
 *   (c) that job, enqueued with the `enqueueJob` mutation, is delivered by the stand-in to the
 *       worker endpoint with a real signature, recorded, and shows as COMPLETED in
 *       `jobExecution` and `jobExecutions`;
 *   (d) a POST to the worker endpoint with a bad `Upstash-Signature` is refused with 401;
 *   (e) the app's own routes still answer next to jobscope;
 *   plus whatever the example adds (`extra`), and a clean stop on SIGTERM.
 *
 * Plain JavaScript on Node's built-ins and fetch, so it runs before, and apart from, anything the
 * example installs. WebSocket checks need `node --experimental-websocket` on Node 20.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Variables that would point the example at something other than its own fresh set-up. */
const SCRUBBED_ENV = /^(DATABASE_URL|PGLITE_DIR|BASE_URL|PORT|HOST|NODE_ENV|LOG_DIR|LOG_LEVEL|LOG_FORMAT|QSTASH_.*|JOBSCOPE_.*|ALERT_.*)$/;

/**
 * @typedef {object} Route
 * @property {string} path            e.g. `/`
 * @property {string} [method]        default GET
 * @property {unknown} [json]         a JSON body to send
 * @property {number} [status]        default 200
 * @property {string} [includes]      text the body must contain
 *
 * @typedef {object} ExampleContract
 * @property {string} name
 * @property {(port: number) => { command: string, args: string[], env?: Record<string, string> }} start
 * @property {string} [cwd]                  default: the working directory
 * @property {string} basePath               where jobscope is mounted: '' or '/jobscope'
 * @property {string[]} jobTypes             the names `jobTypes` must list
 * @property {{ jobType: string, payload: unknown }} enqueue   a job that completes
 * @property {Route[]} appRoutes             the app's own routes
 * @property {boolean} [webSocket]           also subscribe over graphql-ws
 * @property {(ctx: CheckContext) => Promise<void>} [extra]
 * @property {string} [readyPath]            polled until it answers 200; default `<basePath>/health`
 * @property {number} [readyTimeoutMs]       default 90 s
 */

/**
 * Runs the contract; prints one line per check and, on a failure, the example's output, then
 * exits with status 1.
 * @param {ExampleContract} contract
 */
export async function checkExample(contract) {
  const started = Date.now();
  const cwd = contract.cwd ?? process.cwd();
  try {
    await step('README.md shows the code as it is in the files', () => checkReadme(cwd));
  } catch (error) {
    console.error(`\n✗ ${contract.name}: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  const dataDir = await mkdtemp(join(tmpdir(), `jobscope-example-${contract.name}-`));
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const { command, args, env = {} } = contract.start(port);
  const child = startChild(command, args, {
    cwd,
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !SCRUBBED_ENV.test(name))),
      PORT: String(port),
      PGLITE_DIR: join(dataDir, 'pglite'),
      LOG_DIR: 'off',
      NEXT_TELEMETRY_DISABLED: '1',
      ...env,
    },
  });
  let failed = false;
  try {
    const ctx = createContext(origin, contract.basePath);
    const readyUrl = origin + (contract.readyPath ?? `${contract.basePath}/health`);
    await step(`ready: ${readyUrl} answers 200`, () => waitForReady(readyUrl, child, contract.readyTimeoutMs ?? 90_000));
    await checkAppRoutes(ctx, contract.appRoutes);
    await checkJobTypes(ctx, contract.jobTypes);
    await checkEnqueuedJobIsDelivered(ctx, contract);
    await checkBadSignature(ctx, contract.enqueue.jobType);
    if (contract.extra) await contract.extra(ctx);
    await checkAppRoutes(ctx, contract.appRoutes, ' (after the jobs ran)');
  } catch (error) {
    failed = true;
    console.error(`\n✗ ${contract.name}: ${error instanceof Error ? error.message : String(error)}`);
    console.error(`\n--- output of the example (${command} ${args.join(' ')}) ---\n${child.output().trimEnd()}\n---`);
  }
  try {
    await step('stops on SIGTERM within 15 s', () => child.stop(15_000));
  } catch (error) {
    failed = true;
    console.error(`✗ ${error instanceof Error ? error.message : String(error)}`);
  }
  await rm(dataDir, { recursive: true, force: true });
  if (failed) process.exit(1);
  console.log(`${contract.name}: every check passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * @typedef {ReturnType<typeof createContext>} CheckContext
 */
function createContext(origin, basePath) {
  const base = origin + basePath;
  /** A GraphQL operation over HTTP; throws on transport or GraphQL errors. */
  async function graphql(query, variables = {}) {
    const response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(`POST ${basePath}/graphql answered ${response.status} with non-JSON: ${text.slice(0, 300)}`);
    }
    if (body.errors?.length) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
    if (!response.ok) throw new Error(`POST ${basePath}/graphql answered ${response.status}: ${text.slice(0, 300)}`);
    return body.data;
  }
  /** Polls `jobExecution` until the job reaches `status` (or a final state that is not it). */
  async function waitForJob(jobId, status, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    let job;
    while (Date.now() < deadline) {
      ({ jobExecution: job } = await graphql(JOB_EXECUTION, { jobId }));
      if (job?.status === status) return job;
      if (job && ['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status)) break;
      await delay(100);
    }
    throw new Error(`job ${jobId} did not become ${status}: ${JSON.stringify(job)}`);
  }
  /** A request to the app (`path` from the origin), JSON in and out when given. */
  async function request(method, path, json) {
    const response = await fetch(origin + path, {
      method,
      ...(json !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) } : {}),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let body = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON: the text */
    }
    return { status: response.status, body };
  }
  return {
    origin,
    base,
    basePath,
    graphql,
    request,
    waitForJob,
    enqueueJob: (jobType, payload) => enqueueJob(graphql, jobType, payload),
    step,
    assert,
  };
}

const JOB_EXECUTION = /* GraphQL */ `
  query JobExecution($jobId: ID!) {
    jobExecution(jobId: $jobId) {
      jobId
      jobType
      status
      retryCount
      error
      messageId
      attempts { attempt httpStatus error }
    }
  }
`;

async function enqueueJob(graphql, jobType, payload) {
  const { enqueueJob: job } = await graphql(
    `mutation Enqueue($input: EnqueueJobInput!) { enqueueJob(input: $input) { jobId jobType status } }`,
    { input: { jobType, payload } },
  );
  return job;
}

/**
 * The README's code blocks that start with a `// <file>` line must hold that file as it is, so the
 * code a reader pastes is the code the check ran.
 */
async function checkReadme(dir) {
  const readme = await readFile(join(dir, 'README.md'), 'utf8');
  const shown = [];
  for (const [, body] of readme.matchAll(/^```(?:ts|tsx|js|mjs)\n([\s\S]*?)^```$/gm)) {
    const [first, ...rest] = body.split('\n');
    const file = /^\/\/ ([\w./[\]-]+)$/.exec(first)?.[1];
    if (!file || !existsSync(join(dir, file))) continue;
    const actual = (await readFile(join(dir, file), 'utf8')).trimEnd();
    assert(rest.join('\n').trimEnd() === actual, `README.md's block for ${file} differs from the file: copy the file into it again`);
    shown.push(file);
  }
  assert(shown.length > 0, 'README.md shows no file (a code block starting with a `// <file>` line)');
  return shown.join(', ');
}

async function waitForReady(url, child, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (child.exited()) throw new Error(`the example exited before it was ready (${child.exited()})`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
      const text = await response.text();
      if (response.status === 200) return;
      last = `${response.status} ${text.slice(0, 500)}`;
    } catch (error) {
      last = error instanceof Error ? (error.cause?.code ?? error.message) : String(error);
    }
    await delay(250);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s; last: ${last}`);
}

async function checkAppRoutes(ctx, routes, suffix = '') {
  for (const route of routes) {
    const method = route.method ?? 'GET';
    const status = route.status ?? 200;
    await step(`(e) the app's own ${method} ${route.path} answers ${status}${route.includes ? ` with ${route.includes}` : ''}${suffix}`, async () => {
      const response = await fetch(ctx.origin + route.path, {
        method,
        ...(route.json !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(route.json) } : {}),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      assert(response.status === status, `${method} ${route.path} answered ${response.status}: ${text.slice(0, 300)}`);
      if (route.includes) assert(text.includes(route.includes), `${method} ${route.path} lacks "${route.includes}": ${text.slice(0, 300)}`);
    });
  }
}

async function checkJobTypes(ctx, expected) {
  await step(`(a) GraphQL over HTTP: jobTypes lists ${expected.join(', ')}, each with its payload's JSON Schema`, async () => {
    const { jobTypes } = await ctx.graphql(`{ jobTypes { name endpoint payloadSchema } }`);
    const names = jobTypes.map((t) => t.name).sort();
    assert(JSON.stringify(names) === JSON.stringify([...expected].sort()), `jobTypes are ${JSON.stringify(names)}`);
    // Generated by jobscope's zod from the team's schema, which may be another copy of zod (a bundler's).
    for (const t of jobTypes) {
      assert(t.payloadSchema?.type === 'object' && t.payloadSchema.properties, `payloadSchema of ${t.name}: ${JSON.stringify(t.payloadSchema)}`);
    }
    ctx.endpoints = Object.fromEntries(jobTypes.map((t) => [t.name, t.endpoint]));
  });
}

const JOB_EVENTS = /* GraphQL */ `
  subscription JobEvents($jobType: String) { jobEvents(jobType: $jobType) { type jobId jobType status } }
`;

async function checkEnqueuedJobIsDelivered(ctx, contract) {
  const { jobType, payload } = contract.enqueue;
  const sse = await step('(b) jobEvents over SSE: subscription open', () => subscribeSse(ctx, JOB_EVENTS, { jobType }));
  const ws = contract.webSocket
    ? await step('(b) jobEvents over WebSocket (graphql-ws): subscription open', () => subscribeWebSocket(ctx, JOB_EVENTS, { jobType }))
    : undefined;
  try {
    const job = await step(`(c) enqueueJob(${jobType}) answers a job id`, async () => {
      const enqueued = await ctx.enqueueJob(jobType, payload);
      // The stand-in delivers at once, in-process: the run may finish before the mutation answers.
      assert(enqueued.jobId && ['PENDING', 'PROCESSING', 'COMPLETED'].includes(enqueued.status), `enqueueJob answered ${JSON.stringify(enqueued)}`);
      return enqueued;
    });
    await step('(b) the SSE subscription receives the job reaching COMPLETED', async () => {
      const events = await sse.until((e) => e.jobId === job.jobId && e.type === 'COMPLETED', 20_000);
      return `events: ${events.filter((e) => e.jobId === job.jobId).map((e) => e.type).join(' → ')}`;
    });
    if (ws) {
      await step('(b) the WebSocket subscription receives it too', async () => {
        const events = await ws.until((e) => e.jobId === job.jobId && e.type === 'COMPLETED', 20_000);
        return `events: ${events.filter((e) => e.jobId === job.jobId).map((e) => e.type).join(' → ')}`;
      });
    }
    await step('(c) delivered by the stand-in with a valid signature: jobExecution is COMPLETED after one 200 attempt', async () => {
      const recorded = await ctx.waitForJob(job.jobId, 'COMPLETED');
      assert(recorded.messageId, `no QStash message id recorded: ${JSON.stringify(recorded)}`);
      assert(recorded.attempts.length === 1 && recorded.attempts[0].httpStatus === 200, `attempts: ${JSON.stringify(recorded.attempts)}`);
    });
    await step('(c) jobExecutions lists it as COMPLETED', async () => {
      const { jobExecutions } = await ctx.graphql(
        `query List($jobType: String!) { jobExecutions(filter: { jobType: [$jobType] }, first: 50) { nodes { jobId status } } }`,
        { jobType },
      );
      const listed = jobExecutions.nodes.find((n) => n.jobId === job.jobId);
      assert(listed?.status === 'COMPLETED', `jobExecutions: ${JSON.stringify(jobExecutions.nodes)}`);
    });
  } finally {
    sse.close();
    ws?.close();
  }
}

async function checkBadSignature(ctx, jobType) {
  const endpoint = ctx.basePath + ctx.endpoints[jobType];
  await step(`(d) POST ${endpoint} with a bad Upstash-Signature answers 401`, async () => {
    const response = await fetch(ctx.origin + endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'upstash-signature': 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmb3JnZWQifQ.bm90LWEtc2lnbmF0dXJl',
        'upstash-message-id': 'msg_forged',
      },
      body: JSON.stringify({ jobId: '00000000-0000-4000-8000-000000000000', jobType, payload: {} }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    assert(response.status === 401, `answered ${response.status}: ${text.slice(0, 300)}`);
  });
}

/**
 * A GraphQL subscription over SSE (GraphQL over SSE, distinct connections mode, as Yoga serves it).
 * `until(predicate)` resolves with every event so far once one matches.
 */
async function subscribeSse(ctx, query, variables) {
  const controller = new AbortController();
  const response = await fetch(`${ctx.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ query, variables }),
    signal: controller.signal,
  });
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200 || !type.startsWith('text/event-stream')) {
    controller.abort();
    throw new Error(`SSE subscription answered ${response.status} ${type}: ${(await response.text().catch(() => '')).slice(0, 300)}`);
  }
  const stream = eventStream();
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end;
        while ((end = buffer.search(/\r?\n\r?\n/)) !== -1) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
          const fields = Object.fromEntries(
            message.split(/\r?\n/).filter((l) => l && !l.startsWith(':')).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
          );
          if (fields.event === 'next' && fields.data) {
            const payload = JSON.parse(fields.data);
            if (payload.errors) stream.fail(new Error(`SSE errors: ${JSON.stringify(payload.errors)}`));
            else stream.push(payload.data.jobEvents);
          }
        }
      }
      stream.fail(new Error('the SSE stream ended'));
    } catch (error) {
      if (!controller.signal.aborted) stream.fail(error);
    }
  })();
  return { until: stream.until, close: () => controller.abort() };
}

/** The same over graphql-ws (`graphql-transport-ws`), with Node's WebSocket (Node 22, or 20 with the flag). */
async function subscribeWebSocket(ctx, query, variables) {
  if (typeof WebSocket !== 'function') throw new Error('no global WebSocket: run the check with node --experimental-websocket');
  const url = `${ctx.base.replace(/^http/, 'ws')}/graphql`;
  const socket = new WebSocket(url, 'graphql-transport-ws');
  const stream = eventStream();
  const acknowledged = new Promise((resolve, reject) => {
    socket.addEventListener('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.addEventListener('error', () => reject(new Error(`WebSocket ${url} failed`)));
    socket.addEventListener('close', (e) => {
      const error = new Error(`WebSocket ${url} closed: ${e.code} ${e.reason}`);
      reject(error);
      stream.fail(error);
    });
    socket.addEventListener('message', (e) => {
      const message = JSON.parse(String(e.data));
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query, variables } }));
        resolve();
      } else if (message.type === 'next') {
        if (message.payload.errors) stream.fail(new Error(`WebSocket errors: ${JSON.stringify(message.payload.errors)}`));
        else stream.push(message.payload.data.jobEvents);
      } else if (message.type === 'error') {
        stream.fail(new Error(`WebSocket subscription error: ${JSON.stringify(message.payload)}`));
      } else if (message.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      }
    });
  });
  await withTimeout(acknowledged, 10_000, 'no connection_ack');
  return { until: stream.until, close: () => socket.close(1000) };
}

/** Events as they arrive, and a wait for the first that matches. */
function eventStream() {
  const events = [];
  let failure;
  const waiters = new Set();
  const settle = () => {
    for (const waiter of waiters) {
      if (events.some(waiter.predicate)) waiter.resolve([...events]);
      else if (failure) waiter.reject(failure);
      else continue;
      waiters.delete(waiter);
    }
  };
  return {
    push(event) {
      events.push(event);
      settle();
    },
    fail(error) {
      failure ??= error;
      settle();
    },
    until(predicate, timeoutMs) {
      const waiting = new Promise((resolve, reject) => {
        waiters.add({ predicate, resolve, reject });
        settle();
      });
      return withTimeout(waiting, timeoutMs, `no matching event within ${timeoutMs / 1000} s; got ${JSON.stringify(events)}`);
    },
  };
}

/** The example's process, in a process group of its own so that `npx` and `next` go down whole. */
function startChild(command, args, { cwd, env }) {
  const child = spawn(command, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks = [];
  let size = 0;
  const keep = (chunk) => {
    chunks.push(chunk);
    size += chunk.length;
    // The last ~200 kB is enough to see why it failed.
    while (size > 200_000 && chunks.length > 1) size -= chunks.shift().length;
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exit;
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve((exit = signal ?? `code ${code}`))));
  child.once('error', (error) => (exit = `spawn failed: ${error.message}`));
  const signalGroup = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      /* already gone */
    }
  };
  /** Whether any process of the group is left: `npx` may exit on SIGTERM before the server it ran. */
  const groupAlive = () => {
    try {
      process.kill(-child.pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  return {
    output: () => Buffer.concat(chunks).toString('utf8'),
    exited: () => exit,
    async stop(timeoutMs) {
      if (exit) return `had already exited (${exit})`;
      const started = Date.now();
      signalGroup('SIGTERM');
      while ((!exit || groupAlive()) && Date.now() - started < timeoutMs) await delay(50);
      if (!exit || groupAlive()) {
        signalGroup('SIGKILL');
        await exited;
        throw new Error(`the example (or a process it started) did not stop within ${timeoutMs / 1000} s of SIGTERM; killed`);
      }
      return `every process of it exited (${exit})`;
    },
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs one named check, prints `✓ name (ms)` and what it returned, and rethrows its failure. */
async function step(name, run) {
  const started = Date.now();
  try {
    const result = await run();
    const note = typeof result === 'string' ? ` — ${result}` : '';
    console.log(`  ✓ ${name} (${Date.now() - started} ms)${note}`);
    return result;
  } catch (error) {
    throw new Error(`${name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout(promise, ms, message) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms))),
  ]).finally(() => clearTimeout(timer));
}
