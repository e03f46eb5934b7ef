/**
 * Alert rules and their events in the database: the one definition of a valid rule (zod), the
 * rows, and the guide's two alerts as default rules written from the configuration.
 */
import { randomUUID } from 'node:crypto';
import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { z } from 'zod';
import { ALERT_COOLDOWN_MINUTES } from '../../config/policy.js';
import type { Database } from '../../db/client.js';
import { ALERT_METRICS, alertEvents, alertRules, type AlertChannels, type AlertEvent, type AlertEventKind, type AlertRule } from '../../db/schema.js';
import { formatPath, InvalidArgumentError, pageSize } from '../errors.js';
import { givenFields, JobFilterSchema, type JobFilter, type JobFilterField } from '../read/filter.js';
import { METRICS } from './metrics.js';

/** A rule's time is its window: a scope names which jobs, never when. */
const TIME_FIELDS: readonly JobFilterField[] = ['createdAfter', 'createdBefore', 'completedAfter', 'completedBefore'];
export const MAX_WEBHOOKS = 5;
export const ALERT_EVENTS_PAGE_MAX = 200;

const webhookSchema = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  format: z.enum(['json', 'slack']).default('json'),
  secret: z.string().min(16, 'must be at least 16 characters').max(256).optional(),
});

const channelsSchema = z.strictObject({
  log: z.boolean().default(true),
  webhooks: z.array(webhookSchema).max(MAX_WEBHOOKS).default([]),
});

/** Every field of a rule a caller sets; `createAlertRule` needs name, metric and threshold. */
const ruleFields = {
  name: z.string().trim().min(1, 'must not be empty').max(200),
  metric: z.enum(ALERT_METRICS),
  scope: JobFilterSchema,
  windowMinutes: z.number().int('must be a whole number of minutes').min(1).max(43_200),
  threshold: z.number().positive('must be above 0').finite(),
  cooldownMinutes: z.number().int('must be a whole number of minutes').min(0).max(ALERT_COOLDOWN_MINUTES.max),
  channels: channelsSchema,
  enabled: z.boolean(),
};

const ruleSchema = z
  .strictObject({
    ...ruleFields,
    scope: ruleFields.scope.default({}),
    windowMinutes: ruleFields.windowMinutes.default(60),
    cooldownMinutes: ruleFields.cooldownMinutes.default(ALERT_COOLDOWN_MINUTES.default),
    channels: ruleFields.channels.prefault({}),
    enabled: ruleFields.enabled.default(true),
  })
  .superRefine((rule, ctx) => {
    const metric = METRICS[rule.metric];
    if (metric.maxThreshold !== undefined && rule.threshold > metric.maxThreshold) {
      ctx.addIssue({ code: 'custom', path: ['threshold'], message: `must be at most ${metric.maxThreshold} for ${rule.metric.toUpperCase()} (a rate: 0.05 is 5 %)` });
    }
    const scoped = givenFields(rule.scope as JobFilter);
    if (!metric.scoped && scoped.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['scope'], message: `${rule.metric.toUpperCase()} takes no scope: a delivery whose signature did not verify names no job jobscope could trust` });
    }
    for (const field of scoped.filter((f) => TIME_FIELDS.includes(f))) {
      ctx.addIssue({ code: 'custom', path: ['scope', field], message: 'a rule measures over its window (windowMinutes): a scope may not name a time' });
    }
  });

/** A rule as a caller creates it (defaults applied). */
export type AlertRuleInput = z.input<typeof ruleSchema>;
export type ValidAlertRule = z.output<typeof ruleSchema>;
/** What `updateAlertRule` may change: any field, the others kept. */
export type AlertRulePatch = Partial<z.input<z.ZodObject<typeof ruleFields>>>;

