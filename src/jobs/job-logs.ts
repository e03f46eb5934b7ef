/**
 * The guide's debugging step 2, "review application logs", for one job: every log line that
 * carries a `jobId` is also written to `job_logs`, a winston transport on jobscope's logger that
 * buffers and inserts in batches (one statement per flush), after the logger's own format has
 * scrubbed secrets. Bounded: {@link MAX_LINES_PER_JOB} lines per job (per process), lines older
 * than {@link RETENTION_DAYS} days purged now and then, and a line of a job the table does not hold
 * (a test run, a job not committed) is dropped. The lines of a purged job go with it.
 */
import { asc, eq, sql } from 'drizzle-orm';
import Transport from 'winston-transport';
import type { Database } from '../db/client.js';
import { jobExecutions, jobLogs, type JobLog } from '../db/schema.js';

export const MAX_LINES_PER_JOB = 200;
export const RETENTION_DAYS = 7;
const FLUSH_INTERVAL_MS = 200;
const MAX_BUFFER = 500;
/** Jobs whose line count this process remembers (the oldest are forgotten first). */
const TRACKED_JOBS = 10_000;

interface Line {
  job_id: string;
  attempt: number | null;
  at: string;
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

export class JobLogTransport extends Transport {
  private buffer: Line[] = [];
  private readonly counts = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private flushes = 0;
  /** Lines dropped: over a job's cap, or a batch the database refused. */
  dropped = 0;

  constructor(
    private readonly db: Database,
    /** Told when a batch could not be written (its line names no job, so it is not kept here itself). */
    private readonly onError: (error: unknown, lines: number) => void = () => {},
  ) {
    super({ level: 'debug' });
  }

  override log(info: Record<string, unknown>, next: () => void): void {
    const { jobId, attempt, level, message, timestamp, testRun, ...fields } = info;
    if (typeof jobId === 'string' && testRun !== true) {
      const seen = this.counts.get(jobId) ?? 0;
      if (seen >= MAX_LINES_PER_JOB) this.dropped++;
      else {
        if (!this.counts.has(jobId) && this.counts.size >= TRACKED_JOBS) this.counts.delete(this.counts.keys().next().value!);
        this.counts.set(jobId, seen + 1);
        this.buffer.push({
          job_id: jobId,
          attempt: typeof attempt === 'number' ? attempt : null,
          at: typeof timestamp === 'string' ? timestamp : new Date().toISOString(),
          level: String(level),
          message: String(message),
          fields: JSON.parse(JSON.stringify(fields, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))) as Record<string, unknown>,
        });
        if (this.buffer.length >= MAX_BUFFER) void this.flush();
        else this.timer ??= setTimeout(() => void this.flush(), FLUSH_INTERVAL_MS).unref();
      }
    }
    next();
  }

  /** Writes what is buffered (one INSERT … SELECT of the lines whose job exists). */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.buffer;
    this.buffer = [];
    if (lines.length === 0) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      try {
        // Typed text, then cast: postgres.js would send a string bound as jsonb as a JSON string.
        await this.db.execute(sql`
          INSERT INTO ${jobLogs} (job_id, attempt, at, level, message, fields)
          SELECT v.job_id, v.attempt, v.at, v.level, v.message, v.fields
          FROM jsonb_to_recordset(${JSON.stringify(lines)}::text::jsonb)
            AS v(job_id text, attempt integer, at timestamptz, level text, message text, fields jsonb)
          WHERE EXISTS (SELECT 1 FROM ${jobExecutions} j WHERE j.job_id = v.job_id)`);
        if (++this.flushes % 500 === 1) await this.db.delete(jobLogs).where(sql`${jobLogs.at} < now() - make_interval(days => ${RETENTION_DAYS})`);
      } catch (error) {
        // These lines are lost to the table (the console and the files have them).
        this.dropped += lines.length;
        this.onError(error, lines.length);
      }
    });
    return this.flushing;
  }

  override close(): void {
    void this.flush();
  }
}

/** A job's kept lines, oldest first. */
export async function logsOfJob(db: Database, jobId: string, first = 100): Promise<JobLog[]> {
  return db
    .select()
    .from(jobLogs)
    .where(eq(jobLogs.jobId, jobId))
    .orderBy(asc(jobLogs.id))
    .limit(Math.min(Math.max(first, 1), MAX_LINES_PER_JOB));
}
