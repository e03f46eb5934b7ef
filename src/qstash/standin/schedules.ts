/**
 * QStash schedules: a cron (croner computes the times) that publishes a message at each run,
 * signed and delivered like any publish and carrying `Upstash-Schedule-Id`. Paused schedules do
 * not run. A time scale speeds the schedule clock up for tests: at scale 600 a `* * * * *` cron
 * runs every 100 ms.
 */
import type { Cron } from 'croner';
import { parseQStashCron } from '../cron.js';
import { randomId } from '../signing.js';
import { parseDuration } from '../timing.js';
import { ApiError, json, readBody, type RequestContext } from './api.js';
import type { Engine } from './engine.js';
import { parsePublish, splitHeaders } from './publish-spec.js';
import type { StandInLogger } from './types.js';
import { bodyFields, messageHeaderRecord } from './wire.js';

const MAX_TIMER_MS = 2 ** 31 - 1;
/** How many runs' outcomes `lastScheduleStates` remembers. */
const MAX_RUN_STATES = 10;
/** Headers that configure the schedule itself, not the message of each run. */
const SCHEDULE_HEADERS = new Set(['upstash-cron', 'upstash-schedule-id', 'upstash-not-before']);

/** Whether a header of the create request configures each run's message (the rest is transport or the schedule's own). */
function isRunHeader(name: string): boolean {
  if (name === 'content-type') return true;
  return name.startsWith('upstash-') && !SCHEDULE_HEADERS.has(name) && !name.startsWith('upstash-telemetry-');
}

type RunState = 'IN_PROGRESS' | 'SUCCESS' | 'FAIL';

interface Schedule {
  scheduleId: string;
  cron: string;
  pattern: Cron;
  createdAt: number;
  /** The publish each run repeats: raw destination, its headers (without the schedule's own) and body. */
  destination: string;
  headers: Array<[string, string]>;
  body: Uint8Array<ArrayBuffer>;
  isPaused: boolean;
  lastScheduleTime: number | undefined;
  nextScheduleTime: number | undefined;
  lastScheduleStates: Map<string, RunState>;
  timer: NodeJS.Timeout | undefined;
}

export interface ScheduleStore {
  /** `/v2/schedules`: create (POST to a destination), list, get, delete, pause and resume. */
  route(context: RequestContext): Promise<Response>;
  /** Stops every schedule's timer. */
  close(): void;
}

/** A QStash cron, or a 400 `ApiError` naming the problem. */
function parseCron(text: string): Cron {
  try {
    return parseQStashCron(text);
  } catch (error) {
    throw new ApiError(400, `invalid Upstash-Cron header: ${text} (${(error as Error).message})`);
  }
}

