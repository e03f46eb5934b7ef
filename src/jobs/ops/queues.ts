/**
 * Per-type QStash queues: each job type publishes through a queue of its own (`<prefix><type>`),
 * so that an operator can pause and resume the type's deliveries and the team can cap how many of
 * its runs QStash delivers at once (the queue's parallelism). QStash keeps the state: whether the
 * queue is paused, its parallelism and its lag (messages waiting). See /work/shared/QSTASH.md and
 * the stand-in's queues.ts for the semantics: FIFO turns, a message holds its turn through its
 * retries, a paused queue starts nothing new.
 */
import { QstashError, type Client } from '@upstash/qstash';
import type { Logger } from '../../logger.js';
import { QueuesDisabledError } from '../errors.js';
import type { JobDefinition, JobRegistry } from '../registry.js';
import { callQStash } from './qstash.js';

/** How job types use queues (the `queues` options). */
export interface QueueSettings {
  /** `false`: publish straight to the endpoints (no pause, no parallelism). */
  enabled: boolean;
  /** Parallelism of a type whose definition names none. */
  parallelism: number;
  /** Put before the type to name its queue. */
  prefix: string;
}

/** A job type's queue as QStash reports it. */
export interface JobQueueState {
  name: string;
  paused: boolean;
  parallelism: number;
  /** Messages in the queue not yet being delivered. */
  lag: number;
}

export interface JobQueuesDeps {
  /** The Client of QStash's own state (retrying, like the DLQ and schedule verbs'). */
  qstash: () => Client;
  registry: JobRegistry;
  settings: QueueSettings;
  logger: Logger;
}

/** Characters a job type may have that a QStash queue name may not. */
const NOT_IN_QUEUE_NAMES = /[^A-Za-z0-9_.-]/g;

export class JobQueues {
  /** Types whose queue this process has made sure of (again after a failure). */
  private readonly ensured = new Map<string, Promise<void>>();

  constructor(private readonly deps: JobQueuesDeps) {}

  get enabled(): boolean {
    return this.deps.settings.enabled;
  }

  /** The queue a type publishes through (`:` becomes `_`: QStash names take letters, digits, `-`, `_`, `.`). */
  nameOf(type: string): string {
    return this.deps.settings.prefix + type.replace(NOT_IN_QUEUE_NAMES, '_');
  }

  /** The parallelism a type's queue is given: its definition's, else the configured default. */
  parallelismOf(definition: JobDefinition): number {
    return definition.parallelism ?? this.deps.settings.parallelism;
  }

  /**
   * Makes sure the type's queue exists with its parallelism, once per process (again after a
   * failure, which is thrown as the Client threw it, so the relay can tell a refusal from an outage).
   * A queue that exists keeps its paused state: a restart never resumes a type an operator paused.
   */
  ensure(definition: JobDefinition): Promise<void> {
    let done = this.ensured.get(definition.type);
    if (!done) {
      done = this.sync(definition);
      this.ensured.set(definition.type, done);
      done.catch(() => this.ensured.delete(definition.type));
    }
    return done;
  }

  private async sync(definition: JobDefinition): Promise<void> {
    const queue = this.deps.qstash().queue({ queueName: this.nameOf(definition.type) });
    const parallelism = this.parallelismOf(definition);
    // Listed rather than got: a queue QStash does not have yet is a 404, which the SDK also prints on stderr.
    const current = (await queue.list()).find((listed) => listed.name === this.nameOf(definition.type));
    if (current?.parallelism === parallelism) return;
    try {
      await queue.upsert({ parallelism, paused: current?.paused ?? false });
    } catch (error) {
      // A refusal (a plan's cap: the free plan allows a parallelism of 2) would be refused again;
      // the jobs still go through the queue QStash has, or makes on the first enqueue (parallelism 1).
      if (!(error instanceof QstashError && error.status !== undefined && error.status >= 400 && error.status < 500 && error.status !== 429)) throw error;
      this.deps.logger.error('[jobs] QStash refused the job queue\'s parallelism; publishing through it as QStash has it', {
        jobType: definition.type,
        queueName: this.nameOf(definition.type),
        parallelism,
        status: error.status,
        error: error.message,
        fix: "Lower the type's parallelism (or JOBSCOPE_QUEUE_PARALLELISM) to what the QStash plan allows",
      });
      return;
    }
    this.deps.logger.info(current ? '[jobs] Job queue updated' : '[jobs] Job queue created', {
      jobType: definition.type,
      queueName: this.nameOf(definition.type),
      parallelism,
    });
  }

  /**
   * The registered types' queues as QStash reports them (one call), by type. A type that has not
   * published yet has no queue in QStash: it shows what its first publish creates (not paused, its
   * parallelism, nothing waiting). Empty when queues are off.
   */
  async states(): Promise<Map<string, JobQueueState>> {
    if (!this.enabled) return new Map();
    const listed = await callQStash(() => this.deps.qstash().queue().list());
    const byName = new Map(listed.map((queue) => [queue.name, queue]));
    const states = new Map<string, JobQueueState>();
    for (const definition of this.deps.registry.list()) {
      const name = this.nameOf(definition.type);
      const queue = byName.get(name);
      states.set(
        definition.type,
        queue
          ? { name, paused: queue.paused, parallelism: queue.parallelism, lag: queue.lag }
          : { name, paused: false, parallelism: this.parallelismOf(definition), lag: 0 },
      );
    }
    return states;
  }

  /**
   * Pauses (QStash delivers none of the type's waiting jobs; runs under way finish) or resumes a
   * type's queue; UnknownJobTypeError, QueuesDisabledError, QStashRequestError. Answers the state after.
   */
  async setPaused(type: string, paused: boolean): Promise<JobQueueState> {
    const definition = this.deps.registry.get(type);
    if (!this.enabled) throw new QueuesDisabledError();
    await callQStash(() => this.ensure(definition));
    const queue = this.deps.qstash().queue({ queueName: this.nameOf(type) });
    await callQStash(() => (paused ? queue.pause() : queue.resume()));
    const state = await callQStash(() => queue.get());
    this.deps.logger.info(paused ? '[jobs] Job type paused' : '[jobs] Job type resumed', { jobType: type, queueName: state.name, lag: state.lag });
    return { name: state.name, paused: state.paused, parallelism: state.parallelism, lag: state.lag };
  }
}
