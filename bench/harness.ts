/** Small timing harness: runs each case, reports median and p95, and ratios to a baseline. */

export interface Measured {
  name: string;
  samples: number[];
}

export async function measure(name: string, iterations: number, run: (i: number) => Promise<unknown>, warmup = 5): Promise<Measured> {
  for (let i = 0; i < warmup; i++) await run(-1 - i);
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    await run(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { name, samples };
}

function quantile(sorted: number[], q: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[index]!;
}

export function summarize(m: Measured) {
  const sorted = [...m.samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), n: sorted.length };
}

/** Prints one table: each case's median and p95 in ms, and its median as a ratio to the baseline's. */
export function report(title: string, baseline: Measured, cases: Measured[]): void {
  const base = summarize(baseline);
  const rows = [baseline, ...cases].map((m) => {
    const s = summarize(m);
    return {
      case: m === baseline ? `${m.name} (baseline)` : m.name,
      'median ms': s.median.toFixed(2),
      'p95 ms': s.p95.toFixed(2),
      'ratio (median)': `${(s.median / base.median).toFixed(2)}x`,
      n: s.n,
    };
  });
  console.log(`\n## ${title}`);
  console.table(rows);
}
