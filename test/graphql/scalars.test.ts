import { describe, expect, it } from 'vitest';
import { isoString } from '../../src/graphql/scalars.js';

describe('isoString', () => {
  it('agrees with Date#toISOString', () => {
    const edges = [
      0, -1, 1, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 946_684_799_999, -62_167_219_200_000, -62_167_219_200_001,
      253_402_300_799_999, 253_402_300_800_000, -8_640_000_000_000_000, 8_640_000_000_000_000, Date.UTC(1900, 1, 28, 23, 59, 59, 999),
      Date.UTC(2000, 1, 29), Date.UTC(2100, 2, 1), Date.UTC(999, 11, 31, 23, 59, 59, 999), Date.UTC(10, 0, 1),
    ];
    for (const ms of edges) expect(isoString(new Date(ms))).toBe(new Date(ms).toISOString());
    let seed = 7;
    const random = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    for (let i = 0; i < 200_000; i++) {
      const ms = Math.round((random() - 0.3) * 2 * 253_402_300_799_999);
      expect(isoString(new Date(ms))).toBe(new Date(ms).toISOString());
    }
  });
});
