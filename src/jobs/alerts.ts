import type { Database } from '../db/client.js';
import type { Logger } from '../logger.js';
import { findStuckJobs, jobHealth } from './queries.js';

export interface AlertSettings {
  /** Failure rate over the last hour at or above which `failure-rate` fires. */
  failureRate: number;
  /** Minutes in `processing` after which a job counts as stuck. */
  stuckMinutes: number;
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
 * The guide's two alerts, checked on an interval: failure rate over the last hour, and jobs stuck
 * in `processing`. Raised on the transition into the bad state and again every `repeatMinutes`
 * while it lasts; a recovery is logged. Each alert goes to the log (`[jobs] …`) and, when
 * configured, to a webhook.
 */
export class JobAlerter {
  private readonly active = new Map<AlertKind, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Alert[]> | undefined;

  constructor(
    private readonly deps: { db: Database; logger: Logger; settings: AlertSettings },
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
    const { db, settings } = this.deps;
    const health = await jobHealth(db, { windowMinutes: 60, failureRateThreshold: settings.failureRate, stuckAfterMinutes: settings.stuckMinutes });
    const stuck = health.stuckJobs > 0 ? await findStuckJobs(db, settings.stuckMinutes) : [];
    const raised: Alert[] = [];
    const conditions: [AlertKind, boolean, Record<string, unknown>][] = [
      [
        'failure-rate',
        health.status === 'unhealthy',
        { failureRate: health.failureRate, threshold: settings.failureRate, failedJobs: health.failedJobs, totalJobs: health.totalJobs, windowMinutes: 60 },
      ],
      [
        'stuck-jobs',
        stuck.length > 0,
        {
          count: stuck.length,
          olderThanMinutes: settings.stuckMinutes,
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
