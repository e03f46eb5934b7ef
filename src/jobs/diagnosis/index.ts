/**
 * `jobDiagnosis(jobId)`: a verdict on one job (verdict.ts), the evidence behind it, and the
 * remedy in the operations guide's words with this deployment's values (the URL QStash calls,
 * the endpoint, the timeout). The evidence is what jobscope recorded (the row, its attempts, its
 * publish request) and QStash's log of the job's messages, read through the real Client.
 */
import type { Client } from '@upstash/qstash';
import { and, asc, eq, gte, ne, sql } from 'drizzle-orm';
import type { Policy } from '../../config/policy.js';
import type { Database } from '../../db/client.js';
import { jobAttempts, jobExecutions, jobPublishes, type JobEnvelope } from '../../db/schema.js';
import { errorMessage } from '../errors.js';
import type { JobQueues } from '../ops/queues.js';
import { jobStatistics } from '../read/index.js';
import { attemptLiveness, type Liveness } from '../recorder.js';
import type { JobDefinition, JobRegistry } from '../registry.js';
import { listSignatureFailures } from '../signature-failures.js';
import { attemptFailure, decideVerdict, deliveredElsewhere, failedDeliveries, overdueMs, type Evidence, type QStashLogEntry, type Verdict } from './verdict.js';

export { VERDICTS, type Verdict } from './verdict.js';

export interface DiagnosisDeps {
  db: Database;
  registry: JobRegistry;
  qstash: () => Client;
  endpointUrl: (path: string) => string;
  queues: JobQueues;
  liveness: Liveness;
  policy: Policy;
}

/** One fact the verdict rests on. */
export interface DiagnosisFact {
  /** Where it comes from: jobscope's own records, QStash's log, or this deployment's configuration. */
  source: 'DATABASE' | 'QSTASH' | 'CONFIG';
  message: string;
  at: Date | null;
}

export interface TimeoutFinding {
  timeoutSeconds: number;
  /** Each attempt's run time, oldest first (null while one runs). */
  attemptDurationsSeconds: Array<number | null>;
  /** The type's p95 over its completed jobs; null when none completed. */
  p95DurationSeconds: number | null;
  /** A timeout that would have let the longest attempt and the p95 finish, with a 50 % margin. */
  suggestedTimeoutSeconds: number;
}

export interface HandlerErrorFinding {
  /** The error of each failed attempt, oldest first. */
  errors: string[];
  sameEachTime: boolean;
  /** Other jobs of the type created in the last `windowHours` that failed with the latest error. */
  otherJobsWithSameError: number;
  windowHours: number;
}

export interface PayloadFinding {
  /** Why the worker refused it, as recorded. */
  error: string;
  /** Whether the stored payload passes the type's schema as it is registered now (schemas change). */
  passesSchemaToday: boolean;
  /** The schema's issues with it today (empty when it passes). */
  issuesToday: Array<{ path: Array<string | number>; message: string }>;
}

export interface JobDiagnosis {
  jobId: string;
  verdict: Verdict;
  summary: string;
  remedy: string | null;
  evidence: DiagnosisFact[];
  timeout: TimeoutFinding | null;
  handlerError: HandlerErrorFinding | null;
  payload: PayloadFinding | null;
}

const SAME_ERROR_WINDOW_HOURS = 24;

/** QStash's log of the job's messages (its latest and every attempt's), oldest first. */
async function qstashLogOf(deps: DiagnosisDeps, messageIds: string[]): Promise<{ log?: QStashLogEntry[]; error?: string }> {
  if (messageIds.length === 0) return { log: [] };
  try {
    const { logs } = await deps.qstash().logs({ messageIds });
    return {
      log: logs
        .map((entry) => {
          const extra = entry as typeof entry & { responseStatus?: number; url?: string };
          return {
            messageId: entry.messageId,
            state: entry.state,
            time: new Date(entry.time),
            error: entry.error ?? null,
            responseStatus: typeof extra.responseStatus === 'number' ? extra.responseStatus : null,
            url: typeof extra.url === 'string' ? extra.url : null,
          };
        })
        .sort((a, b) => a.time.getTime() - b.time.getTime()),
    };
  } catch (error) {
    return { error: errorMessage(error) };
  }
}

