/**
 * Reconnect delays: exponential backoff with full jitter (a uniform draw between 0 and
 * min(max, base * 2^attempt)), so many agents that lost one server do not come back in step.
 * The randomness is injectable for tests.
 *
 * @example
 * ```ts
 * const b = backoff({ baseMs: 500, maxMs: 30_000, random: Math.random });
 * b.next(); // somewhere in [0, 500)
 * b.reset(); // after a connection that held
 * ```
 */
export interface BackoffOptions {
  readonly baseMs: number;
  readonly maxMs: number;
  /** Numbers in [0, 1). */
  readonly random: () => number;
}

export interface Backoff {
  /** The delay before the next attempt; each call doubles the ceiling up to maxMs. */
  next(): number;
  reset(): void;
}

export function backoff(o: BackoffOptions): Backoff {
  let attempt = 0;
  return {
    next: () => {
      const ceiling = Math.min(o.maxMs, o.baseMs * 2 ** Math.min(attempt, 30));
      attempt += 1;
      return Math.floor(o.random() * ceiling);
    },
    reset: () => {
      attempt = 0;
    },
  };
}
