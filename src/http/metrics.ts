import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { Jobs } from '../jobs/index.js';
import type { RollupSnapshot } from '../jobs/read/index.js';

/**
 * `GET /metrics` in the Prometheus text format. The job metrics are prom-client collectors that
 * read the rollups at scrape time (a few small reads, not a scan of job_executions), so every
 * instance on one database reports the same all-time figures: aggregate them with max(), not
 * sum(). Durations and queue waits are histograms (`_bucket{le}`, `_sum`, `_count`) cut at
 * power-of-two bounds from 2^-10 s to 2^15 s, exact bounds of the rollup bins, so the bucket
 * counts are exact and `rate()` / `histogram_quantile()` work as for any histogram. The event
 * counter counts the events this instance heard, which on a shared database is all of them.
 */
export function createMetricsEndpoint(deps: { jobs: Jobs; registry?: Registry; publishRetries?: () => number }) {
  const { read } = deps.jobs;
  const registry = deps.registry ?? new Registry();
  collectDefaultMetrics({ register: registry });

  const events = new Counter({
    name: 'jobscope_job_events_total',
    help: 'Job lifecycle events heard on the event bus, by job type and event.',
    labelNames: ['job_type', 'event'] as const,
    registers: [registry],
  });
  deps.jobs.events.subscribe((e) => events.inc({ job_type: e.jobType, event: e.type }));

  const publishRetries = deps.publishRetries;
  if (publishRetries) {
    new Counter({
      name: 'jobscope_publish_retries_total',
      help: "Publishes to QStash this instance's outbox relay tried again after a transient failure (5xx, 408, 429, no answer).",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(publishRetries());
      },
    });
  }

  // One read of the rollups per scrape, shared by the collectors that prom-client runs together.
  let pending: Promise<RollupSnapshot> | undefined;
  const snapshot = () => {
    pending ??= read.rollups().finally(() => {
      pending = undefined;
    });
    return pending;
  };
  let healthPending: ReturnType<Jobs['read']['health']> | undefined;
  const health = () => {
    healthPending ??= read.health().finally(() => {
      healthPending = undefined;
    });
    return healthPending;
  };

  new Gauge({
    name: 'jobscope_jobs',
    help: 'Job executions by job type and status (all time), from the rollups.',
    labelNames: ['job_type', 'status'] as const,
    registers: [registry],
    async collect() {
      const { totals } = await snapshot();
      this.reset();
      for (const t of totals) this.set({ job_type: t.jobType, status: t.status }, t.jobs);
    },
  });
  registry.registerMetric(
    rollupHistogram({
      name: 'jobscope_job_duration_seconds',
      help: 'Run time (completed_at - started_at) of jobs that have both, by job type and status (all time), from the rollups.',
      read: async () => {
        const s = await snapshot();
        return { bounds: s.bounds, series: s.durations, totals: s.totals.map((t) => ({ ...t, count: t.timed, sum: t.durationSum })) };
      },
    }),
  );
  registry.registerMetric(
    rollupHistogram({
      name: 'jobscope_job_queue_wait_seconds',
      help: 'Queue wait (started_at - created_at) of jobs that started, by job type and status (all time), from the rollups.',
      read: async () => {
        const s = await snapshot();
        return { bounds: s.bounds, series: s.waits, totals: s.totals.map((t) => ({ ...t, count: t.waited, sum: t.waitSum })) };
      },
    }),
  );
  new Gauge({
    name: 'jobscope_job_failure_rate',
    help: 'Failed / all jobs created in the health window (default the last hour; 0 when none).',
    registers: [registry],
    async collect() {
      this.set((await health()).failureRate);
    },
  });
  new Gauge({
    name: 'jobscope_stuck_jobs',
    help: 'Jobs in processing longer than the stuck threshold.',
    registers: [registry],
    async collect() {
      this.set((await health()).stuckJobs);
    },
  });

  async function handleMetrics(request: Request, path: string): Promise<Response | undefined> {
    if (request.method !== 'GET' || path !== '/metrics') return undefined;
    return new Response(await registry.metrics(), { headers: { 'content-type': registry.contentType } });
  }
  // The registry, for the GraphQL server's operation metrics to report into the same /metrics.
  return Object.assign(handleMetrics, { registry });
}

interface HistogramInput {
  bounds: number[];
  series: { jobType: string; status: string; counts: number[] }[];
  totals: { jobType: string; status: string; count: number; sum: number }[];
}

/**
 * A Prometheus histogram whose cumulative buckets, sum and count come from the rollups at scrape
 * time. prom-client's Histogram only counts observations made in this process, so this is a
 * metric of its own shape: what the registry asks of a metric is its name, help, type and `get()`.
 */
function rollupHistogram(options: { name: string; help: string; read: () => Promise<HistogramInput> }): Metric {
  const { name, help } = options;
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'max',
    async get() {
      const { bounds, series, totals } = await options.read();
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const total of totals) {
        if (total.count === 0) continue;
        const labels = { job_type: total.jobType, status: total.status };
        const counts = series.find((s) => s.jobType === total.jobType && s.status === total.status)?.counts ?? [];
        bounds.forEach((le, i) => values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: counts[i] ?? 0 }));
        values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: total.count });
        values.push({ metricName: `${name}_sum`, labels, value: total.sum });
        values.push({ metricName: `${name}_count`, labels, value: total.count });
      }
      return { name, help, type: 'histogram', aggregator: 'max', values };
    },
  };
  return metric as unknown as Metric;
}
