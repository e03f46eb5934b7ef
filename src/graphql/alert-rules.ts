import { ALERT_METRICS, type AlertDelivery, type AlertWebhook, type JobExecution } from '../db/schema.js';
import { isMuted, METRICS, parseEventId, type AlertEvent, type AlertRule, type AlertRuleInput } from '../jobs/alerts/index.js';
import { ALERT_EVENTS_PAGE_MAX } from '../jobs/alerts/rules.js';
import { builder } from './builder.js';
import { badUserInput } from './errors.js';
import { JobExecutionRef } from './job-execution.js';
import { JobFilterInput } from './job-filter.js';
import { forwardOnly, forwardPage, idCursor } from './pages.js';
import { jobsById, perRequest } from './per-request.js';

/** Every rule by id, read once per request (a page of events names up to 200 rules). */
const rulesOf = perRequest(async (ctx) => new Map((await ctx.alerts.rules()).map((rule) => [rule.id, rule])));

const AlertMetricEnum = builder.enumType('AlertMetric', {
  description: 'What an alert rule measures. A rule fires when the value reaches its threshold (value ≥ threshold).',
  values: Object.fromEntries(
    ALERT_METRICS.map((metric) => [metric.toUpperCase(), { value: metric, description: `${METRICS[metric].description} Unit: ${METRICS[metric].unit}.` }]),
  ) as { [K in (typeof ALERT_METRICS)[number] as Uppercase<K>]: { value: K; description: string } },
});

const AlertWebhookFormatEnum = builder.enumType('AlertWebhookFormat', {
  values: {
    JSON: { value: 'json', description: 'The event as JSON, with a `text` line (what ALERT_WEBHOOK_URL has always received).' },
    SLACK: { value: 'slack', description: "Slack's incoming-webhook body: `text` and `blocks`." },
  } as const,
});

const AlertEventKindEnum = builder.enumType('AlertEventKind', {
  values: {
    FIRED: { value: 'fired', description: "The rule's condition started to hold, or still holds once its cooldown has passed." },
    RESOLVED: { value: 'resolved', description: 'The condition of a firing rule no longer holds.' },
  } as const,
});

const AlertWebhookRef = builder.objectRef<AlertWebhook>('AlertWebhook').implement({
  fields: (t) => ({
    url: t.exposeString('url'),
    format: t.field({ type: AlertWebhookFormatEnum, resolve: (hook) => hook.format }),
    signed: t.boolean({
      resolve: (hook) => hook.secret !== undefined,
      description: 'Bodies carry `X-Jobscope-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` (the secret is never shown).',
    }),
  }),
});

const AlertChannelsRef = builder.objectRef<AlertRule['channels']>('AlertChannels').implement({
  fields: (t) => ({
    log: t.exposeBoolean('log', { description: 'Each event is a `[jobs] <message>` log line (warn when fired, info when resolved).' }),
    webhooks: t.field({ type: [AlertWebhookRef], resolve: (c) => c.webhooks }),
  }),
});

const AlertDeliveryRef = builder.objectRef<AlertDelivery>('AlertDelivery').implement({
  description: 'What one channel of an event did.',
  fields: (t) => ({
    channel: t.exposeString('channel', { description: '`log` or `webhook`.' }),
    url: t.string({ nullable: true, resolve: (d) => d.url ?? null }),
    ok: t.exposeBoolean('ok'),
    attempts: t.exposeInt('attempts', { description: 'Tries made (a network error, 408, 429 or 5xx is tried again).' }),
    status: t.int({ nullable: true, resolve: (d) => d.status ?? null, description: "The receiver's last HTTP status." }),
    error: t.string({ nullable: true, resolve: (d) => d.error ?? null }),
  }),
});

export const AlertRuleRef = builder.objectRef<AlertRule>('AlertRule');
const AlertEventRef = builder.objectRef<AlertEvent>('AlertEvent');

