/**
 * The outbox relay: publishes the jobs `enqueue` queued (outbox.ts) to QStash, so an enqueue that
 * committed is delivered even when the process that made it dies before publishing, and a
 * transient QStash failure is tried again instead of failing the job.
 */
import { QstashError, QstashRatelimitError, type Client } from '@upstash/qstash';
import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import { errorMessage } from './errors.js';
import { randomUUID } from 'node:crypto';
import { claimPublishes, deduplicationId, failPublish, markPublished, releaseClaim, releaseClaimsOf, schedulePublishRetry, type ClaimedPublish } from './outbox.js';
import { retryAfterMs } from './publisher.js';
import type { JobQueues } from './ops/queues.js';
import type { JobDefinition, JobRegistry } from './registry.js';

/**
 * Seconds QStash waits for an attempt beyond the handler's own timeout, so the worker has time to
 * record a timed-out run and answer before QStash gives up on the request.
 */
export const QSTASH_TIMEOUT_GRACE_SECONDS = 10;

/** How the relay works, retries and gives up: the `publish` options (config/options.ts holds their defaults). */
export interface RelaySettings {
  /** Seconds after the enqueue past which a transient failure fails the job. */
  deadlineSeconds: number;
  /** Backoff before the n-th retry: this × 2^(n-1) ms, ±20 % jitter, at most {@link MAX_BACKOFF_MS}. */
  retryBaseMs: number;
  /** Requests claimed (and published concurrently) per round. */
  batchSize: number;
  /** A claim lasts this long: past it another relay may take the request (same deduplication id). */
  leaseSeconds: number;
  /** The poll that finds rows this process was not nudged about: other instances' and crashed ones'. */
  pollIntervalMs: number;
}

export interface RelayDeps {
  db: Database;
  registry: JobRegistry;
  /** A QStash client that does not retry on its own: each attempt is the relay's, and counted. */
  qstash: () => Client;
  endpointUrl: (path: string) => string;
  /** The per-type queues each job is published through (when they are on). */
  queues: JobQueues;
  logger: Logger;
  settings: RelaySettings;
}

/** One publish attempt waits this long at most; then it counts as a transient failure. */
const ATTEMPT_TIMEOUT_MS = 10_000;
export const MAX_BACKOFF_MS = 5 * 60_000;

/** What the relay asks QStash to deliver for one job. */
interface JobPublish {
  url: string;
  body: unknown;
  retries: number;
  timeout: number;
  deduplicationId: string;
  notBefore?: number;
}

/** How a publish attempt ended. */
type Outcome =
  | { kind: 'published'; messageId: string; url: string; deduplicated: boolean }
  | { kind: 'retry'; error: string; status: number | undefined; waitMs: number | undefined }
  | { kind: 'refused'; error: string; status: number };

export class PublishRelay {
  private timer: NodeJS.Timeout | undefined;
  /** A wake-up for the earliest retry this relay scheduled, when it comes before the next poll. */
  private wake: { at: number; timer: NodeJS.Timeout } | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** After stop(): no rounds until start(). Before start(), nudges still publish (no poll yet). */
  private stopped = false;
  /** Retries scheduled by this relay since it was created (for /metrics and the tests). */
  retries = 0;
  /**
   * Claims whose outcome could not be recorded (the database went away mid-round), by job id:
   * recorded (a publish QStash accepted) or given back at the start of the next round, instead of
   * holding the request, and its job `pending`, for the rest of the lease.
   */
  private readonly unfinished = new Map<string, { request: ClaimedPublish['request']; messageId: string | undefined }>();
  /**
   * Claims this relay made but never heard the answer to (the claim's transaction failed on the
   * way, perhaps after its COMMIT reached the server): given back at the start of the next round.
   */
  private readonly unheardClaims = new Set<string>();

  constructor(private readonly deps: RelayDeps) {}

  /**
   * Starts polling (an unref'd timer: it never keeps the process alive) and runs a round at once.
   * Until then an enqueue in this process is still published on its nudge; the poll adds what
   * other instances, caller transactions and crashes left.
   */
  start(): void {
    this.stopped = false;
    if (this.timer) return;
    this.timer = setInterval(() => this.nudge(), this.deps.settings.pollIntervalMs);
    this.timer.unref();
    this.nudge();
  }

