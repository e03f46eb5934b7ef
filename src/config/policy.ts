/**
 * The thresholds every surface judges jobs by: `stuckJobs`, `jobHealth`, `/health/jobs`,
 * `/metrics`, the alerts and `retryJob`'s stuck rule all read these, so the API, the monitors and
 * the alerts cannot disagree. Built once from config (`policy` in the config file, or
 * `ALERT_STUCK_MINUTES`, `HEALTH_WINDOW_MINUTES`, `ALERT_FAILURE_RATE`, `JOBSCOPE_RETENTION_DAYS`).
 */
export interface Policy {
  /** Minutes in `processing` after which a job counts as stuck (the guide's 10). */
  stuckAfterMinutes: number;
  /** Window of the failure-rate check, over jobs created in the last this many minutes (the guide's hour). */
  healthWindowMinutes: number;
  /** Failure rate at or above which jobs are unhealthy and the alert fires (the guide's 5 %). */
  failureRateThreshold: number;
  /**
   * Days after which final jobs (completed, failed, cancelled) are deleted with their attempts;
   * undefined keeps every job (the default).
   */
  retentionDays?: number | undefined;
}

/** The operations guide's numbers. */
export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({
  stuckAfterMinutes: 10,
  healthWindowMinutes: 60,
  failureRateThreshold: 0.05,
});

/**
 * Minutes between two firings of an alert rule while its condition holds: the default (the
 * guide's hourly repeat) for the two default rules (`alerts.cooldownMinutes`) and for a rule
 * created without one, and the most a rule may set (a week).
 */
export const ALERT_COOLDOWN_MINUTES = Object.freeze({ default: 60, max: 10_080 });