/** @throws InvalidArgumentError naming every bad field of `argument`; nothing was written. */
export function parseAlertRule(input: unknown, argument = 'input'): ValidAlertRule {
  const parsed = ruleSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${formatPath([argument, ...i.path.map((k) => (typeof k === 'number' ? k : String(k)))])}: ${i.message}`);
  throw new InvalidArgumentError(argument, `Invalid alert rule: ${problems.join('; ')}`);
}

/** A rule's row as input again, for a patch to apply to (its webhooks' secrets kept). */
export function ruleAsInput(rule: AlertRule): AlertRuleInput {
  return {
    name: rule.name,
    metric: rule.metric,
    scope: rule.scope as AlertRuleInput['scope'],
    windowMinutes: rule.windowMinutes,
    threshold: rule.threshold,
    cooldownMinutes: rule.cooldownMinutes,
    channels: rule.channels,
    enabled: rule.enabled,
  };
}

/** The arguments as the audit log keeps them: webhook secrets replaced. */
export function withoutSecrets(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === 'secret' && typeof v === 'string' ? '[redacted]' : v))) as Record<string, unknown>;
}

/** The guide's two alerts, as rules: what the configuration says today. */
export interface DefaultRuleSettings {
  failureRateThreshold: number;
  healthWindowMinutes: number;
  stuckAfterMinutes: number;
  cooldownMinutes: number;
  webhookUrl: string | undefined;
  webhookSecret: string | undefined;
}

function defaultRules(settings: DefaultRuleSettings): (ValidAlertRule & { defaultKey: string })[] {
  const channels: AlertChannels = {
    log: true,
    webhooks: settings.webhookUrl ? [{ url: settings.webhookUrl, format: 'json', secret: settings.webhookSecret }] : [],
  };
  const common = { scope: {}, cooldownMinutes: settings.cooldownMinutes, channels, enabled: true };
  return [
    {
      ...common,
      defaultKey: 'failure-rate',
      name: 'High job failure rate',
      metric: 'failure_rate',
      windowMinutes: settings.healthWindowMinutes,
      threshold: settings.failureRateThreshold,
    },
    { ...common, defaultKey: 'stuck-jobs', name: 'Jobs stuck in processing', metric: 'stuck_jobs', windowMinutes: settings.stuckAfterMinutes, threshold: 1 },
  ];
}

const columns = (rule: ValidAlertRule) => ({
  name: rule.name,
  metric: rule.metric,
  scope: rule.scope as Record<string, unknown>,
  windowMinutes: rule.windowMinutes,
  threshold: rule.threshold,
  cooldownMinutes: rule.cooldownMinutes,
  channels: rule.channels,
  enabled: rule.enabled,
});

/** The rows of rules and events. */
export class AlertStore {
  private defaults: Promise<void> | undefined;

  constructor(private readonly db: Database, private readonly settings: DefaultRuleSettings) {}

  /**
   * Writes the default rules from the configuration, once per process: a default rule a team has
   * edited (`customized`) keeps its edit.
   */
  ensureDefaults(): Promise<void> {
    this.defaults ??= (async () => {
      for (const rule of defaultRules(this.settings)) {
        await this.db
          .insert(alertRules)
          .values({ id: `rule_default_${rule.defaultKey}`, defaultKey: rule.defaultKey, ...columns(rule) })
          .onConflictDoUpdate({
            target: alertRules.defaultKey,
            set: { ...columns(rule), updatedAt: sql`now()` },
            setWhere: sql`NOT ${alertRules.customized} AND (${alertRules.name}, ${alertRules.windowMinutes}, ${alertRules.threshold}, ${alertRules.cooldownMinutes}, ${alertRules.channels}) IS DISTINCT FROM (${rule.name}, ${rule.windowMinutes}::int, ${rule.threshold}::float8, ${rule.cooldownMinutes}::int, ${JSON.stringify(rule.channels)}::text::jsonb)`,
          });
      }
    })();
    this.defaults.catch(() => (this.defaults = undefined));
    return this.defaults;
  }

  async list(): Promise<AlertRule[]> {
    await this.ensureDefaults();
    return this.db.select().from(alertRules).orderBy(alertRules.createdAt, alertRules.id);
  }

  async get(id: string): Promise<AlertRule | undefined> {
    await this.ensureDefaults();
    const [rule] = await this.db.select().from(alertRules).where(eq(alertRules.id, id));
    return rule;
  }

  async create(rule: ValidAlertRule): Promise<AlertRule> {
    const [row] = await this.db
      .insert(alertRules)
      .values({ id: `rule_${randomUUID()}`, ...columns(rule) })
      .returning();
    return row!;
  }

  /** Replaces a rule's settings; a default rule becomes the team's (`customized`). */
  async update(id: string, rule: ValidAlertRule): Promise<AlertRule | undefined> {
    const [row] = await this.db
      .update(alertRules)
      .set({ ...columns(rule), customized: sql`${alertRules.defaultKey} IS NOT NULL`, updatedAt: sql`now()` })
      .where(eq(alertRules.id, id))
      .returning();
    return row;
  }

  async delete(id: string): Promise<AlertRule | undefined> {
    const [row] = await this.db.delete(alertRules).where(eq(alertRules.id, id)).returning();
    return row;
  }

  async mute(id: string, until: Date | null): Promise<AlertRule | undefined> {
    const [row] = await this.db.update(alertRules).set({ mutedUntil: until, updatedAt: sql`now()` }).where(eq(alertRules.id, id)).returning();
    return row;
  }

  /** Events newest first, a page at a time (keyset on id). */
  async events(input: { first?: number | undefined; after?: number | undefined; ruleId?: string | undefined; kind?: AlertEventKind | undefined } = {}): Promise<{ events: AlertEvent[]; hasNextPage: boolean }> {
    const first = pageSize(input.first, { fallback: 50, max: ALERT_EVENTS_PAGE_MAX });
    const rows = await this.db
      .select()
      .from(alertEvents)
      .where(
        and(
          input.after !== undefined ? lt(alertEvents.id, input.after) : undefined,
          input.ruleId !== undefined ? eq(alertEvents.ruleId, input.ruleId) : undefined,
          input.kind !== undefined ? eq(alertEvents.kind, input.kind) : undefined,
        ),
      )
      .orderBy(desc(alertEvents.id))
      .limit(first + 1);
    return { events: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  async event(id: number): Promise<AlertEvent | undefined> {
    const [row] = await this.db.select().from(alertEvents).where(eq(alertEvents.id, id));
    return row;
  }

  /** Marks an event acknowledged (once: a second acknowledgement keeps the first's time and actor). */
  async acknowledge(id: number, by: string): Promise<AlertEvent | undefined> {
    await this.db
      .update(alertEvents)
      .set({ acknowledgedAt: sql`now()`, acknowledgedBy: by })
      .where(and(eq(alertEvents.id, id), sql`${alertEvents.acknowledgedAt} IS NULL`));
    return this.event(id);
  }
}
