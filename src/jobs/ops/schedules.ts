/**
 * QStash schedules of jobscope's job types, through the real Client: each run is a QStash message
 * to the type's worker endpoint carrying `Upstash-Schedule-Id`, recorded as its own job (named by
 * its message id) with that schedule id.
 */
import type { Client } from '@upstash/qstash';
import { and, desc, eq } from 'drizzle-orm';
import { jobExecutions, type JobEnvelope, type JobExecution, type JobMetadata } from '../../db/schema.js';
import { parseQStashCron } from '../../qstash/cron.js';
import { validatePayload } from '../dispatcher.js';
import { errorMessage, InvalidArgumentError, ScheduleNotFoundError } from '../errors.js';
import { QSTASH_TIMEOUT_GRACE_SECONDS } from '../relay.js';
import { callQStash, isQStashStatus, type QStashStateDeps } from './qstash.js';

type QStashSchedule = Awaited<ReturnType<Client['schedules']['get']>>;

/** A schedule as jobscope shows it. */
export interface Schedule {
  id: string;
  cron: string;
  /** The job type it runs; null for a schedule of QStash's that is not jobscope's. */
  jobType: string | null;
  payload: unknown;
  metadata: JobMetadata | null;
  destination: string;
  paused: boolean;
  createdAt: Date;
  nextRunAt: Date | null;
  lastRunAt: Date | null;
}

/** What `createSchedule` takes. */
export interface CreateSchedule {
  jobType: string;
  cron: string;
  payload: unknown;
  metadata?: JobMetadata | undefined;
}

/** The envelope a schedule publishes: every run's worker takes its message id as the job id. */
function scheduleEnvelope(type: string, payload: unknown, metadata: JobMetadata): JobEnvelope {
  return { jobId: 'scheduled', type, payload, metadata };
}

function envelopeOf(body: string | undefined): Partial<JobEnvelope> {
  try {
    const parsed = JSON.parse(body ?? '') as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Partial<JobEnvelope>) : {};
  } catch {
    return {};
  }
}

function toSchedule(deps: QStashStateDeps, schedule: QStashSchedule): Schedule {
  const envelope = envelopeOf(schedule.body);
  const type = typeof envelope.type === 'string' ? envelope.type : undefined;
  const ours = type !== undefined && deps.registry.list().some((definition) => definition.type === type && deps.endpointUrl(definition.endpoint) === schedule.destination);
  return {
    id: schedule.scheduleId,
    cron: schedule.cron,
    jobType: ours ? type! : null,
    payload: ours ? (envelope.payload ?? null) : null,
    metadata: ours ? (envelope.metadata ?? null) : null,
    destination: schedule.destination,
    paused: schedule.isPaused,
    createdAt: new Date(schedule.createdAt),
    nextRunAt: schedule.nextScheduleTime ? new Date(schedule.nextScheduleTime) : null,
    lastRunAt: schedule.lastScheduleTime ? new Date(schedule.lastScheduleTime) : null,
  };
}

/** QStash's schedules, oldest first. */
export async function listSchedules(deps: QStashStateDeps): Promise<Schedule[]> {
  const schedules = await callQStash(() => deps.qstash().schedules.list());
  return schedules.map((schedule) => toSchedule(deps, schedule)).sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
}

/** One schedule, or undefined when QStash has none of that id. */
export async function getSchedule(deps: QStashStateDeps, id: string): Promise<Schedule | undefined> {
  if (id.trim() === '') return undefined;
  try {
    return toSchedule(deps, await callQStash(() => deps.qstash().schedules.get(id)));
  } catch (error) {
    if (isQStashStatus(error, 404)) return undefined;
    throw error;
  }
}

async function existingSchedule(deps: QStashStateDeps, id: string): Promise<Schedule> {
  const schedule = await getSchedule(deps, id);
  if (!schedule) throw new ScheduleNotFoundError(id);
  return schedule;
}

/**
 * Creates a QStash schedule running `jobType` with `payload` (validated by the type's schema like
 * an enqueue: UnknownJobTypeError, InvalidPayloadError) at each time of `cron` (QStash's five
 * fields, optional `CRON_TZ=`: InvalidArgumentError). Each run is delivered like a publish of the type.
 */
export async function createSchedule(deps: QStashStateDeps, input: CreateSchedule): Promise<Schedule> {
  const definition = deps.registry.get(input.jobType);
  const metadata = input.metadata ?? {};
  const payload = validatePayload(definition, input.payload, metadata);
  try {
    parseQStashCron(input.cron);
  } catch (error) {
    throw new InvalidArgumentError('cron', `"cron" is not a cron of five fields (minute hour day month weekday): ${errorMessage(error)}`);
  }
  const { queues } = deps;
  if (queues.enabled) await callQStash(() => queues.ensure(definition));
  const { scheduleId } = await callQStash(() =>
    deps.qstash().schedules.create({
      ...(queues.enabled ? { queueName: queues.nameOf(definition.type) } : {}),
      destination: deps.endpointUrl(definition.endpoint),
      cron: input.cron.trim(),
      body: JSON.stringify(scheduleEnvelope(definition.type, payload, metadata)),
      headers: { 'content-type': 'application/json' },
      retries: definition.retries,
      // As the relay publishes: whole seconds, with the grace QStash needs to hear the answer.
      timeout: Math.ceil(definition.timeoutSeconds) + QSTASH_TIMEOUT_GRACE_SECONDS,
    }),
  );
  deps.logger.info('[jobs] Schedule created', { scheduleId, jobType: definition.type, cron: input.cron });
  return existingSchedule(deps, scheduleId);
}

/** Pauses (no runs until resumed) or resumes a schedule; ScheduleNotFoundError for an unknown id. */
export async function setSchedulePaused(deps: QStashStateDeps, id: string, paused: boolean): Promise<Schedule> {
  await existingSchedule(deps, id);
  await callQStash(() => (paused ? deps.qstash().schedules.pause({ schedule: id }) : deps.qstash().schedules.resume({ schedule: id })));
  deps.logger.info(paused ? '[jobs] Schedule paused' : '[jobs] Schedule resumed', { scheduleId: id });
  return existingSchedule(deps, id);
}

/** Deletes a schedule and answers it as it was; its runs' jobs stay. */
export async function deleteSchedule(deps: QStashStateDeps, id: string): Promise<Schedule> {
  const schedule = await existingSchedule(deps, id);
  await callQStash(() => deps.qstash().schedules.delete(id));
  deps.logger.info('[jobs] Schedule deleted', { scheduleId: id });
  return schedule;
}

/** The latest job a schedule's run created, if any. */
export async function lastRunOf(deps: Pick<QStashStateDeps, 'db'>, scheduleId: string): Promise<JobExecution | undefined> {
  const [row] = await deps.db
    .select()
    .from(jobExecutions)
    .where(and(eq(jobExecutions.scheduleId, scheduleId)))
    .orderBy(desc(jobExecutions.createdAt))
    .limit(1);
  return row;
}