async function gather(deps: DiagnosisDeps, jobId: string): Promise<Evidence | undefined> {
  const { db } = deps;
  const [job] = await db.select().from(jobExecutions).where(eq(jobExecutions.jobId, jobId));
  if (!job) return undefined;
  const [attempts, [publish]] = await Promise.all([
    db.select().from(jobAttempts).where(eq(jobAttempts.jobId, jobId)).orderBy(asc(jobAttempts.id)),
    db.select().from(jobPublishes).where(eq(jobPublishes.jobId, jobId)),
  ]);
  const definition = deps.registry.forType(job.jobType);
  // QStash is asked only where its side can change the answer: a job not past its deliveries.
  const askQStash = job.status === 'pending' || job.status === 'failed' || job.status === 'retrying';
  // The job's messages: its latest and every attempt's.
  const messageIds = [...new Set([job.messageId, ...attempts.map((attempt) => attempt.messageId)].filter((id): id is string => id !== null))];
  const { log, error } = askQStash ? await qstashLogOf(deps, messageIds) : { log: [], error: undefined };
  const signatureFailures = askQStash && messageIds.length > 0 ? await listSignatureFailures(db, { messageIds, first: 20 }) : [];
  const queue =
    job.status === 'pending' && deps.queues.enabled
      ? await deps.queues.states().then(
          (states) => states.get(job.jobType),
          () => undefined,
        )
      : undefined;
  const now = new Date();
  const open = attempts.find((attempt) => attempt.finishedAt === null);
  const openAttemptLost =
    open !== undefined &&
    attemptLiveness(open, now, { timeoutSeconds: definition?.timeoutSeconds ?? 0, lostAfterMs: deps.liveness.lostAfterMs }).lost;
  return {
    job,
    attempts,
    publish: publish && { state: publish.state, attempts: publish.attempts, lastError: publish.lastError, notBefore: publish.notBefore, publishedAt: publish.publishedAt },
    definition,
    endpointUrl: definition ? deps.endpointUrl(definition.endpoint) : undefined,
    qstashLog: log,
    qstashError: error,
    signatureFailures,
    typePaused: queue?.paused,
    queueLag: queue?.lag,
    overdueAfterMs: deps.policy.stuckAfterMinutes * 60_000,
    openAttemptLost,
    now,
  };
}

const seconds = (ms: number | null) => (ms === null ? null : Math.round(ms) / 1000);

async function timeoutFinding(deps: DiagnosisDeps, evidence: Evidence, definition: JobDefinition): Promise<TimeoutFinding> {
  const [stats] = await jobStatistics(deps.db, { filter: { jobType: [definition.type], status: ['completed'] } });
  const durations = evidence.attempts.map((attempt) => seconds(attempt.durationMs));
  const p95 = stats?.p95DurationSeconds ?? null;
  const longest = Math.max(definition.timeoutSeconds, p95 ?? 0, ...durations.map((d) => d ?? 0));
  return { timeoutSeconds: definition.timeoutSeconds, attemptDurationsSeconds: durations, p95DurationSeconds: p95, suggestedTimeoutSeconds: Math.ceil(longest * 1.5) };
}