AlertRuleRef.implement({
  description:
    'A condition on the jobs that notifies when it starts to hold (FIRED), again each cooldown while it holds unless acknowledged, and when it stops (RESOLVED). ' +
    'Evaluated every ALERT_INTERVAL_SECONDS by one instance at a time.',
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    metric: t.field({ type: AlertMetricEnum, resolve: (r) => r.metric }),
    scope: t.field({ type: 'JSON', resolve: (r) => r.scope, description: 'The JobFilter the metric is measured over, as given ({} for every job).' }),
    windowMinutes: t.exposeInt('windowMinutes', { description: 'The time measured: jobs created in the last this many minutes; for STUCK_JOBS, how long in processing counts as stuck.' }),
    threshold: t.exposeFloat('threshold'),
    cooldownMinutes: t.exposeInt('cooldownMinutes', { description: 'Minutes between two firings: the reminder while it holds, and a new firing after it resolved.' }),
    channels: t.field({ type: AlertChannelsRef, resolve: (r) => r.channels }),
    enabled: t.exposeBoolean('enabled'),
    mutedUntil: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.mutedUntil }),
    muted: t.boolean({ resolve: (r) => isMuted(r), description: 'Muted now: not evaluated until mutedUntil.' }),
    defaultRule: t.boolean({
      resolve: (r) => r.defaultKey !== null,
      description: "One of the guide's two alerts, written from the configuration (ALERT_FAILURE_RATE, HEALTH_WINDOW_MINUTES, ALERT_STUCK_MINUTES, ALERT_WEBHOOK_URL).",
    }),
    followsConfiguration: t.boolean({
      resolve: (r) => r.defaultKey !== null && !r.customized,
      description: 'A default rule not edited through the API: a restart with other variables rewrites it.',
    }),
    firing: t.boolean({ resolve: (r) => r.firingEventId !== null, description: 'Its condition held at the last evaluation that fired.' }),
    lastValue: t.float({ nullable: true, resolve: (r) => r.lastValue, description: 'The value at the last evaluation.' }),
    lastEvaluatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.lastEvaluatedAt }),
    lastFiredAt: t.field({ type: 'DateTime', nullable: true, resolve: (r) => r.lastFiredAt }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (r) => r.updatedAt }),
    events: t.field({
      type: [AlertEventRef],
      args: { first: t.arg.int({ defaultValue: 10 }) },
      description: 'Its latest events, newest first.',
      resolve: async (rule, args, ctx) => (await ctx.alerts.events({ ruleId: rule.id, first: args.first ?? 10 })).events,
    }),
  }),
});

AlertEventRef.implement({
  description: 'One firing or resolution of a rule, with the value, the threshold and the jobs behind it.',
  fields: (t) => ({
    id: t.id({ resolve: (e) => String(e.id) }),
    kind: t.field({ type: AlertEventKindEnum, resolve: (e) => e.kind }),
    at: t.field({ type: 'DateTime', resolve: (e) => e.at }),
    ruleId: t.exposeID('ruleId'),
    ruleName: t.exposeString('ruleName', { description: 'As it was named then.' }),
    metric: t.field({ type: AlertMetricEnum, resolve: (e) => e.metric }),
    rule: t.field({ type: AlertRuleRef, nullable: true, description: 'Null once the rule is deleted.', resolve: async (e, _args, ctx) => (await rulesOf(ctx)).get(e.ruleId) ?? null }),
    message: t.exposeString('message', { description: 'The alert\'s words: "High job failure rate detected".' }),
    value: t.exposeFloat('value'),
    threshold: t.exposeFloat('threshold'),
    jobIds: t.idList({ resolve: (e) => e.jobIds, description: 'The jobs behind the value (failed, stuck, slow, waiting), at most 20.' }),
    jobs: t.field({
      type: [JobExecutionRef],
      description: 'Those jobs, as they are now (a purged one is absent).',
      resolve: async (e, _args, ctx) => (await Promise.all(e.jobIds.map((id) => jobsById(ctx).load(id)))).filter((j): j is JobExecution => j !== undefined),
    }),
    detail: t.field({ type: 'JSON', resolve: (e) => e.detail, description: 'The numbers behind it, per metric (counts, window, the types over the threshold, …).' }),
    deliveries: t.field({ type: [AlertDeliveryRef], resolve: (e) => e.deliveries }),
    acknowledgedAt: t.field({ type: 'DateTime', nullable: true, resolve: (e) => e.acknowledgedAt }),
    acknowledgedBy: t.string({ nullable: true, resolve: (e) => e.acknowledgedBy }),
  }),
});

builder.queryField('alertRules', (t) =>
  t.field({ type: [AlertRuleRef], description: 'Every alert rule, oldest first: the two default rules, then the team\'s.', resolve: (_root, _args, ctx) => ctx.alerts.rules() }),
);

builder.queryField('alertRule', (t) =>
  t.field({
    type: AlertRuleRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => (await ctx.alerts.rule(String(args.id))) ?? null,
  }),
);

const cursor = idCursor('AlertEvent', 'alertEvents');

builder.queryField('alertEvents', (t) =>
  t.connection(
    {
      type: AlertEventRef,
      description: `The history of alerts, newest first (pages of 50 unless \`first\` says otherwise, at most ${ALERT_EVENTS_PAGE_MAX}).`,
      edgesNullable: { list: false, items: false },
      nodeNullable: false,
      args: { ruleId: t.arg.id(), kind: t.arg({ type: AlertEventKindEnum }) },
      resolve: async (_root, args, ctx) => {
        forwardOnly('alertEvents', args);
        const page = await ctx.alerts.events({
          first: args.first ?? undefined,
          after: args.after != null ? cursor.decode(args.after) : undefined,
          ruleId: args.ruleId != null ? String(args.ruleId) : undefined,
          kind: args.kind ?? undefined,
        });
        return forwardPage(page.events, (event) => cursor.encode(event.id), page.hasNextPage, args);
      },
    },
    {
      name: 'AlertEventConnection',
      fields: (tc) => ({
        nodes: tc.field({ type: [AlertEventRef], resolve: (connection) => connection.edges.map((edge) => edge!.node) }),
      }),
    },
  ),
);

