/** How the dashboard writes numbers, durations and times (one place, so the pages agree). */

export const count = (n: number): string => n.toLocaleString('en');

export const percent = (rate: number | null | undefined): string => (rate == null ? '—' : `${(rate * 100).toFixed(1)} %`);

export function seconds(s: number | null | undefined): string {
  if (s == null) return '—';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return `${d.toLocaleDateString('en-CA')} ${d.toLocaleTimeString('en-GB')}`;
}

export const json = (value: unknown): string => (value === undefined ? '' : JSON.stringify(value, null, 2));
