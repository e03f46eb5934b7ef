/**
 * Evaluates the alert rules on an interval, one instance at a time across every instance on the
 * database (a lease on alert_evaluator's one row: the holder renews it each pass, another takes
 * over once it lapses). Per rule, each pass:
 * - the condition holds and the rule is not firing: FIRED, unless the last firing is within the
 *   cooldown (a flapping condition fires once per cooldown);
 * - it holds and the rule is firing: FIRED again once the cooldown has passed since the last
 *   firing, unless that firing was acknowledged;
 * - it no longer holds and the rule is firing: RESOLVED.
 * A muted or disabled rule is not evaluated. The event and the rule's new state are written in one
 * transaction; the channels are notified after it commits, and what they answered is kept on the event.
 */
import { and, eq, isNull, or, sql } from 'drizzle-orm';
import type { Database } from '../../db/client.js';
import { alertEvaluator, alertEvents, alertRules, type AlertEvent, type AlertRule } from '../../db/schema.js';
import type { Logger } from '../../logger.js';
import { startPeriodic, type Periodic } from '../../periodic.js';
import { errorMessage } from '../errors.js';
import type { JobFilter } from '../read/filter.js';
import { notify, type WebhookSettings } from './channels.js';
import { METRICS, type MeasureDeps, type Measurement } from './metrics.js';
import type { AlertStore } from './rules.js';

export interface AlertEvaluatorDeps {
  db: Database;
  store: AlertStore;
  measure: MeasureDeps;
  /** Acts as `system:alerts`. */
  logger: Logger;
  webhooks: WebhookSettings;
  /** This instance, as the lease names it. */
  owner: string;
}

const LEASE_ROW = 1;

export class AlertEvaluator {
  private periodic: Periodic | undefined;
  private leaseMs = 60_000;

  constructor(private readonly deps: AlertEvaluatorDeps) {}

  /** This instance, as the lease names it while it evaluates. */
  get owner(): string {
    return this.deps.owner;
  }

  /** Evaluates every `intervalSeconds` until `stop()`; 0 turns evaluation off. */
  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0 || this.periodic) return;
    this.leaseMs = Math.max(60_000, intervalSeconds * 3_000);
    this.periodic = startPeriodic(() => this.check(), {
      intervalMs: intervalSeconds * 1000,
      onError: (error) => this.deps.logger.error('[jobs] Alert check failed', { error: errorMessage(error) }),
    });
  }

  async stop(): Promise<void> {
    await this.periodic?.stop();
    this.periodic = undefined;
  }

  /**
   * One pass over the rules at `now` (the clock the cooldowns and mutes are read by; the metrics
   * read the database's). Answers the events it wrote, after their channels were notified; none
   * when another instance holds the lease.
   */
  async check(now = new Date()): Promise<AlertEvent[]> {
    if (!(await this.takeLease())) return [];
    await this.deps.store.ensureDefaults();
    const rules = await this.deps.db
      .select({ rule: alertRules, firingAcknowledged: sql<boolean>`${alertEvents.acknowledgedAt} IS NOT NULL` })
      .from(alertRules)
      .leftJoin(alertEvents, eq(alertEvents.id, alertRules.firingEventId))
      .where(and(eq(alertRules.enabled, true), or(isNull(alertRules.mutedUntil), sql`${alertRules.mutedUntil} <= ${now.toISOString()}::timestamptz`)))
      .orderBy(alertRules.createdAt, alertRules.id);
    const written: { rule: AlertRule; event: AlertEvent }[] = [];
    for (const { rule, firingAcknowledged } of rules) {
      const event = await this.evaluate(rule, firingAcknowledged, now);
      if (event) written.push({ rule, event });
    }
    return Promise.all(
      written.map(async ({ rule, event }) => {
        const deliveries = await notify(rule, event, { logger: this.deps.logger, webhooks: this.deps.webhooks });
        const [kept] = await this.deps.db.update(alertEvents).set({ deliveries }).where(eq(alertEvents.id, event.id)).returning();
        return kept ?? { ...event, deliveries };
      }),
    );
  }

  /** Takes or renews the lease; false while another instance holds it. */
  private async takeLease(): Promise<boolean> {
    const { db, owner } = this.deps;
    const until = sql`now() + make_interval(secs => ${this.leaseMs / 1000})`;
    const rows = await db
      .insert(alertEvaluator)
      .values({ id: LEASE_ROW, owner, leaseUntil: until })
      .onConflictDoUpdate({
        target: alertEvaluator.id,
        set: { owner, leaseUntil: until },
        setWhere: or(eq(alertEvaluator.owner, owner), sql`${alertEvaluator.leaseUntil} < now()`),
      })
      .returning({ owner: alertEvaluator.owner });
    return rows.length > 0;
  }

  /** One rule: measures it and writes the event its state change makes, if any. */
  private async evaluate(rule: AlertRule, firingAcknowledged: boolean, now: Date): Promise<AlertEvent | undefined> {
    const metric = METRICS[rule.metric];
    let measured: Measurement;
    try {
      measured = await metric.measure(this.deps.measure, { scope: rule.scope as JobFilter, windowMinutes: rule.windowMinutes, threshold: rule.threshold });
    } catch (error) {
      this.deps.logger.warn('[jobs] Alert rule could not be evaluated; its state is kept', { ruleId: rule.id, ruleName: rule.name, metric: rule.metric, error: errorMessage(error) });
      return undefined;
    }
    const holds = measured.value >= rule.threshold;
    const firing = rule.firingEventId !== null;
    const cooled = rule.lastFiredAt === null || now.getTime() - rule.lastFiredAt.getTime() >= rule.cooldownMinutes * 60_000;
    const kind = holds ? (cooled && !(firing && firingAcknowledged) ? 'fired' : undefined) : firing ? 'resolved' : undefined;
    const state = { lastValue: measured.value, lastEvaluatedAt: now };
    if (kind === undefined) {
      await this.deps.db.update(alertRules).set(state).where(eq(alertRules.id, rule.id));
      return undefined;
    }
    return this.deps.db.transaction(async (tx) => {
      const [event] = await tx
        .insert(alertEvents)
        .values({
          ruleId: rule.id,
          ruleName: rule.name,
          metric: rule.metric,
          kind,
          at: now,
          value: measured.value,
          threshold: rule.threshold,
          message: metric.message,
          jobIds: measured.jobIds,
          detail: measured.detail,
        })
        .returning();
      await tx
        .update(alertRules)
        .set({ ...state, ...(kind === 'fired' ? { firingEventId: event!.id, lastFiredAt: now } : { firingEventId: null }) })
        .where(eq(alertRules.id, rule.id));
      return event!;
    });
  }
}

/** Whether `rule` is muted at `now`. */
export function isMuted(rule: Pick<AlertRule, 'mutedUntil'>, now = new Date()): boolean {
  return rule.mutedUntil !== null && rule.mutedUntil.getTime() > now.getTime();
}
