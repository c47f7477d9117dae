/**
 * Seeded randomness for tests: mulberry32 (src/core/prng.ts), numbers in [0, 1). Put the seed
 * in the test name so a failure can be replayed.
 *
 * @example
 * ```ts
 * const rng = seeded(42);
 * rng(); // the same sequence every run for seed 42
 * ```
 */
import { Rng } from '../../src/core/prng.js';

export function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}
