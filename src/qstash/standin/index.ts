/**
 * An in-memory stand-in for the QStash v2 HTTP API, for development and tests only.
 *
 * It speaks the protocol the real `@upstash/qstash` `Client` and `Receiver` use (see
 * /work/shared/QSTASH.md): publish and batch, signed deliveries with retries and backoff,
 * `489` non-retryable failures, timeouts, delays, deduplication, callbacks, cancel, the DLQ,
 * the event log, schedules (cron), queues (FIFO with parallelism, pause and resume) and the signing
 * keys. URL groups and flow control are not implemented and answer 501.
 *
 * One file per concern: `publish-spec` reads a publish, `engine` delivers, `dlq` keeps dead
 * letters, `event-log` the states, `schedules` runs crons, `queues` gives queued messages their
 * turns, `routes` maps the HTTP API onto them.
 */
import { ApiError, json } from './api.js';
import { createDeadLetterQueue } from './dlq.js';
import { createEngine } from './engine.js';
import { createEventLog } from './event-log.js';
import { createRouter } from './routes.js';
import { createScheduleStore } from './schedules.js';
import type { QStashStandIn, QStashStandInOptions, StandInLogger } from './types.js';

export type { MessageState, QStashStandIn, QStashStandInOptions, StandInLogger } from './types.js';

const SILENT_LOGGER: StandInLogger = {
  info() {},
  warn() {},
  error() {},
  debug() {},
};

export function createQStashStandIn(options: QStashStandInOptions): QStashStandIn {
  const logger = options.logger ?? SILENT_LOGGER;
  const events = createEventLog();
  const dlq = createDeadLetterQueue();
  const engine = createEngine({
    signingKey: options.currentSigningKey,
    retryDelayFactor: options.retryDelayFactor ?? 1,
    logger,
    events,
    dlq,
  });
  const schedules = createScheduleStore({ engine, logger, timeScale: options.scheduleTimeScale ?? 1 });
  const router = createRouter({
    token: options.token,
    basePath: (options.basePath ?? '').replace(/\/+$/, ''),
    keys: { current: options.currentSigningKey, next: options.nextSigningKey },
    engine,
    dlq,
    events,
    schedules,
    logger,
  });

  return {
    async fetch(request) {
      try {
        return await router.route(request);
      } catch (error) {
        if (error instanceof ApiError) {
          if (error.status >= 500) logger.warn('qstash stand-in: request refused', { url: request.url, error: error.message });
          else logger.debug('qstash stand-in: bad request', { url: request.url, status: error.status, error: error.message });
          return json(error.status, { error: error.message });
        }
        logger.error('qstash stand-in: internal error', { url: request.url, error: String(error) });
        return json(500, { error: 'internal error in the QStash stand-in' });
      }
    },
    idle: (withinMs = Number.POSITIVE_INFINITY) => engine.idle(withinMs),
    close: () => {
      schedules.close();
      return engine.close();
    },
  };
}
