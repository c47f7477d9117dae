/**
 * Slows down guessing: after `limit` failed authentications from one source address within a
 * window, every request from it that needs a token is refused with 429 (KT_AUTH_THROTTLED and a
 * `Retry-After`) until the window ends. Counts live in this process's memory, bounded in size
 * (the oldest sources are dropped first).
 *
 * @example
 * ```ts
 * const throttle = new AuthThrottle({ limit: 10, windowMs: 60_000 }, clock);
 * throttle.check(ip);          // throws KT_AUTH_THROTTLED while blocked
 * throttle.failed(ip);         // after a KT_TOKEN_INVALID
 * ```
 */
import type { Clock } from '../core/clock.js';
import { KeyturnError } from '../core/errors.js';

export interface ThrottleOptions {
  /** Failed authentications allowed per source and window (default 10). */
  limit?: number;
  /** The window in milliseconds (default 60 s). */
  windowMs?: number;
}

const MAX_SOURCES = 10_000;

export class AuthThrottle {
  private readonly limit: number;
  private readonly windowMs: number;
  private readonly sources = new Map<string, { start: number; failures: number }>();

  constructor(
    options: ThrottleOptions,
    private readonly clock: Clock,
  ) {
    this.limit = options.limit ?? 10;
    this.windowMs = options.windowMs ?? 60_000;
  }

  /** Throws KT_AUTH_THROTTLED while `source` is over its limit. */
  check(source: string): void {
    const s = this.sources.get(source);
    if (!s) return;
    const now = this.clock.now();
    if (now >= s.start + this.windowMs) {
      this.sources.delete(source);
      return;
    }
    if (s.failures >= this.limit) {
      const retryAfterSeconds = Math.max(1, Math.ceil((s.start + this.windowMs - now) / 1000));
      throw new KeyturnError('KT_AUTH_THROTTLED', `too many failed authentications from this address; try again in ${retryAfterSeconds} s`, { details: { retryAfterSeconds } });
    }
  }

  /** Counts a failed authentication from `source`. */
  failed(source: string): void {
    const now = this.clock.now();
    const s = this.sources.get(source);
    if (s && now < s.start + this.windowMs) {
      s.failures += 1;
      return;
    }
    if (this.sources.size >= MAX_SOURCES) this.sources.delete(this.sources.keys().next().value as string);
    this.sources.set(source, { start: now, failures: 1 });
  }
}
