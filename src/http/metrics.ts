import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Jobs } from '../jobs/index.js';

/**
 * `GET /metrics` in the Prometheus text format. Job gauges are read from the database at scrape
 * time, so every instance reports the same totals (don't sum them across instances); the event
 * counter counts the events this instance heard, which on a shared database is all of them.
 */
export function createMetricsEndpoint(deps: { jobs: Jobs }) {
  const { read, policy } = deps.jobs;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const events = new Counter({
    name: 'jobscope_job_events_total',
    help: 'Job lifecycle events heard on the event bus, by job type and event.',
    labelNames: ['job_type', 'event'] as const,
    registers: [registry],
  });
  deps.jobs.events.subscribe((e) => events.inc({ job_type: e.jobType, event: e.type }));

  const jobs = new Gauge({
    name: 'jobscope_jobs',
    help: 'Job executions by job type and status (all time).',
    labelNames: ['job_type', 'status'] as const,
    registers: [registry],
  });
  const duration = new Gauge({
    name: 'jobscope_job_duration_seconds',
    help: 'Run time of completed jobs created in the health window (default the last hour), by job type and quantile.',
    labelNames: ['job_type', 'quantile'] as const,
    registers: [registry],
  });
  const failureRate = new Gauge({
    name: 'jobscope_job_failure_rate',
    help: 'Failed / all jobs created in the health window (default the last hour; 0 when none).',
    registers: [registry],
  });
  const stuck = new Gauge({
    name: 'jobscope_stuck_jobs',
    help: 'Jobs in processing longer than the stuck threshold.',
    registers: [registry],
  });

  async function refresh(): Promise<void> {
    const since = new Date(Date.now() - policy.healthWindowMinutes * 60_000);
    const [all, recent, health] = await Promise.all([read.stats(), read.stats({ since }), read.health()]);
    jobs.reset();
    for (const row of all) jobs.set({ job_type: row.jobType, status: row.status }, row.count);
    duration.reset();
    for (const row of recent) {
      if (row.status !== 'completed') continue;
      if (row.p50DurationSeconds !== null) duration.set({ job_type: row.jobType, quantile: '0.5' }, row.p50DurationSeconds);
      if (row.p95DurationSeconds !== null) duration.set({ job_type: row.jobType, quantile: '0.95' }, row.p95DurationSeconds);
      if (row.p99DurationSeconds !== null) duration.set({ job_type: row.jobType, quantile: '0.99' }, row.p99DurationSeconds);
    }
    failureRate.set(health.failureRate);
    stuck.set(health.stuckJobs);
  }

  return async function handleMetrics(request: Request, path: string): Promise<Response | undefined> {
    if (request.method !== 'GET' || path !== '/metrics') return undefined;
    await refresh();
    return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
  };
}
