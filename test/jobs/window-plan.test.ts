import { describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, planWindow, type SignedRange, type WindowPlan } from '../../src/jobs/read/rollups.js';
import { random } from '../helpers/factories.js';

/**
 * How many times a plan counts instant `t`: the signs of the scanned ranges holding it, plus those
 * of the bucket ranges holding the start of its hour (hours) or of its day (days).
 */
function weight(plan: WindowPlan, t: number): number {
  const holding = (ranges: SignedRange[], x: number) =>
    ranges.filter((r) => (r.from === undefined || r.from.getTime() <= x) && (r.to === undefined || x < r.to.getTime())).reduce((s, r) => s + r.sign, 0);
  return holding(plan.scans, t) + holding(plan.hours, Math.floor(t / HOUR_MS) * HOUR_MS) + holding(plan.days, Math.floor(t / DAY_MS) * DAY_MS);
}

const aligned = (ranges: SignedRange[], step: number) =>
  ranges.every((r) => (r.from === undefined || r.from.getTime() % step === 0) && (r.to === undefined || r.to.getTime() % step === 0));
const disjoint = (ranges: SignedRange[]) =>
  ranges.every((r, i) => i === 0 || (ranges[i - 1]!.to !== undefined && r.from !== undefined && ranges[i - 1]!.to!.getTime() <= r.from.getTime()));
const scannedMs = (plan: WindowPlan) => plan.scans.reduce((s, r) => s + (r.to!.getTime() - r.from!.getTime()), 0);

describe('planWindow: a window as a signed sum of days, hours and scans', () => {
  const now = new Date('2026-12-02T05:07:11.145Z');
  const base = Date.parse('2026-11-20T00:00:00Z');

  it('counts every instant of the window once and no other instant, for random windows and open ends', () => {
    const rnd = random(5);
    for (let i = 0; i < 400; i++) {
      const a = base + Math.floor(rnd() * 12 * DAY_MS);
      const length = [5 * 60_000, 3 * HOUR_MS, DAY_MS, 9 * DAY_MS][i % 4]! * rnd();
      const since = i % 7 === 0 ? undefined : new Date(a);
      const until = i % 11 === 0 ? undefined : new Date(a + Math.floor(length));
      if (!since && !until) continue;
      for (const grains of [['day', 'hour'], ['hour']] as const) {
        const plan = planWindow(since, until, grains, now);
        expect(aligned(plan.hours, HOUR_MS) && aligned(plan.days, DAY_MS)).toBe(true);
        expect(disjoint(plan.scans) && disjoint(plan.hours) && disjoint(plan.days)).toBe(true);
        if (grains.length === 1) expect(plan.days).toEqual([]);
        // At most half an hour is scanned at each end (a window shorter than that, all of it).
        expect(scannedMs(plan)).toBeLessThanOrEqual(HOUR_MS);
        for (let k = 0; k < 60; k++) {
          const t = base - DAY_MS + Math.floor(rnd() * 16 * DAY_MS);
          const inside = (!since || since.getTime() <= t) && (!until || t < until.getTime());
          expect(weight(plan, t), `${since?.toISOString()}..${until?.toISOString()} at ${new Date(t).toISOString()}`).toBe(inside ? 1 : 0);
        }
        // The window's own ends, and the instants next to them.
        for (const t of [since?.getTime(), until?.getTime()].filter((x): x is number => x !== undefined).flatMap((x) => [x - 1, x, x + 1])) {
          const inside = (!since || since.getTime() <= t) && (!until || t < until.getTime());
          expect(weight(plan, t)).toBe(inside ? 1 : 0);
        }
      }
    }
  });

  it('reads the last 24 hours at 05:07 as 2 days less 5 hours, with 7 minutes subtracted by scan', () => {
    const since = new Date(now.getTime() - 24 * HOUR_MS);
    const plan = planWindow(since, undefined, ['day', 'hour'], now);
    expect(plan.days).toEqual([{ from: new Date('2026-12-01T00:00:00Z'), to: undefined, sign: 1 }]);
    expect(plan.hours).toEqual([{ from: new Date('2026-12-01T00:00:00Z'), to: new Date('2026-12-01T05:00:00Z'), sign: -1 }]);
    expect(plan.scans).toEqual([{ from: new Date('2026-12-01T05:00:00Z'), to: since, sign: -1 }]);
  });

  it('reads 30 whole days as 30 days, a window inside an hour by scanning it, and an empty or reversed window as nothing', () => {
    const plan = planWindow(new Date('2026-11-03T00:00:00Z'), new Date('2026-12-03T00:00:00Z'), ['day', 'hour'], now);
    expect(plan).toEqual({ days: [{ from: new Date('2026-11-03T00:00:00Z'), to: new Date('2026-12-03T00:00:00Z'), sign: 1 }], hours: [], scans: [] });
    const inside = planWindow(new Date('2026-11-03T05:10:00Z'), new Date('2026-11-03T05:20:00Z'), ['day', 'hour'], now);
    expect(inside).toEqual({ days: [], hours: [], scans: [{ from: new Date('2026-11-03T05:10:00Z'), to: new Date('2026-11-03T05:20:00Z'), sign: 1 }] });
    expect(planWindow(now, now, ['hour'], now)).toEqual({ days: [], hours: [], scans: [] });
    expect(planWindow(now, new Date(now.getTime() - 1), ['hour'], now)).toEqual({ days: [], hours: [], scans: [] });
  });
});
