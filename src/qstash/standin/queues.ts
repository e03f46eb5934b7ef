/**
 * QStash queues (`/v2/queues`, `/v2/enqueue/{queue}/{destination}`): a message published to a
 * queue waits its turn. As QStash documents it, a queue delivers in FIFO order with at most
 * `parallelism` messages active at once, and a message stays active through its retries until it
 * is delivered or fails into the DLQ, so the next one waits for it; a paused queue starts no new
 * message (the active ones finish) until it is resumed. A queue is created with parallelism 1 by
 * the first message enqueued to it, or by an upsert.
 *
 * `lag` is the number of the queue's messages not yet active: waiting for a turn, or not due yet.
 */
import { ApiError, json, readJson, type RequestContext } from './api.js';
import type { LiveMessage, StandInLogger } from './types.js';

/** QStash's queue names: letters, digits, `-`, `_` and `.`. */
const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
/** The most parallelism an upsert may ask for (QStash's plans cap it too). */
const MAX_PARALLELISM = 1000;

interface Queue {
  name: string;
  parallelism: number;
  paused: boolean;
  createdAt: number;
  updatedAt: number;
  /** Due messages waiting for a turn, oldest first. */
  waiting: LiveMessage[];
  /** Messages delivering or between retries: each holds one of `parallelism` turns. */
  active: Set<LiveMessage>;
}

export interface QueueStore {
  /** A message was published to queue `name`: the queue exists from now on (parallelism 1 if new). */
  published(name: string): void;
  /** A queued message fell due: it starts (through the engine's `start`) when its queue gives it a turn. */
  arrive(message: LiveMessage): void;
  /** Whether a message holds a turn of its queue (then its retries start without waiting again). */
  holdsTurn(message: LiveMessage): boolean;
  /** A message left the system (delivered, dead-lettered, cancelled): its turn, or its place in line, frees up. */
  leave(message: LiveMessage): void;
  /** Serves `/v2/queues[/{name}[/pause|resume]]`; `live` lists the engine's messages (for `lag`). */
  route(context: RequestContext, live: () => Iterable<LiveMessage>): Promise<Response>;
}

/** Checks a queue name from a path or a header (400 when it is not one QStash accepts). */
export function queueName(raw: string): string {
  if (!QUEUE_NAME.test(raw)) throw new ApiError(400, `invalid queue name: "${raw}" (letters, digits, "-", "_" and "." only)`);
  return raw;
}

export function createQueueStore(deps: { logger: StandInLogger; start: (message: LiveMessage) => void }): QueueStore {
  const { logger } = deps;
  const queues = new Map<string, Queue>();

  function queueOf(name: string): Queue {
    let queue = queues.get(name);
    if (!queue) {
      const now = Date.now();
      queue = { name, parallelism: 1, paused: false, createdAt: now, updatedAt: now, waiting: [], active: new Set() };
      queues.set(name, queue);
    }
    return queue;
  }

  /** Gives free turns to the oldest waiting messages. */
  function pump(queue: Queue): void {
    while (!queue.paused && queue.active.size < queue.parallelism && queue.waiting.length > 0) {
      const message = queue.waiting.shift()!;
      queue.active.add(message);
      deps.start(message);
    }
  }

  function describe(queue: Queue, live: () => Iterable<LiveMessage>): Record<string, unknown> {
    let lag = 0;
    for (const message of live()) if (message.spec.queueName === queue.name && !queue.active.has(message) && !message.cancelRequested) lag++;
    return { createdAt: queue.createdAt, updatedAt: queue.updatedAt, name: queue.name, parallelism: queue.parallelism, lag, paused: queue.paused };
  }

  function existing(name: string): Queue {
    const queue = queues.get(name);
    if (!queue) throw new ApiError(404, `queue not found: ${name}`);
    return queue;
  }

  function setPaused(queue: Queue, paused: boolean): void {
    queue.paused = paused;
    queue.updatedAt = Date.now();
    logger.info(`qstash stand-in: queue ${paused ? 'paused' : 'resumed'}`, { queueName: queue.name, waiting: queue.waiting.length });
    pump(queue);
  }

  async function upsert(request: Request): Promise<Response> {
    const body = await readJson(request);
    if (typeof body !== 'object' || body === null) throw new ApiError(400, 'queue body must be a JSON object');
    const { queueName: rawName, parallelism = 1, paused = false } = body as { queueName?: unknown; parallelism?: unknown; paused?: unknown };
    if (typeof rawName !== 'string') throw new ApiError(400, 'queueName is required');
    if (typeof parallelism !== 'number' || !Number.isInteger(parallelism) || parallelism < 1 || parallelism > MAX_PARALLELISM) {
      throw new ApiError(400, `parallelism must be an integer from 1 to ${MAX_PARALLELISM}`);
    }
    if (typeof paused !== 'boolean') throw new ApiError(400, 'paused must be a boolean');
    const queue = queueOf(queueName(rawName));
    queue.parallelism = parallelism;
    queue.updatedAt = Date.now();
    logger.info('qstash stand-in: queue saved', { queueName: queue.name, parallelism, paused });
    setPaused(queue, paused);
    return new Response(null, { status: 200 });
  }

  return {
    published(name) {
      queueOf(name);
    },

    arrive(message) {
      const queue = queueOf(message.spec.queueName!);
      queue.waiting.push(message);
      pump(queue);
    },

    holdsTurn(message) {
      const name = message.spec.queueName;
      return name !== undefined && queues.get(name)?.active.has(message) === true;
    },

    leave(message) {
      const name = message.spec.queueName;
      const queue = name === undefined ? undefined : queues.get(name);
      if (!queue) return;
      if (!queue.active.delete(message)) {
        const index = queue.waiting.indexOf(message);
        if (index >= 0) queue.waiting.splice(index, 1);
      }
      pump(queue);
    },

    async route({ request, method, id, extra, notAllowed }, live) {
      if (id === undefined) {
        if (method === 'GET') return json(200, [...queues.values()].map((queue) => describe(queue, live)));
        if (method === 'POST') return upsert(request);
        return notAllowed();
      }
      const queue = existing(id);
      if (extra === undefined) {
        if (method === 'GET') return json(200, describe(queue, live));
        if (method !== 'DELETE') return notAllowed();
        // Messages already in it are not dropped: the queue goes back to its defaults and keeps them.
        if (queue.waiting.length > 0 || queue.active.size > 0) {
          queue.parallelism = 1;
          setPaused(queue, false);
        } else {
          queues.delete(queue.name);
        }
        logger.info('qstash stand-in: queue deleted', { queueName: queue.name });
        return new Response(null, { status: 200 });
      }
      if (method !== 'POST' || (extra !== 'pause' && extra !== 'resume')) return notAllowed();
      setPaused(queue, extra === 'pause');
      return new Response(null, { status: 200 });
    },
  };
}
