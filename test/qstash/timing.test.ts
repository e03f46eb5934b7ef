import { describe, expect, it } from 'vitest';
import { compileRetryDelay, defaultBackoffMs, parseDuration, parseRetryAfter } from '../../src/qstash/timing.js';

describe('QStash timing helpers', () => {
  it('parses QStash durations', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('45')).toBe(45_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseDuration('10x')).toBeUndefined();
  });

  it('follows the documented backoff: 12 s, 2 m 28 s, 30 m, capped at a day', () => {
    expect(Math.round(defaultBackoffMs(1) / 1000)).toBe(12);
    expect(Math.round(defaultBackoffMs(2) / 1000)).toBe(148);
    expect(Math.round(defaultBackoffMs(3) / 1000)).toBe(1808);
    expect(defaultBackoffMs(6)).toBe(86_400_000);
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('30')).toBe(30_000);
    expect(parseRetryAfter(new Date(70_000).toUTCString(), 10_000)).toBe(60_000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('later')).toBeUndefined();
  });

  it('evaluates Upstash-Retry-Delay expressions in milliseconds', () => {
    expect(compileRetryDelay('1000')(3)).toBe(1000);
    expect([0, 1, 2].map(compileRetryDelay('1000 * (1 + retried)'))).toEqual([1000, 2000, 3000]);
    expect([0, 1, 2, 3].map(compileRetryDelay('pow(2, retried) * 1000'))).toEqual([1000, 2000, 4000, 8000]);
    expect(compileRetryDelay('max(1000, min(5000, floor(sqrt(retried) * 3000)))')(4)).toBe(5000);
    expect(compileRetryDelay('-500')(0)).toBe(0);
    expect(() => compileRetryDelay('process.exit(1)')).toThrow();
    expect(() => compileRetryDelay('pow(2,')).toThrow();
    expect(() => compileRetryDelay('retries * 2')).toThrow(/unknown variable/);
  });
});
