import { describe, expect, it } from 'vitest';
import { backoffCeiling, fullJitterDelay } from './backoff.js';

describe('full-jitter backoff', () => {
  const policy = { baseMs: 10_000, capMs: 300_000 };

  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 40].map((a) => backoffCeiling(a, policy))).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('draws uniformly below the ceiling', () => {
    expect(fullJitterDelay(3, policy, () => 0)).toBe(0);
    expect(fullJitterDelay(3, policy, () => 0.5)).toBe(20_000);
    expect(fullJitterDelay(3, policy, () => 0.999999)).toBeLessThan(40_000);
    const draws = Array.from({ length: 2000 }, () => fullJitterDelay(2, policy));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThan(20_000);
    // The mean of a uniform draw on [0, 20 s) is 10 s; 2000 draws put it well within ±1 s.
    const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
    expect(Math.abs(mean - 10_000)).toBeLessThan(1_000);
  });
});