  /** Publishes what is due now: after an enqueue committed, so it does not wait for the poll. */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain().finally(() => (this.running = undefined));
  }

  /** Stops the timer and waits for the round in progress; what it had not claimed stays queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    clearTimeout(this.wake?.timer);
    this.wake = undefined;
    await this.running;
  }

  /** Runs a round in `ms` (a retry's backoff shorter than the poll), unless one is due sooner. */
  private wakeIn(ms: number): void {
    const at = Date.now() + ms;
    if (this.stopped || ms >= this.deps.settings.pollIntervalMs || (this.wake && this.wake.at <= at)) return;
    clearTimeout(this.wake?.timer);
    const timer = setTimeout(() => {
      this.wake = undefined;
      this.nudge();
    }, ms + 5);
    timer.unref();
    this.wake = { at, timer };
  }

  /** Rounds until nothing is due; errors are logged and the next poll tries again. */
  private async drain(): Promise<void> {
    try {
      do {
        this.again = false;
        const handled = await this.boundedRound();
        if (handled === this.deps.settings.batchSize) this.again = true;
      } while (this.again && !this.stopped);
    } catch (error) {
      this.deps.logger.warn('[jobs] Publish relay round failed', { error: errorMessage(error) });
    }
  }

  /**
   * A round, given up on when it has not settled within the lease (past which its claims are
   * anyone's anyway). A database call that never answers (seen once in a few dozen runs of
   * cut-under-load.test.ts: a statement issued as the connection was restored neither failed nor
   * settled) would otherwise hold `running` for good, and this relay would publish nothing more
   * until the process restarts. Its claims are given back at the next round; should it wake up
   * later, what it publishes carries the same deduplication ids.
   */
  private async boundedRound(): Promise<number> {
    const token = randomUUID();
    const leaseMs = this.deps.settings.leaseSeconds * 1000;
    const round = this.round(token);
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<'stalled'>((resolve) => {
      timer = setTimeout(() => resolve('stalled'), leaseMs);
      timer.unref();
    });
    try {
      const outcome = await Promise.race([round, stalled]);
      if (outcome !== 'stalled') return outcome;
      round.catch(() => {});
      this.unheardClaims.add(token);
      throw new Error(`the round did not settle within the claim lease (${leaseMs} ms): a database call never answered; its claims are given back next round`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Claims one batch of due requests (marked with `token`) and publishes them; resolves to how many it claimed. */
  async round(token: string = randomUUID()): Promise<number> {
    await this.settleUnfinished();
    let claimed: ClaimedPublish[];
    try {
      claimed = await claimPublishes(this.deps.db, { limit: this.deps.settings.batchSize, leaseMs: this.deps.settings.leaseSeconds * 1000, token, jobTypes: this.deps.registry.types() });
    } catch (error) {
      this.unheardClaims.add(token);
      throw error;
    }
    await Promise.all(claimed.map((item) => this.publishOne(item)));
    return claimed.length;
  }

  /** Records or gives back what an earlier round could not; throws (ending the round) while the database is still away. */
  private async settleUnfinished(): Promise<void> {
    for (const token of this.unheardClaims) {
      const released = await releaseClaimsOf(this.deps.db, token);
      this.unheardClaims.delete(token);
      if (released > 0) this.deps.logger.info('[jobs] Publish claims given back after the database answered again', { released });
    }
    for (const [jobId, { request, messageId }] of this.unfinished) {
      if (messageId !== undefined) await markPublished(this.deps.db, request, messageId);
      else await releaseClaim(this.deps.db, request);
      this.unfinished.delete(jobId);
      this.deps.logger.info('[jobs] Publish outcome settled after the database answered again', {
        jobId,
        ...(messageId !== undefined ? { messageId, event: 'enqueued' } : { released: true }),
      });
    }
  }

  private async publishOne(item: ClaimedPublish): Promise<void> {
    const { request, job } = item;
    let messageId: string | undefined;
    try {
      if (job.status === 'cancelled') {
        await failPublish(this.deps.db, request, { error: 'The job was cancelled before it was published', failJob: false });
        return;
      }
      const outcome = await this.attempt(item);
      if (outcome.kind === 'published') messageId = outcome.messageId;
      await this.record(item, outcome);
    } catch (error) {
      // Only the database can fail here (attempt() turns QStash's failures into outcomes).
      this.unfinished.set(job.jobId, { request, messageId });
      this.deps.logger.warn('[jobs] Publish outcome not recorded; settled once the database answers', {
        jobId: job.jobId,
        type: job.jobType,
        published: messageId !== undefined,
        error: errorMessage(error),
      });
    }
  }

  private async record({ request, job }: ClaimedPublish, outcome: Outcome): Promise<void> {
    const { db, logger } = this.deps;
    const log = logger.child({ jobId: job.jobId, jobType: job.jobType });
    const meta = { jobId: job.jobId, type: job.jobType, attempt: request.attempts };
    if (outcome.kind === 'published') {
      await markPublished(db, request, outcome.messageId);
      log.info('[jobs] Job enqueued successfully', {
        ...meta,
        url: outcome.url,
        messageId: outcome.messageId,
        deduplicated: outcome.deduplicated,
        event: 'enqueued',
      });
      return;
    }
    const past = Date.now() >= request.deadlineAt.getTime();
    if (outcome.kind === 'refused' || past) {
      const reason =
        outcome.kind === 'refused'
          ? `QStash refused the publish (${outcome.status}): ${outcome.error}`
          : `Publishing gave up after ${request.attempts} attempts (deadline passed): ${outcome.error}`;
      const error = `Publishing job ${job.jobId} to QStash failed: ${reason}`;
      await failPublish(db, request, { error });
      log.error('[jobs] Job enqueue failed', { ...meta, error, event: 'failed' });
      return;
    }
    const backoff = Math.min(MAX_BACKOFF_MS, this.deps.settings.retryBaseMs * 2 ** (request.attempts - 1)) * (0.8 + Math.random() * 0.4);
    // QStash's own wait (a 429's reset time, a Retry-After) wins over our backoff; neither goes past the deadline.
    const waitMs = Math.max(0, Math.min(outcome.waitMs ?? backoff, request.deadlineAt.getTime() - Date.now()));
    await schedulePublishRetry(db, request, { retryAt: new Date(Date.now() + waitMs), error: outcome.error });
    this.retries++;
    this.wakeIn(waitMs);
    log.warn('[jobs] Job publish failed, retrying', {
      ...meta,
      status: outcome.status,
      error: outcome.error,
      retryInMs: Math.round(waitMs),
      event: 'publish_retry',
    });
  }

  private async attempt({ request, job }: ClaimedPublish): Promise<Outcome> {
    const definition = this.deps.registry.list().find((d) => d.type === job.jobType);
    if (!definition) return { kind: 'refused', error: `unknown job type "${job.jobType}"`, status: 0 };
    let timer: NodeJS.Timeout | undefined;
    try {
      const url = this.deps.endpointUrl(definition.endpoint);
      const publishing = this.publish(definition, {
        url,
        body: job.payload,
        retries: definition.retries,
        // Whole seconds: QStash takes `Upstash-Timeout` as an integer duration.
        timeout: Math.ceil(definition.timeoutSeconds) + QSTASH_TIMEOUT_GRACE_SECONDS,
        deduplicationId: deduplicationId(request),
        ...(request.notBefore && request.notBefore.getTime() > Date.now() ? { notBefore: Math.ceil(request.notBefore.getTime() / 1000) } : {}),
      });
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer from QStash within ${ATTEMPT_TIMEOUT_MS} ms`)), ATTEMPT_TIMEOUT_MS);
      });
      // A publish that answers after the timeout is harmless: the retry carries the same deduplication id.
      publishing.catch(() => {});
      const response = await Promise.race([publishing, timeout]);
      return { kind: 'published', messageId: response.messageId, url, deduplicated: response.deduplicated === true };
    } catch (error) {
      return classify(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Into the type's queue (made sure of first) when queues are on, else straight to the endpoint. */
  private async publish(definition: JobDefinition, request: JobPublish): Promise<{ messageId: string; deduplicated?: boolean }> {
    const { queues } = this.deps;
    if (!queues.enabled) return this.deps.qstash().publishJSON(request);
    await queues.ensure(definition);
    return this.deps.qstash().queue({ queueName: queues.nameOf(definition.type) }).enqueueJSON(request);
  }
}

/**
 * Which failures are worth another attempt: no answer at all (network, timeout), 408, 429 and
 * 5xx. Any other 4xx is QStash refusing this request (bad token, bad destination, too large) and
 * would be refused again. A 429 carries QStash's reset time (`Burst-RateLimit-Reset` /
 * `RateLimit-Reset`, unix seconds, as the SDK hands it over), which is when to try again; a 429 or
 * 5xx with `Retry-After` (noted on the error by publisher.ts) is tried again after that wait.
 */
export function classify(error: unknown): Exclude<Outcome, { kind: 'published' }> {
  const message = errorMessage(error);
  if (!(error instanceof QstashError) || error.status === undefined) {
    return { kind: 'retry', error: message, status: undefined, waitMs: undefined };
  }
  const status = error.status;
  if (status === 429) return { kind: 'retry', error: message, status, waitMs: resetWait(error) ?? retryAfterMs(error) };
  if (status === 408 || status >= 500) return { kind: 'retry', error: message, status, waitMs: retryAfterMs(error) };
  return { kind: 'refused', error: message, status };
}

/** Milliseconds until a rate limit resets, from the reset time the SDK's 429 error carries. */
function resetWait(error: QstashError): number | undefined {
  const reset = (error as Partial<QstashRatelimitError>).reset;
  const seconds = Number(reset);
  if (reset === null || reset === undefined || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  // A unix time (QStash's headers), or a number of seconds from now for a small value.
  return seconds > 1e9 ? Math.max(0, seconds * 1000 - Date.now()) : seconds * 1000;
}
