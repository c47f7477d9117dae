import { describe, expect, it } from 'vitest';
import { seeded } from '../../test/helpers/seeded.js';
import { backoff } from './backoff.js';

describe('backoff (full jitter)', () => {
  it('draws in [0, min(max, base * 2^n)), the ceiling doubling until max and back to base on reset (seed 42)', () => {
    const b = backoff({ baseMs: 100, maxMs: 1000, random: seeded(42) });
    const ceilings = [100, 200, 400, 800, 1000, 1000];
    const draws = ceilings.map(() => b.next());
    draws.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(ceilings[i]!);
    });
    expect(new Set(draws).size).toBeGreaterThan(1);
    const top = backoff({ baseMs: 100, maxMs: 1000, random: () => 0.999999 });
    expect([top.next(), top.next(), top.next(), top.next(), top.next()]).toEqual([99, 199, 399, 799, 999]);
    top.reset();
    expect(top.next()).toBe(99);
  });
});
