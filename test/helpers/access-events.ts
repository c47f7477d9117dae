/**
 * Hand-built access events for the detector tests: one event with defaults, and small seeded
 * traffic shapes (a person on weekdays, a service around the clock with a daily cycle, CI bursts),
 * each in time order, merged into one log in time order.
 *
 * @example
 * ```ts
 * const rng = seeded(7);
 * const log = merge(person(rng, { actor: 'user:alice', from: MONDAY, days: 21 }), service(rng, { actor: 'token:tk_app', from: MONDAY, days: 21 }));
 * const anomalies = runAll(detector, log);
 * ```
 */
import type { AccessEvent, Anomaly, Detector } from '../../src/detect/detector.js';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** Monday 2024-01-01 00:00 UTC. */
export const MONDAY = Date.UTC(2024, 0, 1);

let nextSeq = 1;

/**
 * One event: a successful read of `app/db` by `token:tk_1` through the API, unless told otherwise.
 *
 * @example
 * ```ts
 * access({ time: MONDAY + 3 * HOUR, outcome: 'denied' });
 * ```
 */
export function access(fields: Partial<AccessEvent> & { time: number }): AccessEvent {
  return {
    seq: nextSeq++,
    actor: 'token:tk_1',
    source: 'api',
    action: 'secret.read',
    capability: 'read',
    path: 'app/db',
    outcome: 'success',
    errorCode: null,
    address: '10.0.0.1',
    userAgent: null,
    ...fields,
  };
}

/** A Poisson-distributed count of mean `mean` (Knuth; fine for small means). */
export function poisson(rng: () => number, mean: number): number {
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss(rng)));
  const l = Math.exp(-mean);
  let k = 0;
  let p = rng();
  while (p > l) {
    k++;
    p *= rng();
  }
  return k;
}

function gauss(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

/** `count` events spread at random over [start, start + span). */
function spread(rng: () => number, start: number, span: number, count: number, fields: Partial<AccessEvent>): AccessEvent[] {
  const out: AccessEvent[] = [];
  for (let i = 0; i < count; i++) out.push(access({ ...fields, time: Math.floor(start + rng() * span) }));
  return out;
}

/**
 * A person: accesses on weekdays between `startHour` and `endHour` UTC, `perHour` on average.
 *
 * @example
 * ```ts
 * person(seeded(1), { actor: 'user:alice', from: MONDAY, days: 14 });
 * ```
 */
export function person(rng: () => number, o: { actor: string; from: number; days: number; perHour?: number; startHour?: number; endHour?: number; address?: string }): AccessEvent[] {
  const out: AccessEvent[] = [];
  for (let d = 0; d < o.days; d++) {
    const day = o.from + d * DAY;
    const weekday = (new Date(day).getUTCDay() + 6) % 7; // 0 Monday
    if (weekday >= 5) continue;
    for (let h = o.startHour ?? 8; h < (o.endHour ?? 18); h++) {
      out.push(...spread(rng, day + h * HOUR, HOUR, poisson(rng, o.perHour ?? 4), { actor: o.actor, address: o.address ?? '192.168.1.20' }));
    }
  }
  return byTime(out);
}

/**
 * A service around the clock: `peakPerHour` at 14:00 UTC, `nightShare` of it at 02:00, a cosine between.
 *
 * @example
 * ```ts
 * service(seeded(1), { actor: 'token:tk_app', from: MONDAY, days: 14, peakPerHour: 60 });
 * ```
 */
export function service(rng: () => number, o: { actor: string; from: number; days: number; peakPerHour?: number; nightShare?: number; address?: string }): AccessEvent[] {
  const out: AccessEvent[] = [];
  const peak = o.peakPerHour ?? 60;
  const night = o.nightShare ?? 0.05;
  for (let h = 0; h < o.days * 24; h++) {
    const hourOfDay = h % 24;
    const level = night + (1 - night) * (0.5 + 0.5 * Math.cos(((hourOfDay - 14) / 24) * 2 * Math.PI));
    out.push(...spread(rng, o.from + h * HOUR, HOUR, poisson(rng, peak * level), { actor: o.actor, address: o.address ?? '10.0.0.5' }));
  }
  return byTime(out);
}

/**
 * CI jobs: `jobsPerDay` jobs at random times, each `runners` runners (addresses) reading `readsPerRunner` secrets within a minute.
 *
 * @example
 * ```ts
 * ci(seeded(1), { actor: 'token:tk_ci', from: MONDAY, days: 14, runners: 6 });
 * ```
 */
export function ci(rng: () => number, o: { actor: string; from: number; days: number; jobsPerDay?: number; runners?: number; readsPerRunner?: number }): AccessEvent[] {
  const out: AccessEvent[] = [];
  for (let d = 0; d < o.days; d++) {
    for (let j = 0; j < (o.jobsPerDay ?? 20); j++) {
      const start = o.from + d * DAY + Math.floor(rng() * DAY);
      const runners = 1 + Math.floor(rng() * (o.runners ?? 6));
      for (let r = 0; r < runners; r++) {
        out.push(...spread(rng, start, MINUTE, o.readsPerRunner ?? 4, { actor: o.actor, address: `10.1.0.${r + 1}` }));
      }
    }
  }
  return byTime(out);
}

function byTime(events: AccessEvent[]): AccessEvent[] {
  return events.sort((a, b) => a.time - b.time);
}

/**
 * Streams merged into one log in time order, numbered in that order.
 *
 * @example
 * ```ts
 * merge(person(rng, alice), service(rng, app));
 * ```
 */
export function merge(...streams: AccessEvent[][]): AccessEvent[] {
  return streams
    .flat()
    .sort((a, b) => a.time - b.time)
    .map((e, i) => ({ ...e, seq: i + 1 }));
}

/**
 * Every anomaly `detector` raises over `events`, in order.
 *
 * @example
 * ```ts
 * expect(runAll(d, log)).toEqual([]);
 * ```
 */
export function runAll(detector: Detector, events: readonly AccessEvent[]): Anomaly[] {
  const out: Anomaly[] = [];
  for (const e of events) out.push(...detector.observe(e));
  return out;
}
