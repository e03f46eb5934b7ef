import type { Logger } from '../logger.js';
import type { Jobs } from './index.js';

export interface AlertSettings {
  /** Receives each alert as a JSON POST. */
  webhookUrl?: string | undefined;
  /** A condition that holds is raised again after this long (default one hour). */
  repeatMinutes?: number;
}

export type AlertKind = 'failure-rate' | 'stuck-jobs';

export interface Alert {
  kind: AlertKind;
  /** The guide's alert text, e.g. "High job failure rate detected". */
  message: string;
  details: Record<string, unknown>;
  raisedAt: Date;
}

const MESSAGES: Record<AlertKind, string> = {
  'failure-rate': 'High job failure rate detected',
  'stuck-jobs': 'Jobs stuck in processing',
};

/**
 * The guide's two alerts, checked on an interval: failure rate over the policy's health window, and jobs stuck
 * in `processing`. Raised on the transition into the bad state and again every `repeatMinutes`
 * while it lasts; a recovery is logged. Each alert goes to the log (`[jobs] …`) and, when
 * configured, to a webhook.
 */
export class JobAlerter {
  private readonly active = new Map<AlertKind, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Alert[]> | undefined;

  constructor(
    /** `read` judges by the policy: its health window, failure-rate threshold and stuck threshold. */
    private readonly deps: { read: Jobs['read']; logger: Logger; settings: AlertSettings },
  ) {}

  /** Checks every `intervalSeconds` until `stop()`. */
  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0 || this.timer) return;
    this.timer = setInterval(() => void this.check().catch((error: unknown) => {
      this.deps.logger.error('[jobs] Alert check failed', { error: error instanceof Error ? error.message : String(error) });
    }), intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Runs both checks once; returns the alerts raised now. */
  async check(now = new Date()): Promise<Alert[]> {
    this.running = this.evaluate(now);
    return this.running;
  }

  private async evaluate(now: Date): Promise<Alert[]> {
    const { read, settings } = this.deps;
    const health = await read.health();
    const stuck = health.stuckJobs > 0 ? await read.stuck(health.stuckAfterMinutes) : [];
    const raised: Alert[] = [];
    const conditions: [AlertKind, boolean, Record<string, unknown>][] = [
      [
        'failure-rate',
        health.status === 'unhealthy',
        {
          failureRate: health.failureRate,
          threshold: health.failureRateThreshold,
          failedJobs: health.failedJobs,
          totalJobs: health.totalJobs,
          windowMinutes: health.windowMinutes,
        },
      ],
      [
        'stuck-jobs',
        stuck.length > 0,
        {
          count: stuck.length,
          olderThanMinutes: health.stuckAfterMinutes,
          stuckJobs: stuck.slice(0, 20).map((j) => ({ jobId: j.jobId, jobType: j.jobType, startedAt: j.startedAt })),
        },
      ],
    ];
    const repeatMs = (settings.repeatMinutes ?? 60) * 60_000;
    for (const [kind, holds, details] of conditions) {
      const last = this.active.get(kind);
      if (!holds) {
        if (last !== undefined) {
          this.active.delete(kind);
          this.deps.logger.info(`[jobs] Resolved: ${MESSAGES[kind]}`, { alert: kind });
        }
        continue;
      }
      if (last !== undefined && now.getTime() - last < repeatMs) continue;
      this.active.set(kind, now.getTime());
      const alert: Alert = { kind, message: MESSAGES[kind], details, raisedAt: now };
      raised.push(alert);
      this.deps.logger.warn(`[jobs] ${alert.message}`, { alert: kind, ...details });
      await this.notify(alert);
    }
    return raised;
  }

  private async notify(alert: Alert): Promise<void> {
    const url = this.deps.settings.webhookUrl;
    if (!url) return;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `[jobscope] ${alert.message}`, ...alert }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) throw new Error(`webhook answered ${res.status}`);
    } catch (error) {
      this.deps.logger.error('[jobs] Alert webhook failed', { alert: alert.kind, error: error instanceof Error ? error.message : String(error) });
    }
  }
}
