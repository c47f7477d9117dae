/**
 * Retry delays: exponential backoff with full jitter (a uniform draw between 0 and
 * min(cap, base * 2^(attempt-1))), which spreads retries of many failing runs apart.
 *
 * @example
 * ```ts
 * fullJitterDelay(3, { baseMs: 10_000, capMs: 300_000 }); // somewhere in [0, 40 s)
 * ```
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

/** The ceiling of the delay after the given (1-based) failed attempt. */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  const exp = policy.baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30));
  return Math.min(policy.capMs, exp);
}

export function fullJitterDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  return Math.floor(random() * backoffCeiling(attempt, policy));
}
