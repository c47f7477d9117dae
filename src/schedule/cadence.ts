/**
 * The un-jittered due time of a cadence after a given instant (the last rotation):
 *
 * - `every: D`: exactly D after it (elapsed time: a day is 24 hours, whatever the clocks do);
 * - `rate: D`: the next point of a fixed grid of period D counted from 1970-01-01T00:00:00Z, so a
 *   late rotation does not move the ones after it and missed points are not caught up;
 * - `cron`: the next time the expression fires in its time zone (./cron.ts);
 * - `manual`: never.
 *
 * @example
 * ```ts
 * cadenceAfter({ rate: '20m' }, Date.parse('2026-01-01T00:07:00Z')); // 2026-01-01T00:20:00Z
 * cadenceAfter({ every: '90d' }, Date.parse('2026-01-01T00:07:00Z')); // 2026-04-01T00:07:00Z
 * ```
 */
import { nextCron } from './cron.js';
import type { Cadence } from './resolve.js';
import { durationMs } from './schema.js';

/** The first due time strictly after `after`, or null (manual, or a cron expression that never fires again). */
export function cadenceAfter(cadence: Cadence, after: number): number | null {
  if ('every' in cadence) return after + durationMs(cadence.every)!;
  if ('rate' in cadence) {
    const period = durationMs(cadence.rate)!;
    return (Math.floor(after / period) + 1) * period;
  }
  if ('cron' in cadence) return nextCron(cadence.cron, cadence.timezone, after);
  return null;
}
