import { useMemo, useState } from 'preact/hooks';
import { ThroughputChart } from './chart.js';
import { count, percent, seconds, time } from './format.js';
import type { ThroughputBucketSize } from './gql/graphql.js';
import { DashOverviewDocument } from './gql/graphql.js';
import { useJobEvents, useThrottled } from './live-events.js';
import { href } from './router.js';
import { useSession } from './session.js';
import { ErrorNote, FieldErrors } from './ui.js';
import { useQuery } from './use-query.js';

const RANGES: { id: string; label: string; bucket: ThroughputBucketSize; ms: number }[] = [
  { id: 'hour', label: 'last hour', bucket: 'MINUTE', ms: 3_600_000 },
  { id: 'day', label: 'last 24 hours', bucket: 'HOUR', ms: 86_400_000 },
  { id: 'month', label: 'last 30 days', bucket: 'DAY', ms: 30 * 86_400_000 },
];

/** One row per job type: the stats' (type, status) rows folded, the queue beside them. */
export interface TypeRow {
  jobType: string;
  count: number;
  failed: number;
  failureRate: number;
  p50: number | null | undefined;
  p95: number | null | undefined;
  /** Queue wait (enqueue → start) of the completed runs. */
  waitP50: number | null | undefined;
  waitP95: number | null | undefined;
  pending: number | undefined;
  oldestPendingAgeSeconds: number | null | undefined;
}