const AlertWebhookInput = builder.inputType('AlertWebhookInput', {
  fields: (t) => ({
    url: t.string({ required: true }),
    format: t.field({ type: AlertWebhookFormatEnum, required: false, description: 'Default JSON.' }),
    secret: t.string({ required: false, description: 'At least 16 characters: each body is signed with it (X-Jobscope-Signature). Never shown again.' }),
  }),
});

const AlertChannelsInput = builder.inputType('AlertChannelsInput', {
  fields: (t) => ({
    log: t.boolean({ required: false, description: 'Default true.' }),
    webhooks: t.field({ type: [AlertWebhookInput], required: false, description: 'At most 5; default none.' }),
  }),
});

/** The fields of both inputs; `createAlertRule` requires name, metric and threshold. */
function ruleInputFields(required: boolean) {
  return (t: Parameters<Parameters<typeof builder.inputType>[1]['fields']>[0]) => ({
    name: t.string({ required }),
    metric: t.field({ type: AlertMetricEnum, required }),
    threshold: t.float({ required, description: 'It fires when the value reaches this: a rate for FAILURE_RATE (0.05), seconds for SLOW_JOBS and BACKLOG_AGE, a count otherwise.' }),
    scope: t.field({ type: JobFilterInput, required: false, description: 'Which jobs (no time fields: the window is the time). Default: every job.' }),
    windowMinutes: t.int({ required: false, description: 'Default 60.' }),
    cooldownMinutes: t.int({ required: false, description: 'Default 60.' }),
    channels: t.field({ type: AlertChannelsInput, required: false, description: 'Default: the log only.' }),
    enabled: t.boolean({ required: false, description: 'Default true.' }),
  });
}

const CreateAlertRuleInput = builder.inputType('CreateAlertRuleInput', { fields: ruleInputFields(true) });
const UpdateAlertRuleInput = builder.inputType('UpdateAlertRuleInput', { description: 'The fields to change; the others are kept.', fields: ruleInputFields(false) });

/** GraphQL's input as the domain takes it: nulls dropped (not given), inputs as plain JSON. */
function asRuleInput(input: object): AlertRuleInput {
  return JSON.parse(JSON.stringify(input, (_key, value: unknown) => (value === null ? undefined : value))) as AlertRuleInput;
}

builder.mutationField('createAlertRule', (t) =>
  t.field({
    type: AlertRuleRef,
    description: 'Creates an alert rule (audited). Errors: BAD_USER_INPUT naming every bad field; nothing is created.',
    args: { input: t.arg({ type: CreateAlertRuleInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.alerts.create(asRuleInput(args.input), { actor: ctx.actor }),
  }),
);

builder.mutationField('updateAlertRule', (t) =>
  t.field({
    type: AlertRuleRef,
    description:
      'Changes the given fields of a rule (audited). A default rule edited here stops following the configuration. Errors: ALERT_RULE_NOT_FOUND, BAD_USER_INPUT; nothing changes on either.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateAlertRuleInput, required: true }) },
    resolve: (_root, args, ctx) => ctx.alerts.update(String(args.id), asRuleInput(args.input), { actor: ctx.actor }),
  }),
);

builder.mutationField('deleteAlertRule', (t) =>
  t.field({
    type: AlertRuleRef,
    description: 'Deletes a rule and answers it as it was (audited); its events stay. Errors: ALERT_RULE_NOT_FOUND, DEFAULT_ALERT_RULE (disable or mute a default rule instead).',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.alerts.delete(String(args.id), { actor: ctx.actor }),
  }),
);

builder.mutationField('muteAlertRule', (t) =>
  t.field({
    type: AlertRuleRef,
    description: 'Stops evaluating a rule until `until` (audited): nothing fires or resolves before then. `until: null` unmutes. Errors: ALERT_RULE_NOT_FOUND, BAD_USER_INPUT.',
    args: { id: t.arg.id({ required: true }), until: t.arg({ type: 'DateTime', required: false }) },
    resolve: (_root, args, ctx) => {
      const until = args.until ?? null;
      if (until !== null && until.getTime() <= Date.now()) throw badUserInput('"until" must be in the future (null unmutes)', 'until');
      return ctx.alerts.mute(String(args.id), until, { actor: ctx.actor });
    },
  }),
);

builder.mutationField('acknowledgeAlert', (t) =>
  t.field({
    type: AlertEventRef,
    description:
      'Acknowledges an alert event (audited): an acknowledged firing sends no reminders until it resolves. Acknowledging again keeps the first acknowledgement. Errors: ALERT_EVENT_NOT_FOUND.',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args, ctx) => ctx.alerts.acknowledge(parseEventId(String(args.id)), { actor: ctx.actor }),
  }),
);
