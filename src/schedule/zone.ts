/**
 * Time-zone arithmetic with the platform's own zone data (Intl): the wall clock of an instant in
 * an IANA zone, and the instant of a wall-clock time there. No zone rules are written here, so
 * daylight-saving changes follow whatever tz data Node ships.
 *
 * A wall-clock time that does not exist (the hour skipped when clocks go forward) is moved
 * forward by the length of the gap, and one that happens twice (clocks go back) is the earlier
 * of the two: the `compatible` rule of RFC 5545 and Temporal.
 *
 * @example
 * ```ts
 * wallClock(Date.parse('2026-03-29T01:30:00Z'), 'Europe/Paris'); // { year: 2026, month: 3, day: 29, hour: 3, minute: 30, ... }
 * instantOf({ year: 2026, month: 3, day: 29, minute: 150 }, 'Europe/Paris'); // 02:30 does not exist: 03:30 CEST = 01:30Z
 * ```
 */

/** A zone name Keyturn accepts: `UTC` or an IANA name such as `Europe/Paris` (no offsets like `+01:00`). */
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, f);
  }
  return f;
}

/** Whether `zone` is `UTC` or an IANA time zone this Node knows. */
export function isTimeZone(zone: string): boolean {
  if (!ZONE_NAME.test(zone)) return false;
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** A calendar date and time of day on a wall clock. */
export interface WallClock {
  year: number;
  /** 1 to 12. */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 (Sunday) to 6 (Saturday). */
  weekday: number;
}

/** The wall clock in `zone` at instant `ms` (to the second). */
export function wallClock(ms: number, zone: string): WallClock {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const year = parts.year!;
  const month = parts.month!;
  const day = parts.day!;
  return { year, month, day, hour: parts.hour!, minute: parts.minute!, second: parts.second!, weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay() };
}

/** The zone's offset from UTC at instant `ms`, in milliseconds (east positive). */
export function offsetAt(ms: number, zone: string): number {
  const w = wallClock(ms, zone);
  const seconds = Math.floor(ms / 1000) * 1000;
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - seconds;
}

/** A calendar date (month 1 to 12), days past its end roll over, and a time of day as minutes since midnight (0 to 1440). */
export interface LocalTime {
  year: number;
  month: number;
  day: number;
  minute: number;
}

/**
 * The instant at which the wall clock in `zone` shows `t`. Skipped times move forward by the
 * gap, repeated times are the earlier instant. `minute: 1440` is midnight at the end of the day.
 */
export function instantOf(t: LocalTime, zone: string): number {
  // The wall time read as if it were UTC; the real instant is that minus the zone's offset then.
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, 0, t.minute);
  const DAY = 86_400_000;
  const before = offsetAt(asUtc - DAY, zone);
  const after = offsetAt(asUtc + DAY, zone);
  const candidates = [...new Set([before, after])].map((o) => asUtc - o).filter((ms) => offsetAt(ms, zone) === asUtc - ms);
  if (candidates.length > 0) return Math.min(...candidates);
  // In a gap: read with the offset in force before it, which lands the same distance past the gap.
  return asUtc - before;
}

/** The calendar date `days` after the given one (a plain calendar: no zone involved). */
export function addDays(date: { year: number; month: number; day: number }, days: number): { year: number; month: number; day: number; weekday: number } {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), weekday: d.getUTCDay() };
}
