/**
 * Seeded randomness for tests: mulberry32, a small generator of numbers in [0, 1). Put the seed
 * in the test name so a failure can be replayed.
 *
 * @example
 * ```ts
 * const rng = seeded(42);
 * rng(); // the same sequence every run for seed 42
 * ```
 */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
