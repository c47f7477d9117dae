/**
 * Hours of the week and of the day in UTC, from an event's time (ms since the epoch): the buckets
 * the behaviour detectors learn per identity, and how an anomaly's reason names them
 * (`03:00 UTC Sunday`). Hour of the week 0 is Monday 00:00-00:59 UTC, 167 is Sunday 23:00-23:59.
 *
 * @example
 * ```ts
 * hourOfWeek(Date.UTC(2024, 0, 7, 3)); // 147 (a Sunday, 03:00)
 * describeHourOfWeek(147); // '03:00 UTC Sunday'
 * ```
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
export const HOURS_PER_WEEK = 168;

const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
/** 1970-01-01 (time 0) was a Thursday: the epoch's hour 0 is hour 72 of its week. */
const EPOCH_HOUR_OF_WEEK = 72;

/**
 * The hour of the week (0: Monday 00:00 UTC ... 167: Sunday 23:00 UTC) of `time`.
 *
 * @example
 * ```ts
 * hourOfWeek(0); // 72 (Thursday 1970-01-01 00:00 UTC)
 * ```
 */
export function hourOfWeek(time: number): number {
  return (((Math.floor(time / HOUR_MS) + EPOCH_HOUR_OF_WEEK) % HOURS_PER_WEEK) + HOURS_PER_WEEK) % HOURS_PER_WEEK;
}

/**
 * The hour of the day in UTC (0-23) of `time`.
 *
 * @example
 * ```ts
 * hourOfDay(Date.UTC(2024, 0, 7, 3, 30)); // 3
 * ```
 */
export function hourOfDay(time: number): number {
  return ((Math.floor(time / HOUR_MS) % 24) + 24) % 24;
}

/**
 * The day's name of an hour of the week.
 *
 * @example
 * ```ts
 * dayName(147); // 'Sunday'
 * ```
 */
export function dayName(hourOfWeek: number): string {
  return DAYS[Math.floor(hourOfWeek / 24) % 7]!;
}

/**
 * An hour of the week for people: `03:00 UTC Sunday`.
 *
 * @example
 * ```ts
 * describeHourOfWeek(0); // '00:00 UTC Monday'
 * ```
 */
export function describeHourOfWeek(hourOfWeek: number): string {
  return `${String(hourOfWeek % 24).padStart(2, '0')}:00 UTC ${dayName(hourOfWeek)}`;
}

/**
 * The sum of `buckets` over `index` and its `radius` neighbours on each side, wrapping around
 * (the week's last hour is next to its first).
 *
 * @example
 * ```ts
 * circularSum(new Float32Array([1, 2, 3, 4]), 0, 1); // 4 + 1 + 2 = 7
 * ```
 */
export function circularSum(buckets: ArrayLike<number>, index: number, radius: number): number {
  const n = buckets.length;
  let sum = 0;
  for (let d = -radius; d <= radius; d++) sum += buckets[(((index + d) % n) + n) % n]!;
  return sum;
}