async function handlerErrorFinding(deps: DiagnosisDeps, evidence: Evidence): Promise<HandlerErrorFinding> {
  const errors = evidence.attempts.map((attempt) => attempt.error).filter((error): error is string => error !== null);
  const latest = errors.at(-1) ?? evidence.job.error ?? '';
  const [row] = await deps.db
    .select({ n: sql<number>`count(*)`.mapWith(Number) })
    .from(jobExecutions)
    .where(
      and(
        eq(jobExecutions.jobType, evidence.job.jobType),
        gte(jobExecutions.createdAt, sql`now() - make_interval(hours => ${SAME_ERROR_WINDOW_HOURS})`),
        eq(jobExecutions.error, latest),
        ne(jobExecutions.jobId, evidence.job.jobId),
      ),
    );
  return { errors, sameEachTime: errors.length > 0 && errors.every((error) => error === errors[0]), otherJobsWithSameError: row?.n ?? 0, windowHours: SAME_ERROR_WINDOW_HOURS };
}

function payloadFinding(evidence: Evidence, definition: JobDefinition | undefined): PayloadFinding {
  const error = evidence.attempts.at(-1)?.error ?? evidence.job.error ?? '';
  const envelope = evidence.job.payload as Partial<JobEnvelope> | null;
  const result = definition?.schema.safeParse(envelope?.payload);
  const issues = result && !result.success ? result.error.issues.map((issue) => ({ path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: issue.message })) : [];
  return { error, passesSchemaToday: result?.success === true, issuesToday: issues };
}

function facts(evidence: Evidence): DiagnosisFact[] {
  const out: DiagnosisFact[] = [];
  const { job, publish } = evidence;
  out.push({ source: 'DATABASE', message: `The job is ${job.status}${job.error ? `: ${job.error}` : ''}.`, at: job.updatedAt });
  if (publish) {
    out.push({
      source: 'DATABASE',
      message:
        publish.state === 'published'
          ? `QStash accepted its publish after ${publish.attempts} attempt(s)${job.messageId ? ` as message ${job.messageId}` : ''}.`
          : publish.state === 'failed'
            ? `Its publish failed after ${publish.attempts} attempt(s): ${publish.lastError ?? 'no error recorded'}.`
            : `Its publish is queued (${publish.attempts} attempt(s) so far${publish.lastError ? `, last error: ${publish.lastError}` : ''}).`,
      at: publish.publishedAt,
    });
    if (publish.notBefore) out.push({ source: 'DATABASE', message: `It is not to be delivered before ${publish.notBefore.toISOString()}.`, at: publish.notBefore });
  }
  for (const attempt of evidence.attempts) {
    const outcome = attempt.finishedAt === null ? 'still running' : attempt.error ? `failed (${attempt.httpStatus ?? '-'}): ${attempt.error}` : `succeeded (${attempt.httpStatus ?? '-'})`;
    out.push({ source: 'DATABASE', message: `Attempt ${attempt.attempt} of message ${attempt.messageId}: ${outcome}${attempt.durationMs !== null ? ` in ${seconds(attempt.durationMs)} s` : ''}.`, at: attempt.startedAt });
  }
  if (evidence.qstashError !== undefined) out.push({ source: 'QSTASH', message: `QStash could not be asked about the job's messages: ${evidence.qstashError}`, at: null });
  for (const entry of failedDeliveries(evidence)) {
    out.push({
      source: 'QSTASH',
      message: `QStash ${entry.state === 'FAILED' ? 'gave up on' : 'failed a delivery of'} message ${entry.messageId}${entry.responseStatus !== null ? `: the endpoint answered ${entry.responseStatus}` : ''}${entry.error ? ` (${entry.error})` : ''}.`,
      at: entry.time,
    });
  }
  const elsewhere = deliveredElsewhere(evidence);
  if (elsewhere) out.push({ source: 'QSTASH', message: `QStash delivered message ${elsewhere.messageId} to ${elsewhere.url ?? '(no URL logged)'}, and no attempt of it was recorded here.`, at: elsewhere.time });
  const late = overdueMs(evidence);
  if (late !== undefined) out.push({ source: 'DATABASE', message: `Published and due ${Math.round(late / 1000)} s ago, with no delivery yet (the threshold is ${Math.round(evidence.overdueAfterMs / 60_000)} min).`, at: null });
  if ((evidence.queueLag ?? 0) > 0) out.push({ source: 'QSTASH', message: `${evidence.queueLag} message(s) wait their turn in the type's queue.`, at: null });
  for (const failure of evidence.signatureFailures) {
    out.push({
      source: 'DATABASE',
      message:
        `The worker rejected a delivery of message ${failure.messageId ?? '(none)'} for its signature: ${failure.reason}` +
        (failure.signedUrl ? `, signed for ${failure.signedUrl} but checked against ${failure.checkedUrl}` : `, checked against ${failure.checkedUrl}`) +
        '.',
      at: failure.at,
    });
  }
  if (evidence.typePaused) out.push({ source: 'QSTASH', message: `The type's queue is paused (resumeJobType releases it).`, at: null });
  if (evidence.endpointUrl) out.push({ source: 'CONFIG', message: `QStash delivers this type to ${evidence.endpointUrl}.`, at: null });
  return out;
}