export function Overview() {
  const session = useSession();
  const [rangeId, setRangeId] = useState('hour');
  const range = RANGES.find((r) => r.id === rangeId)!;
  // The per-type table covers the chart's range; the start moves by whole minutes so a re-render
  // does not make a new query.
  const [since, setSince] = useState(() => sinceFor(range.ms));
  const variables = useMemo(() => ({ bucket: range.bucket, statsFilter: { createdAfter: since } }), [range.bucket, since]);
  const { data, errors, error, loading, refetch } = useQuery(DashOverviewDocument, variables);
  const [events, setEvents] = useState(0);
  const refresh = useThrottled(() => {
    const next = sinceFor(range.ms);
    if (next !== since) setSince(next);
    else refetch();
  }, 1_000);
  useJobEvents(
    () => {
      setEvents((n) => n + 1);
      refresh();
    },
    undefined,
    refresh,
  );

  const rows = useMemo(() => {
    const byType = new Map<string, TypeRow>();
    const row = (jobType: string): TypeRow => {
      let r = byType.get(jobType);
      if (!r) byType.set(jobType, (r = { jobType, count: 0, failed: 0, failureRate: 0, p50: undefined, p95: undefined, waitP50: undefined, waitP95: undefined, pending: undefined, oldestPendingAgeSeconds: undefined }));
      return r;
    };
    for (const t of session.jobTypes) row(t.name);
    for (const s of data?.jobStats ?? []) {
      const r = row(s.jobType);
      r.count += s.count;
      if (s.status === 'FAILED') r.failed += s.count;
      // Durations of the runs that completed: what a caller waits for a job that works.
      if (s.status === 'COMPLETED') {
        r.p50 = s.p50DurationSeconds;
        r.p95 = s.p95DurationSeconds;
        r.waitP50 = s.p50QueueWaitSeconds;
        r.waitP95 = s.p95QueueWaitSeconds;
      }
    }
    for (const q of data?.queueDepth ?? []) {
      const r = row(q.jobType);
      r.pending = q.pending;
      r.oldestPendingAgeSeconds = q.oldestPendingAgeSeconds;
    }
    for (const r of byType.values()) r.failureRate = r.count === 0 ? 0 : r.failed / r.count;
    return [...byType.values()].sort((a, b) => a.jobType.localeCompare(b.jobType));
  }, [data, session]);

  if (error && !data) return <ErrorNote error={error} />;
  if (!data) return <p aria-busy="true">Loading…</p>;
  const health = data.jobHealth;
  return (
    <div class="overview" aria-busy={loading}>
      <FieldErrors errors={errors} />
      <section aria-labelledby="health-h" class={`health ${health.status.toLowerCase()}`}>
        <h2 id="health-h">Health</h2>
        <p class="verdict" data-testid="health-status" data-value={health.status}>
          {health.status === 'HEALTHY' ? '✓ Healthy' : '✗ Unhealthy'}
        </p>
        <dl class="figures">
          <div>
            <dt>Failure rate ({health.windowMinutes} min)</dt>
            <dd data-testid="health-failure-rate" data-value={health.failureRate}>
              {percent(health.failureRate)} <small>of {count(health.totalJobs)} (threshold {percent(health.failureRateThreshold)})</small>
            </dd>
          </div>
          <div>
            <dt>Failed</dt>
            <dd data-testid="health-failed" data-value={health.failedJobs}>{count(health.failedJobs)}</dd>
          </div>
          <div>
            <dt>Stuck (over {health.stuckAfterMinutes} min)</dt>
            <dd data-testid="health-stuck" data-value={health.stuckJobs}>{count(health.stuckJobs)}</dd>
          </div>
          <div>
            <dt>Dead letters waiting</dt>
            <dd data-testid="dead-letters" data-value={data.deadLetters.nodes.length}>
              {count(data.deadLetters.nodes.length)}
              {data.deadLetters.pageInfo.hasNextPage ? '+' : ''}
            </dd>
          </div>
          <div>
            <dt>Live events</dt>
            <dd data-testid="live-count" aria-live="polite">{count(events)}</dd>
          </div>
        </dl>
      </section>

      <section aria-labelledby="throughput-h">
        <div class="section-head">
          <h2 id="throughput-h">Throughput</h2>
          <label>
            Range{' '}
            <select value={rangeId} onChange={(e) => {
              const next = RANGES.find((r) => r.id === e.currentTarget.value)!;
              setRangeId(next.id);
              setSince(sinceFor(next.ms));
            }}>
              {RANGES.map((r) => (
                <option value={r.id}>{r.label}</option>
              ))}
            </select>
          </label>
        </div>
        <ThroughputChart buckets={data.jobThroughput} label={range.label} />
      </section>

      <section aria-labelledby="types-h">
        <h2 id="types-h">Job types <small>(jobs created in the {range.label})</small></h2>
        <div class="scroll">
          <table data-testid="type-table" data-since={since}>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col" class="num">Jobs</th>
                <th scope="col" class="num">Failure rate</th>
                <th scope="col" class="num">p50</th>
                <th scope="col" class="num">p95</th>
                <th scope="col" class="num" title="Enqueue to start, of the completed runs">Wait p50</th>
                <th scope="col" class="num" title="Enqueue to start, of the completed runs">Wait p95</th>
                <th scope="col" class="num">Waiting</th>
                <th scope="col" class="num">Oldest wait</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr data-type={r.jobType} key={r.jobType}>
                  <th scope="row">
                    <a href={href('/runs', new URLSearchParams({ type: r.jobType }))}>{r.jobType}</a>
                  </th>
                  <td class="num" data-col="count" data-value={r.count}>{count(r.count)}</td>
                  <td class="num" data-col="failureRate" data-value={r.failureRate}>{percent(r.failureRate)}</td>
                  <td class="num" data-col="p50" data-value={r.p50 ?? ''}>{seconds(r.p50)}</td>
                  <td class="num" data-col="p95" data-value={r.p95 ?? ''}>{seconds(r.p95)}</td>
                  <td class="num" data-col="waitP50" data-value={r.waitP50 ?? ''}>{seconds(r.waitP50)}</td>
                  <td class="num" data-col="waitP95" data-value={r.waitP95 ?? ''}>{seconds(r.waitP95)}</td>
                  <td class="num" data-col="pending" data-value={r.pending ?? ''}>{r.pending === undefined ? '—' : count(r.pending)}</td>
                  <td class="num" data-col="oldestWait">{seconds(r.oldestPendingAgeSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <div class="columns">
        <section aria-labelledby="slow-h">
          <h2 id="slow-h">Slow types <small>(average over 30 s)</small></h2>
          {data.slowJobs.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul data-testid="slow-types">
              {data.slowJobs.map((s) => (
                <li>
                  <strong>{s.jobType}</strong>: {seconds(s.avgDurationSeconds)} average, p95 {seconds(s.p95DurationSeconds)} over {count(s.count)}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="stuck-h">
          <h2 id="stuck-h">Stuck jobs</h2>
          {data.stuckJobs.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul data-testid="stuck-jobs">
              {data.stuckJobs.map((j) => (
                <li>
                  <a href={href(`/jobs/${j.jobId}`)}>{j.jobId}</a> {j.jobType}, running since {time(j.startedAt)}
                </li>
              ))}
            </ul>
          )}
        </section>
        <section aria-labelledby="dlq-h">
          <h2 id="dlq-h">Dead letters</h2>
          {data.deadLetters.nodes.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul data-testid="dead-letter-list">
              {data.deadLetters.nodes.map((d) => (
                <li>
                  {d.jobId ? <a href={href(`/jobs/${d.jobId}`)}>{d.jobId}</a> : d.messageId} HTTP {d.responseStatus ?? '—'} at {time(d.createdAt)}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}

function sinceFor(ms: number): string {
  return new Date(Math.floor((Date.now() - ms) / 60_000) * 60_000).toISOString();
}
