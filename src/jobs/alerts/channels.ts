/**
 * Where an alert event goes: the log (the `[jobs] …` lines operators grep for) and webhooks. A
 * webhook gets a JSON body (the event, with a `text` line) or Slack's incoming-webhook body, signed
 * with the rule's secret, and is tried again on a network error, 408, 429 or 5xx.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AlertDelivery, AlertEvent, AlertRule, AlertWebhook } from '../../db/schema.js';
import type { Logger } from '../../logger.js';
import { errorMessage } from '../errors.js';

/** The header a signed webhook body carries: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const ALERT_SIGNATURE_HEADER = 'X-Jobscope-Signature';
/** The event's id, the same on every try: a receiver drops a repeat by it. */
export const ALERT_EVENT_ID_HEADER = 'X-Jobscope-Alert-Event';

/** The signature header's value for `body`, signed at `timestamp` (unix seconds). */
export function signAlertWebhook(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

/**
 * For a webhook receiver: whether `signature` (the X-Jobscope-Signature header) signs `body` (the
 * raw request body) with `secret`, made at most `toleranceSeconds` before `now` (replays older
 * than that are refused).
 */
export function verifyAlertWebhook(input: { secret: string; signature: string | null | undefined; body: string; toleranceSeconds?: number; now?: Date }): boolean {
  const parts = Object.fromEntries((input.signature ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const timestamp = Number(parts.t);
  if (!Number.isSafeInteger(timestamp) || typeof parts.v1 !== 'string') return false;
  const age = Math.floor((input.now ?? new Date()).getTime() / 1000) - timestamp;
  if (Math.abs(age) > (input.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signAlertWebhook(input.secret, input.body, timestamp).split('v1=')[1]!, 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface WebhookSettings {
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

/** The words of an event: "High job failure rate detected", "Resolved: High job failure rate detected". */
export function eventText(event: Pick<AlertEvent, 'kind' | 'message'>): string {
  return event.kind === 'resolved' ? `Resolved: ${event.message}` : event.message;
}

/** How the log and the JSON body name a rule: the default rules by their old names (`failure-rate`), others by id. */
export function alertKey(rule: Pick<AlertRule, 'id' | 'defaultKey'>): string {
  return rule.defaultKey ?? rule.id;
}

/** The JSON body: the fields the guide's two alerts always had (text, kind, message, details, raisedAt), and the event. */
function jsonBody(rule: AlertRule, event: AlertEvent): unknown {
  return {
    text: `[jobscope] ${eventText(event)}`,
    kind: alertKey(rule),
    message: event.message,
    details: event.detail,
    raisedAt: event.at.toISOString(),
    event: {
      id: String(event.id),
      kind: event.kind.toUpperCase(),
      at: event.at.toISOString(),
      rule: { id: rule.id, name: rule.name, metric: rule.metric.toUpperCase() },
      value: event.value,
      threshold: event.threshold,
      jobIds: event.jobIds,
    },
  };
}

/** Slack's incoming-webhook body: the line, and a section with the numbers and the jobs. */
function slackBody(rule: AlertRule, event: AlertEvent): unknown {
  const jobs = event.jobIds.length > 0 ? `\nJobs: ${event.jobIds.slice(0, 5).map((id) => `\`${id}\``).join(', ')}${event.jobIds.length > 5 ? ', …' : ''}` : '';
  return {
    text: `[jobscope] ${eventText(event)}`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*${event.kind === 'resolved' ? ':white_check_mark:' : ':rotating_light:'} ${eventText(event)}*\nRule *${rule.name}* (${rule.metric.toUpperCase()}): ${event.value} (threshold ${event.threshold})${jobs}`,
        },
      },
    ],
  };
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/** Delivers `body` to one webhook, trying again as WebhookSettings say; never throws. */
async function deliverWebhook(hook: AlertWebhook, eventId: number, body: string, settings: WebhookSettings): Promise<AlertDelivery> {
  let last: { status?: number; error?: string } = {};
  for (let attempt = 1; attempt <= settings.attempts; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, settings.backoffMs * 2 ** (attempt - 2)));
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'jobscope-alerts',
      [ALERT_EVENT_ID_HEADER]: String(eventId),
      'X-Jobscope-Delivery-Attempt': String(attempt),
    };
    if (hook.secret) headers[ALERT_SIGNATURE_HEADER] = signAlertWebhook(hook.secret, body);
    try {
      const res = await fetch(hook.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(settings.timeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { channel: 'webhook', url: hook.url, ok: true, attempts: attempt, status: res.status };
      last = { status: res.status, error: `answered ${res.status}` };
      if (!retryable(res.status)) return { channel: 'webhook', url: hook.url, ok: false, attempts: attempt, ...last };
    } catch (error) {
      last = { error: errorMessage(error) };
    }
  }
  return { channel: 'webhook', url: hook.url, ok: false, attempts: settings.attempts, ...last };
}

/**
 * Sends an event down its rule's channels: the log line at once, the webhooks in parallel.
 * Answers what happened on each (kept on the event).
 */
export async function notify(rule: AlertRule, event: AlertEvent, deps: { logger: Logger; webhooks: WebhookSettings }): Promise<AlertDelivery[]> {
  const deliveries: AlertDelivery[] = [];
  if (rule.channels.log) {
    const fields = { alert: alertKey(rule), ruleId: rule.id, ruleName: rule.name, metric: rule.metric, eventId: event.id, value: event.value, threshold: event.threshold, ...event.detail };
    if (event.kind === 'fired') deps.logger.warn(`[jobs] ${event.message}`, fields);
    else deps.logger.info(`[jobs] ${eventText(event)}`, fields);
    deliveries.push({ channel: 'log', ok: true, attempts: 1 });
  }
  const results = await Promise.all(
    rule.channels.webhooks.map((hook) => deliverWebhook(hook, event.id, JSON.stringify(hook.format === 'slack' ? slackBody(rule, event) : jsonBody(rule, event)), deps.webhooks)),
  );
  for (const result of results) {
    if (!result.ok) deps.logger.error('[jobs] Alert webhook failed', { alert: alertKey(rule), eventId: event.id, url: result.url, attempts: result.attempts, status: result.status, error: result.error });
  }
  return [...deliveries, ...results];
}
