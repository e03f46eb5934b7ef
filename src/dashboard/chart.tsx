import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { DashOverviewQuery } from './gql/graphql.js';

type Buckets = DashOverviewQuery['jobThroughput'];

/** The series' colours, from the stylesheet's custom properties (they differ in light and dark). */
const cssColor = (name: string): string => getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888';

/** Enqueued, completed and failed jobs per bucket, as lines. */
export function ThroughputChart({ buckets, label }: { buckets: Buckets; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);

  const data = (): uPlot.AlignedData => [
    buckets.map((b) => Date.parse(b.bucketStart) / 1000),
    buckets.map((b) => b.enqueued),
    buckets.map((b) => b.completed),
    buckets.map((b) => b.failed),
  ];

  useEffect(() => {
    const el = box.current!;
    const axis = { stroke: cssColor('--fg-muted'), grid: { stroke: cssColor('--border') }, ticks: { stroke: cssColor('--border') } };
    const series = (name: string, color: string): uPlot.Series => ({ label: name, stroke: cssColor(color), width: 2, points: { show: false } });
    plot.current = new uPlot(
      {
        width: Math.max(300, el.clientWidth),
        height: 220,
        series: [{}, series('enqueued', '--series-enqueued'), series('completed', '--series-completed'), series('failed', '--series-failed')],
        axes: [axis, { ...axis, size: 50 }],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      },
      data(),
      el,
    );
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(300, el.clientWidth), height: 220 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = undefined;
    };
  }, []);

  useEffect(() => plot.current?.setData(data()), [buckets]);

  const totals = buckets.reduce((t, b) => ({ enqueued: t.enqueued + b.enqueued, completed: t.completed + b.completed, failed: t.failed + b.failed }), {
    enqueued: 0,
    completed: 0,
    failed: 0,
  });
  return (
    <figure class="chart">
      <div ref={box} role="img" aria-label={`Throughput ${label}: ${totals.enqueued} enqueued, ${totals.completed} completed, ${totals.failed} failed`} />
      <figcaption>
        Totals {label}: <span data-testid="throughput-enqueued" data-value={totals.enqueued}>{totals.enqueued}</span> enqueued,{' '}
        <span data-testid="throughput-completed" data-value={totals.completed}>{totals.completed}</span> completed,{' '}
        <span data-testid="throughput-failed" data-value={totals.failed}>{totals.failed}</span> failed
      </figcaption>
    </figure>
  );
}
