/**
 * The record of deliveries the worker rejected for their signature (`signature_failures`): why
 * (the verifier's error, classified), which message and URLs, never the body or the token. The
 * table is bounded: at most {@link MAX_ROWS} rows and {@link RETENTION_DAYS} days, and this process
 * writes at most {@link MAX_WRITES_PER_SECOND} a second, so a flood of forged requests cannot turn
 * into a flood of writes (the rest are counted in the log line).
 */
import { and, desc, gte, inArray, lt, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { signatureFailures, type SignatureFailure } from '../db/schema.js';
import type { Logger } from '../logger.js';
import { errorMessage } from './errors.js';

export const SIGNATURE_FAILURE_REASONS = ['MISSING_SIGNATURE', 'WRONG_KEY', 'EXPIRED', 'NOT_YET_VALID', 'URL_MISMATCH', 'BODY_HASH', 'MALFORMED'] as const;
export type SignatureFailureReason = (typeof SIGNATURE_FAILURE_REASONS)[number];

export const MAX_ROWS = 10_000;
export const RETENTION_DAYS = 7;
const MAX_WRITES_PER_SECOND = 20;

/** Why the Receiver refused a signature, from its words (and jose's), and the URL it was made for when it says. */
export function classifySignatureError(message: string | undefined): { reason: SignatureFailureReason; signedUrl: string | null } {
  if (message === undefined) return { reason: 'MISSING_SIGNATURE', signedUrl: null };
  const subject = /^invalid subject: (.*), want: /.exec(message);
  if (subject) return { reason: 'URL_MISMATCH', signedUrl: subject[1] ?? null };
  if (message.startsWith('body hash does not match')) return { reason: 'BODY_HASH', signedUrl: null };
  if (/"exp" claim/.test(message)) return { reason: 'EXPIRED', signedUrl: null };
  if (/"nbf" claim/.test(message)) return { reason: 'NOT_YET_VALID', signedUrl: null };
  if (/signature verification failed/i.test(message)) return { reason: 'WRONG_KEY', signedUrl: null };
  return { reason: 'MALFORMED', signedUrl: null };
}

export interface SignatureRejection {
  messageId: string | null;
  path: string;
  checkedUrl: string;
  /** The verifier's error; undefined when there was no signature at all. */
  error: string | undefined;
}

/** Writes rejections, at most MAX_WRITES_PER_SECOND a second; never throws (the 401 is answered whatever happens here). */
export class SignatureFailureLog {
  private windowStart = 0;
  private writes = 0;
  private dropped = 0;
  private inserts = 0;

  constructor(private readonly deps: { db: Database; logger: Logger }) {}

  async record(rejection: SignatureRejection): Promise<void> {
    const now = Date.now();
    if (now - this.windowStart >= 1_000) {
      if (this.dropped > 0) this.deps.logger.warn('[jobs] Signature failures not recorded (over the write rate)', { dropped: this.dropped });
      this.windowStart = now;
      this.writes = 0;
      this.dropped = 0;
    }
    if (this.writes >= MAX_WRITES_PER_SECOND) {
      this.dropped++;
      return;
    }
    this.writes++;
    const { reason, signedUrl } = classifySignatureError(rejection.error);
    try {
      await this.deps.db.insert(signatureFailures).values({
        messageId: rejection.messageId?.slice(0, 200) ?? null,
        path: rejection.path.slice(0, 500),
        checkedUrl: rejection.checkedUrl.slice(0, 1000),
        signedUrl: signedUrl?.slice(0, 1000) ?? null,
        reason,
        detail: rejection.error?.slice(0, 500) ?? null,
      });
      // Now and then, the bound: rows past the newest MAX_ROWS, and those older than the retention.
      if (++this.inserts % 100 === 1) await purgeSignatureFailures(this.deps.db);
    } catch (error) {
      this.deps.logger.warn('[jobs] Could not record a signature failure', { error: errorMessage(error) });
    }
  }
}

export async function purgeSignatureFailures(db: Database): Promise<void> {
  await db.delete(signatureFailures).where(lt(signatureFailures.at, sql`now() - make_interval(days => ${RETENTION_DAYS})`));
  await db.delete(signatureFailures).where(lte(signatureFailures.id, sql`(SELECT max(${signatureFailures.id}) - ${MAX_ROWS} FROM ${signatureFailures})`));
}

/** The newest rejections first, since `since`; only those of `messageIds` when given. */
export async function listSignatureFailures(
  db: Database,
  input: { since?: Date | undefined; first?: number | undefined; messageIds?: readonly string[] | undefined } = {},
): Promise<SignatureFailure[]> {
  return db
    .select()
    .from(signatureFailures)
    .where(
      and(
        input.since ? gte(signatureFailures.at, input.since) : undefined,
        input.messageIds ? inArray(signatureFailures.messageId, [...input.messageIds]) : undefined,
      ),
    )
    .orderBy(desc(signatureFailures.id))
    .limit(Math.min(Math.max(input.first ?? 50, 1), 500));
}
