/**
 * A small seeded generator of numbers in [0, 1) (mulberry32), for tests whose randomness must be
 * replayable from the seed printed in their names.
 *
 * @example
 * ```ts
 * const rng = seeded(42);
 * const pick = Math.floor(rng() * 6); // the same for the same seed
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
