/**
 * Alerts as objects of the API: rules a team manages (each a metric over a JobFilter scope, a
 * window, a threshold, a cooldown and channels), their history of events, acknowledgements and
 * mutes. Every change is audited. The evaluator (evaluator.ts) fires and resolves them.
 */
import type { Database } from '../../db/client.js';
import type { AlertEvent, AlertEventKind, AlertRule } from '../../db/schema.js';
import type { Logger } from '../../logger.js';
import { actorLabel, APP_ACTOR, type Actor } from '../actor.js';
import { AlertEventNotFoundError, AlertRuleNotFoundError, DefaultAlertRuleError, InvalidArgumentError } from '../errors.js';
import { audited } from '../ops/audit.js';
import { parseJobFilter } from '../read/filter.js';
import type { WebhookSettings } from './channels.js';
import { AlertEvaluator } from './evaluator.js';
import type { MeasureDeps } from './metrics.js';
import { AlertStore, parseAlertRule, ruleAsInput, withoutSecrets, type AlertRuleInput, type AlertRulePatch, type DefaultRuleSettings } from './rules.js';

export { ALERT_EVENT_ID_HEADER, ALERT_SIGNATURE_HEADER, signAlertWebhook, verifyAlertWebhook } from './channels.js';
export { isMuted } from './evaluator.js';
export { METRICS } from './metrics.js';
export type { AlertRuleInput, AlertRulePatch } from './rules.js';
export type { AlertEvent, AlertRule } from '../../db/schema.js';

interface Options {
  actor?: Actor | undefined;
}

export interface Alerts {
  /** Every rule, oldest first (the two default rules first). */
  rules(): Promise<AlertRule[]>;
  rule(id: string): Promise<AlertRule | undefined>;
  /** Creates a rule (InvalidArgumentError naming each bad field; nothing written). */
  create(input: AlertRuleInput, options?: Options): Promise<AlertRule>;
  /** Changes the given fields of a rule, the rest kept (AlertRuleNotFoundError, InvalidArgumentError). */
  update(id: string, patch: AlertRulePatch, options?: Options): Promise<AlertRule>;
  /** Deletes a team's rule; its events stay (AlertRuleNotFoundError, DefaultAlertRuleError). */
  delete(id: string, options?: Options): Promise<AlertRule>;
  /** Mutes a rule until `until` (not evaluated before then); null unmutes (AlertRuleNotFoundError). */
  mute(id: string, until: Date | null, options?: Options): Promise<AlertRule>;
  /** The history, newest first. */
  events(input?: { first?: number | undefined; after?: number | undefined; ruleId?: string | undefined; kind?: AlertEventKind | undefined }): ReturnType<AlertStore['events']>;
  event(id: number): Promise<AlertEvent | undefined>;
  /** Acknowledges an event: a firing acknowledged fires no reminders until it resolves (AlertEventNotFoundError). */
  acknowledge(eventId: number, options?: Options): Promise<AlertEvent>;
  /** Fires and resolves the rules; `start`ed by the app. */
  readonly evaluator: AlertEvaluator;
}

export interface AlertsDeps {
  db: Database;
  logger: Logger;
  measure: MeasureDeps;
  webhooks: WebhookSettings;
  defaults: DefaultRuleSettings;
  /** This instance, for the evaluator's lease. */
  owner: string;
}

/** The rule with its scope checked like every JobFilter (GraphQL's nulls dropped), then as a whole. */
function validRule(input: AlertRuleInput) {
  return parseAlertRule({ ...input, ...(input.scope !== undefined ? { scope: parseJobFilter(input.scope, 'scope') } : {}) });
}

export function createAlerts(deps: AlertsDeps): Alerts {
  const store = new AlertStore(deps.db, deps.defaults);
  const evaluator = new AlertEvaluator({ db: deps.db, store, measure: deps.measure, logger: deps.logger.child({ actor: 'system:alerts' }), webhooks: deps.webhooks, owner: deps.owner });
  const audit = <T>(actor: Actor | undefined, action: string, args: Record<string, unknown>, command: () => Promise<T>, detail: (result: T) => Record<string, unknown>) =>
    audited({ db: deps.db, logger: deps.logger }, { actor: actor ?? APP_ACTOR, action, args: withoutSecrets(args) }, command, (result) => ({ detail: detail(result) }));
  const found = async (id: string) => {
    const rule = await store.get(id);
    if (!rule) throw new AlertRuleNotFoundError(id);
    return rule;
  };
  const ruleDetail = (rule: AlertRule) => ({ ruleId: rule.id, name: rule.name });

  return {
    evaluator,
    rules: () => store.list(),
    rule: (id) => store.get(id),
    create: (input, options = {}) => audit(options.actor, 'createAlertRule', { input }, () => store.create(validRule(input)), ruleDetail),
    update: (id, patch, options = {}) =>
      audit(
        options.actor,
        'updateAlertRule',
        { id, input: patch },
        async () => {
          const rule = await found(id);
          const given = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined && v !== null));
          const valid = validRule({ ...ruleAsInput(rule), ...given } as AlertRuleInput);
          return (await store.update(id, valid)) ?? Promise.reject(new AlertRuleNotFoundError(id));
        },
        ruleDetail,
      ),
    delete: (id, options = {}) =>
      audit(
        options.actor,
        'deleteAlertRule',
        { id },
        async () => {
          const rule = await found(id);
          if (rule.defaultKey !== null) throw new DefaultAlertRuleError(id);
          return (await store.delete(id)) ?? Promise.reject(new AlertRuleNotFoundError(id));
        },
        ruleDetail,
      ),
    mute: (id, until, options = {}) =>
      audit(
        options.actor,
        'muteAlertRule',
        { id, until: until?.toISOString() ?? null },
        async () => {
          await found(id);
          return (await store.mute(id, until)) ?? Promise.reject(new AlertRuleNotFoundError(id));
        },
        (rule) => ({ ...ruleDetail(rule), mutedUntil: rule.mutedUntil?.toISOString() ?? null }),
      ),
    events: (input) => store.events(input),
    event: (id) => store.event(id),
    acknowledge: (eventId, options = {}) =>
      audit(
        options.actor,
        'acknowledgeAlert',
        { id: String(eventId) },
        async () => (await store.acknowledge(eventId, actorLabel(options.actor ?? APP_ACTOR))) ?? Promise.reject(new AlertEventNotFoundError(String(eventId))),
        (event) => ({ eventId: String(event.id), ruleId: event.ruleId }),
      ),
  };
}

/** An event id as the API shows it (a decimal string), checked. */
export function parseEventId(id: string): number {
  const n = Number(id);
  if (!/^\d{1,15}$/.test(id) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('id', `"id" is not an alert event id: ${JSON.stringify(id)}`);
  return n;
}
