/**
 * Deterministic jitter: the delay added to a due time is derived from a SHA-256 hash of the
 * secret's path and the cycle (the un-jittered due time of that cycle), not from a random number.
 * Every instance that knows the same last rotation computes the same due time, so several
 * `keyturn server` processes agree on when a secret is due (the scheduler's claim then makes
 * sure only one of them rotates it); across secrets and cycles the delays still spread evenly.
 *
 * @example
 * ```ts
 * jitterMs('prod/api/token', Date.parse('2026-03-01T00:00:00Z'), 30 * 60_000); // the same number in [0, 1_800_000] everywhere
 * ```
 */
import { createHash } from 'node:crypto';

/** A delay in [0, maxMs] (whole milliseconds) for this secret and cycle; 0 when maxMs is 0. */
export function jitterMs(path: string, cycleAt: number, maxMs: number): number {
  if (maxMs <= 0) return 0;
  const digest = createHash('sha256').update(`keyturn-schedule-jitter\0${path}\0${cycleAt}`).digest();
  // 48 bits scaled to [0, maxMs] with integer arithmetic: the same on every platform.
  const draw = BigInt(digest.readUIntBE(0, 6));
  return Number((draw * BigInt(maxMs + 1)) >> 48n);
}
