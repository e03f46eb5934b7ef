import { random } from './factories.js';

/** factories' seeded PRNG (mulberry32), under the name fuzz tests replay by. */
export const mulberry32 = random;

/** Random values for fuzzing, drawn from `random`: strings with what databases refuse, odd numbers, nesting. */
export class Fuzz {
  constructor(readonly random: () => number) {}

  int(max: number): number {
    return Math.floor(this.random() * max);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  chance(p: number): boolean {
    return this.random() < p;
  }

  string(): string {
    const pieces = ['a', 'job', '\u0000', '\ud800', '\udfff', '🎉', '\uFFFD', ' ', '"', '\\', '\n', 'é', '%', '{', 'send-email', '2026-12-02T00:00:00Z', 'x'.repeat(300)];
    return Array.from({ length: this.int(5) }, () => this.pick(pieces)).join('');
  }

  scalar(): unknown {
    return this.pick<() => unknown>([
      () => this.string(),
      () => this.int(1000) - 500,
      () => this.pick([0, -1, 1.5, 1e308, -1e-308, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER]),
      () => this.chance(0.5),
      () => null,
      () => this.pick(['PENDING', 'FAILED', 'NOPE', 'completed', 'MINUTE', 'HOUR']),
    ])();
  }

  value(depth = 0): unknown {
    if (depth > 3 || this.chance(0.55)) return this.scalar();
    if (this.chance(0.5)) return Array.from({ length: this.int(4) }, () => this.value(depth + 1));
    return this.object(depth + 1);
  }

  object(depth = 0, keys: readonly string[] = []): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let i = this.int(4); i > 0; i--) out[this.chance(0.7) && keys.length ? this.pick(keys) : this.string()] = this.value(depth);
    return out;
  }
}
