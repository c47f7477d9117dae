/**
 * Rotation windows: days of the week and a range of hours on the wall clock of a time zone
 * (`{ days: [mon-fri], hours: "02:00-05:00", timezone: Europe/Paris }`). A window belongs to the
 * day it opens on: `hours: "22:00-02:00"` with `days: [fri]` runs from Friday 22:00 to Saturday
 * 02:00. The opening is inclusive, the close exclusive. Times are wall-clock times (./zone.ts): on
 * the day clocks go forward a window is an hour shorter (an opening in the skipped hour moves
 * forward by the gap), on the day they go back it may be an hour longer.
 *
 * @example
 * ```ts
 * const w = compileWindow({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: '02:00-05:00', timezone: 'Europe/Paris' });
 * windowAtOrAfter(w, Date.parse('2026-01-02T12:00:00Z')); // Monday 5 Jan 02:00-05:00 Paris: { open: ...T01:00Z, close: ...T04:00Z }
 * ```
 */
import { addDays, instantOf, wallClock } from './zone.js';

/** Day names as in `days:`, Sunday first (Date#getUTCDay order). */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The order days are listed in: Monday first. */
const LISTED: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A window as stored in an effective schedule: every day listed, hours and zone explicit. */
export interface WindowSpec {
  readonly days: readonly Weekday[];
  /** `HH:MM-HH:MM`; the end may be `24:00`; an end at or before the start crosses midnight. */
  readonly hours: string;
  readonly timezone: string;
}

/** A day or a range of days in `days:`. */
export const DAY_ENTRY = /^(sun|mon|tue|wed|thu|fri|sat)(?:-(sun|mon|tue|wed|thu|fri|sat))?$/;
/** `HH:MM-HH:MM`, the end up to `24:00`. */
export const HOURS = /^([01]\d|2[0-3]):([0-5]\d)-(?:([01]\d|2[0-3]):([0-5]\d)|(24):(00))$/;

/** The days named by entries such as `mon-fri` and `sun`, each once, Monday first. */
export function expandDays(entries: readonly string[]): Weekday[] {
  const on = new Set<Weekday>();
  for (const entry of entries) {
    const m = DAY_ENTRY.exec(entry);
    if (!m) throw new Error(`not a day: ${entry}`);
    const from = WEEKDAYS.indexOf(m[1] as Weekday);
    const to = WEEKDAYS.indexOf((m[2] ?? m[1]) as Weekday);
    for (let d = from; ; d = (d + 1) % 7) {
      on.add(WEEKDAYS[d]!);
      if (d === to) break;
    }
  }
  return LISTED.filter((d) => on.has(d));
}

/** The hours of `HH:MM-HH:MM` as minutes since midnight, or null when the text is not such a range (or empty). */
export function parseHours(text: string): { from: number; to: number } | null {
  const m = HOURS.exec(text);
  if (!m) return null;
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = m[5] === '24' ? 1440 : Number(m[3]) * 60 + Number(m[4]);
  return from === to ? null : { from, to };
}

/** `mon-fri`, `sat-sun`, `mon, wed, fri`, `every day`: days as people read them. */
export function describeDays(days: readonly Weekday[]): string {
  if (days.length === 7) return 'every day';
  const idx = days.map((d) => LISTED.indexOf(d));
  const runs: string[] = [];
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1] === idx[j]! + 1) j += 1;
    runs.push(
      j - i >= 2
        ? `${LISTED[idx[i]!]}-${LISTED[idx[j]!]}`
        : idx
            .slice(i, j + 1)
            .map((k) => LISTED[k])
            .join(', '),
    );
    i = j + 1;
  }
  return runs.join(', ');
}

/** A window ready for computing: day flags (Sunday = 0) and minutes. */
export interface CompiledWindow {
  readonly on: readonly boolean[];
  readonly from: number;
  readonly to: number;
  readonly zone: string;
}

/** One occurrence of a window: [open, close) in epoch milliseconds. */
export interface WindowSpan {
  readonly open: number;
  readonly close: number;
}

export function compileWindow(spec: WindowSpec): CompiledWindow {
  const hours = parseHours(spec.hours);
  if (!hours) throw new Error(`not an hours range: ${spec.hours}`);
  return { on: WEEKDAYS.map((d) => spec.days.includes(d)), from: hours.from, to: hours.to, zone: spec.timezone };
}

/** The occurrence opening on a calendar date, if the window opens that day. */
function spanOn(w: CompiledWindow, date: { year: number; month: number; day: number; weekday: number }): WindowSpan | null {
  if (!w.on[date.weekday]) return null;
  const open = instantOf({ ...date, minute: w.from }, w.zone);
  const closeDate = w.to > w.from ? date : addDays(date, 1);
  const close = instantOf({ ...closeDate, minute: w.to }, w.zone);
  return close > open ? { open, close } : null;
}

/** The occurrence that contains instant `t`, or null when `t` is outside the window. */
export function windowContaining(w: CompiledWindow, t: number): WindowSpan | null {
  const today = wallClock(t, w.zone);
  // The occurrence containing t opened today or, crossing midnight, yesterday.
  for (const k of [0, -1]) {
    const span = spanOn(w, addDays(today, k));
    if (span && span.open <= t && t < span.close) return span;
  }
  return null;
}

/** The occurrence containing `t`, else the next one to open after `t`. */
export function windowAtOrAfter(w: CompiledWindow, t: number): WindowSpan {
  const inside = windowContaining(w, t);
  if (inside) return inside;
  const today = wallClock(t, w.zone);
  for (let k = 0; k <= 8; k += 1) {
    const span = spanOn(w, addDays(today, k));
    if (span && span.open > t) return span;
  }
  // Unreachable with at least one day (a valid spec): each week has an occurrence.
  throw new Error('the window never opens');
}