export function createScheduleStore(parts: { engine: Engine; logger: StandInLogger; timeScale: number }): ScheduleStore {
  const { engine, logger, timeScale } = parts;
  const schedules = new Map<string, Schedule>();
  const runOf = new Map<string, Schedule>();
  // The schedule clock: wall time since `origin`, sped up by `timeScale`.
  const origin = Date.now();
  const toScheduleClock = (wall: number) => origin + (wall - origin) * timeScale;
  const toWallClock = (clock: number) => origin + (clock - origin) / timeScale;
  let closed = false;

  function arm(schedule: Schedule): void {
    if (schedule.timer) clearTimeout(schedule.timer);
    schedule.timer = undefined;
    schedule.nextScheduleTime = undefined;
    if (schedule.isPaused || closed) return;
    const next = schedule.pattern.nextRun(new Date(toScheduleClock(Date.now())));
    if (next === null) return;
    const at = toWallClock(next.getTime());
    schedule.nextScheduleTime = Math.round(at);
    schedule.timer = setTimeout(() => run(schedule, at), Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS));
    schedule.timer.unref();
  }

  function run(schedule: Schedule, at: number): void {
    schedule.timer = undefined;
    if (schedules.get(schedule.scheduleId) !== schedule || schedule.isPaused || closed) return;
    // A timer capped at MAX_TIMER_MS, or one that fired early, waits again.
    if (at - Date.now() > 1) {
      schedule.timer = setTimeout(() => run(schedule, at), Math.min(at - Date.now(), MAX_TIMER_MS));
      schedule.timer.unref();
      return;
    }
    try {
      const spec = parsePublish(schedule.destination, schedule.headers, schedule.body, Date.now());
      const { messageId } = engine.publish({ ...spec, scheduleId: schedule.scheduleId });
      schedule.lastScheduleTime = Date.now();
      schedule.lastScheduleStates.set(messageId, 'IN_PROGRESS');
      for (const id of schedule.lastScheduleStates.keys()) {
        if (schedule.lastScheduleStates.size <= MAX_RUN_STATES) break;
        schedule.lastScheduleStates.delete(id);
      }
      runOf.set(messageId, schedule);
      logger.info('qstash stand-in: schedule ran', { scheduleId: schedule.scheduleId, messageId });
    } catch (error) {
      logger.warn('qstash stand-in: schedule could not publish its run', { scheduleId: schedule.scheduleId, error: String(error) });
    }
    arm(schedule);
  }

  function payload(schedule: Schedule): Record<string, unknown> {
    const now = Date.now();
    const spec = parsePublish(schedule.destination, schedule.headers, schedule.body, now);
    const delayHeader = splitHeaders(schedule.headers).settings.get('upstash-delay');
    const delayMs = delayHeader === undefined ? undefined : parseDuration(delayHeader);
    return {
      scheduleId: schedule.scheduleId,
      cron: schedule.cron,
      createdAt: schedule.createdAt,
      destination: spec.url,
      method: spec.method,
      header: messageHeaderRecord(spec),
      ...bodyFields(spec.body, 'body'),
      retries: spec.maxRetries,
      ...(delayMs === undefined ? {} : { delay: Math.round(delayMs / 1000) }),
      ...(spec.callback === undefined ? {} : { callback: spec.callback }),
      ...(spec.failureCallback === undefined ? {} : { failureCallback: spec.failureCallback }),
      ...(spec.retryDelayExpression === undefined ? {} : { retryDelayExpression: spec.retryDelayExpression }),
      ...(spec.labels.length === 0 ? {} : { label: spec.labels[0], labels: spec.labels }),
      ...(spec.queueName === undefined ? {} : { queueName: spec.queueName }),
      isPaused: schedule.isPaused,
      ...(schedule.lastScheduleTime === undefined ? {} : { lastScheduleTime: schedule.lastScheduleTime }),
      ...(schedule.nextScheduleTime === undefined ? {} : { nextScheduleTime: schedule.nextScheduleTime }),
      ...(schedule.lastScheduleStates.size === 0 ? {} : { lastScheduleStates: Object.fromEntries(schedule.lastScheduleStates) }),
    };
  }

  function found(id: string): Schedule {
    const schedule = schedules.get(id);
    if (!schedule) throw new ApiError(404, `schedule not found: ${id}`);
    return schedule;
  }

  async function create(context: RequestContext): Promise<Response> {
    const { settings } = splitHeaders(context.request.headers);
    const cron = settings.get('upstash-cron');
    if (cron === undefined || cron.trim() === '') throw new ApiError(400, 'the Upstash-Cron header is required');
    const pattern = parseCron(cron);
    const headers = [...context.request.headers].filter(([name]) => isRunHeader(name.toLowerCase()));
    const body = await readBody(context.request);
    // Validates the destination and every header now, so a bad schedule is refused at creation.
    parsePublish(context.tail, headers, body, Date.now());
    const requestedId = settings.get('upstash-schedule-id')?.trim() || undefined;
    const existing = requestedId === undefined ? undefined : schedules.get(requestedId);
    if (existing?.timer) clearTimeout(existing.timer);
    const schedule: Schedule = {
      scheduleId: requestedId ?? `scd_${randomId()}`,
      cron: cron.trim(),
      pattern,
      createdAt: existing?.createdAt ?? Date.now(),
      destination: context.tail,
      headers,
      body,
      isPaused: existing?.isPaused ?? false,
      lastScheduleTime: existing?.lastScheduleTime,
      nextScheduleTime: undefined,
      lastScheduleStates: existing?.lastScheduleStates ?? new Map(),
      timer: undefined,
    };
    schedules.set(schedule.scheduleId, schedule);
    arm(schedule);
    logger.info('qstash stand-in: schedule saved', { scheduleId: schedule.scheduleId, cron: schedule.cron, nextScheduleTime: schedule.nextScheduleTime });
    return json(200, { scheduleId: schedule.scheduleId });
  }

  engine.onSettled((message, delivered) => {
    const schedule = runOf.get(message.id);
    if (!schedule) return;
    runOf.delete(message.id);
    if (schedule.lastScheduleStates.has(message.id)) schedule.lastScheduleStates.set(message.id, delivered ? 'SUCCESS' : 'FAIL');
  });

  return {
    close() {
      closed = true;
      for (const schedule of schedules.values()) arm(schedule);
    },

    async route(context) {
      const { method, id, extra, notAllowed } = context;
      if (method === 'POST' && id !== undefined) return create(context);
      if (id === undefined) {
        if (method !== 'GET') return notAllowed();
        return json(200, [...schedules.values()].sort((a, b) => a.createdAt - b.createdAt).map(payload));
      }
      const schedule = found(id);
      if (extra === 'pause' || extra === 'resume') {
        if (method !== 'PATCH') return notAllowed();
        schedule.isPaused = extra === 'pause';
        arm(schedule);
        logger.info(`qstash stand-in: schedule ${extra}d`, { scheduleId: id });
        return new Response(null, { status: 200 });
      }
      if (extra !== undefined) throw new ApiError(404, `not found: ${context.rawPath}`);
      if (method === 'GET') return json(200, payload(schedule));
      if (method === 'DELETE') {
        schedules.delete(id);
        if (schedule.timer) clearTimeout(schedule.timer);
        logger.info('qstash stand-in: schedule deleted', { scheduleId: id });
        return new Response(null, { status: 200 });
      }
      return notAllowed();
    },
  };
}