function summaryAndRemedy(verdict: Verdict, evidence: Evidence, findings: Pick<JobDiagnosis, 'timeout' | 'handlerError' | 'payload'>): { summary: string; remedy: string | null } {
  const url = evidence.endpointUrl ?? '(the type is no longer registered)';
  const endpoint = evidence.definition?.endpoint ?? '(unknown)';
  switch (verdict) {
    case 'HEALTHY':
      return { summary: `Completed${evidence.attempts.length > 1 ? ` after ${evidence.attempts.length} attempts` : ''}.`, remedy: null };
    case 'RUNNING':
      return { summary: 'An attempt is running and its worker is alive (its heartbeats arrive).', remedy: null };
    case 'CANCELLED':
      return { summary: 'Cancelled before it ran to the end.', remedy: 'retryJob runs it again if it is still wanted.' };
    case 'RETRYING': {
      const kind = attemptFailure(evidence.attempts.at(-1)?.error ?? null);
      return {
        summary: `Attempt ${evidence.attempts.at(-1)?.attempt ?? 0} failed${kind ? ` (${kind})` : ''}; QStash will deliver it again.`,
        remedy: 'Nothing to do unless it keeps failing: see the attempts for the error.',
      };
    }
    case 'NOT_DELIVERED_YET':
      if (evidence.publish?.notBefore && evidence.publish.notBefore > evidence.now) {
        return { summary: `Delayed: not due before ${evidence.publish.notBefore.toISOString()}.`, remedy: null };
      }
      if (evidence.typePaused) return { summary: "Waiting: its type's queue is paused.", remedy: `resumeJobType(jobType: "${evidence.job.jobType}") releases it.` };
      if (evidence.publish?.state === 'queued') return { summary: 'Not published to QStash yet: the relay is trying.', remedy: 'See publishState for its attempts and last error; check the QStash token and URL (systemCheck).' };
      return { summary: 'Published; QStash has not delivered it yet.', remedy: 'It may be waiting its turn in its type\'s queue (queueDepth shows the lag).' };
    case 'ENDPOINT_UNREACHABLE': {
      const elsewhere = deliveredElsewhere(evidence);
      const late = overdueMs(evidence);
      return {
        summary: elsewhere
          ? `QStash delivered it to ${elsewhere.url ?? 'another URL'} at ${elsewhere.time.toISOString()}, but this deployment (${url}) never received it: another deployment did.`
          : late !== undefined && failedDeliveries(evidence).length === 0
            ? `Still pending ${Math.round(late / 60_000)} min past its due time, and QStash reports no delivery to ${url}: the worker never ran it.`
            : `QStash could not deliver it to ${url}: the worker never ran it.`,
        remedy:
          `Check that BASE_URL points at this deployment and that ${url} is reachable from the internet (QStash calls it from outside: ` +
          `localhost or a private address cannot be reached), that the route ${endpoint} exists, and that nothing in front of it (auth, a firewall) ` +
          'refuses it. Then retryJob (or retryDeadLetters) delivers it again.',
      };
    }
    case 'SIGNATURE_INVALID':
      return {
        summary: `The worker rejected QStash's deliveries with 401: their signature did not verify against ${url}.`,
        remedy:
          'Check QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY against the QStash console (or the stand-in that published it, which may have restarted ' +
          `with new keys), and that BASE_URL matches the URL QStash calls exactly (scheme, host, port, path): the signature covers ${url}.`,
      };
    case 'PAYLOAD_INVALID':
      return {
        summary: `The worker refused its payload: ${findings.payload?.error ?? ''}`.trim(),
        remedy: findings.payload?.passesSchemaToday
          ? "The type's schema accepts the payload today: retryJob runs it as it is."
          : 'Fix the payload where it is enqueued, or replayJob with a corrected payload.',
      };
    case 'TIMEOUT': {
      const t = findings.timeout;
      return {
        summary: `An attempt ran past the type's timeout of ${t?.timeoutSeconds ?? evidence.definition?.timeoutSeconds ?? '?'} s.`,
        remedy: t
          ? `Raise the type's timeoutSeconds to about ${t.suggestedTimeoutSeconds} s (its p95 is ${t.p95DurationSeconds ?? 'unknown'} s), or make the handler faster, e.g. split the work into smaller jobs.`
          : 'Raise the type\'s timeoutSeconds or make the handler faster.',
      };
    }
    case 'HANDLER_ERROR': {
      const h = findings.handlerError;
      return {
        summary: `The handler threw${h?.sameEachTime && h.errors.length > 1 ? ` the same error on all ${h.errors.length} attempts` : ''}: ${h?.errors.at(-1) ?? evidence.job.error ?? ''}`,
        remedy:
          (h && h.otherJobsWithSameError > 0 ? `${h.otherJobsWithSameError} other job(s) of the type failed the same way in the last ${h.windowHours} h: look for a common cause (a dependency down, a bad deploy). ` : '') +
          'Fix the cause, then retryJob (or retryJobs with a filter on the error) runs it again; testJob runs the handler directly with this payload.',
      };
    }
    case 'WORKER_LOST':
      return {
        summary: 'An attempt started and its worker stopped before recording an outcome (a crash, a kill, a deploy).',
        remedy: "The reaper closes the attempt and, by the type's onWorkerLost policy, enqueues the job again or fails it; retryJob runs it again now.",
      };
    case 'PUBLISH_FAILED':
      return {
        // The relay's error already says what failed ("Publishing job … to QStash failed: …").
        summary: `It was never delivered. ${evidence.publish?.lastError ?? 'Publishing it to QStash failed.'}`,
        remedy: 'Check QSTASH_TOKEN (and QSTASH_URL) and that QStash is reachable (systemCheck), then retryJob.',
      };
  }
}

/** The diagnosis of one job, or undefined when there is no such job. */
export async function diagnoseJob(deps: DiagnosisDeps, jobId: string): Promise<JobDiagnosis | undefined> {
  const evidence = await gather(deps, jobId);
  if (!evidence) return undefined;
  const verdict = decideVerdict(evidence);
  const definition = deps.registry.forType(evidence.job.jobType);
  const findings: Pick<JobDiagnosis, 'timeout' | 'handlerError' | 'payload'> = {
    timeout: verdict === 'TIMEOUT' && definition ? await timeoutFinding(deps, evidence, definition) : null,
    handlerError: verdict === 'HANDLER_ERROR' ? await handlerErrorFinding(deps, evidence) : null,
    payload: verdict === 'PAYLOAD_INVALID' ? payloadFinding(evidence, definition) : null,
  };
  return { jobId, verdict, ...summaryAndRemedy(verdict, evidence, findings), evidence: facts(evidence), ...findings };
}
