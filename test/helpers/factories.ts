import { jobAttempts, jobExecutions, type JobStatus, type NewJobExecution } from '../../src/db/schema.js';
import type { Database } from '../../src/db/client.js';

/** A small deterministic PRNG (mulberry32), so generated data is the same on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const GENERATED_JOB_TYPES = ['send-email', 'generate-report', 'resize-image'] as const;

export interface GenerateOptions {
  count: number;
  seed?: number;
  /** Rows are created within `spanMinutes` before `now`. */
  now?: Date;
  spanMinutes?: number;
  /** Prefix of generated job ids (unique per call when calls are mixed in one table). */
  prefix?: string;
}

/**
 * Job rows shaped like the recorder writes them: pending rows have no times, processing rows a
 * start only, final rows a completion (cancelled ones sometimes without a start). Creation
 * times and durations repeat on purpose, so orderings have ties; generate-report is slow.
 */
export function generateExecutions(options: GenerateOptions): NewJobExecution[] {
  const rnd = random(options.seed ?? 1);
  const now = (options.now ?? new Date()).getTime();
  const span = (options.spanMinutes ?? 300) * 60_000;
  const pick = <T>(items: readonly T[]) => items[Math.floor(rnd() * items.length)]!;
  const rows: NewJobExecution[] = [];
  let previousCreated = now - span;
  for (let i = 0; i < options.count; i++) {
    const jobType = pick(GENERATED_JOB_TYPES);
    const status = pick<JobStatus>([
      'completed', 'completed', 'completed', 'completed', 'failed', 'failed', 'cancelled', 'pending', 'processing', 'retrying',
    ]);
    // Every fifth row shares the previous row's creation time.
    const createdAt = i % 5 === 4 ? previousCreated : now - Math.floor(rnd() * span);
    previousCreated = createdAt;
    const waitMs = Math.floor(rnd() * 5_000);
    const slow = jobType === 'generate-report';
    // Whole seconds half of the time, so durations tie.
    const durationMs = rnd() < 0.5 ? Math.floor(rnd() * (slow ? 90 : 20)) * 1000 : Math.floor(rnd() * (slow ? 90_000 : 20_000));
    const notStarted = status === 'pending' || (status === 'cancelled' && rnd() < 0.5);
    const startedAt = notStarted ? null : new Date(Math.min(createdAt + waitMs, now));
    const final = status === 'completed' || status === 'failed' || status === 'cancelled';
    const completedAt = final ? new Date((startedAt?.getTime() ?? createdAt + waitMs) + (startedAt ? durationMs : 0)) : null;
    const jobId = `${options.prefix ?? 'gen'}-${String(i).padStart(5, '0')}`;
    const userId = `user-${i % 7}`;
    const organizationId = `org-${i % 3}`;
    rows.push({
      jobId,
      jobType,
      status,
      retryCount: status === 'retrying' ? 1 : 0,
      payload: {
        jobId,
        type: jobType,
        payload: { index: i, tag: i % 2 === 0 ? 'even' : 'odd', nested: { bucket: i % 4 } },
        metadata: { userId, organizationId },
      },
      error: status === 'failed' || status === 'retrying' ? pick(['SMTP timeout', 'Report query cancelled', 'Disk 100% full_']) : null,
      userId,
      organizationId,
      createdAt: new Date(createdAt),
      startedAt,
      completedAt,
    });
  }
  return rows;
}

/** Inserts rows in batches of 500 (single-row inserts are ten times slower). */
export async function insertExecutions(db: Database, rows: NewJobExecution[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await db.insert(jobExecutions).values(rows.slice(i, i + 500));
}

/** Two finished attempts per job: a failure then a success. */
export async function insertAttempts(db: Database, jobIds: readonly string[]): Promise<void> {
  const started = Date.now() - 60_000;
  await db.insert(jobAttempts).values(
    jobIds.flatMap((jobId) => [
      { jobId, attempt: 0, messageId: `msg-${jobId}`, startedAt: new Date(started), finishedAt: new Date(started + 1500), durationMs: 1500, httpStatus: 500, error: 'first try' },
      { jobId, attempt: 1, messageId: `msg-${jobId}`, startedAt: new Date(started + 5000), finishedAt: new Date(started + 5250), durationMs: 250, httpStatus: 200, error: null },
    ]),
  );
}
