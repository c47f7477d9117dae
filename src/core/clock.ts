/**
 * Time as a dependency. Code that ages things (retention, recovery windows, backoff) takes a
 * {@link Clock} so tests can move time instead of sleeping.
 *
 * @example
 * ```ts
 * const clock = manualClock(Date.parse('2026-01-01T00:00:00Z'));
 * clock.advance(7 * DAY_MS);
 * ```
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const DAY_MS = 86_400_000;

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

/** A clock that moves only when told to. */
export function manualClock(start = Date.parse('2026-01-01T00:00:00Z')): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

/** ISO-8601 text of an epoch-millisecond time. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}
