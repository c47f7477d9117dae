/**
 * The `unusual-time` detector: an identity accessing a path at an hour of the week it is
 * (essentially) never active in, such as a weekday-office user's token reading at 03:00 or on a
 * Sunday.
 *
 * Per identity it learns an activity profile of the 168 hours of the week (UTC), as decayed
 * counts (half-life `halfLifeDays`), so the profile follows a change of habits. An access (an
 * event with a capability whose outcome is success or denied) is unusual when, after the learning
 * period, both hold:
 *
 * - its hour of the week, with `smoothHours` hours on each side, holds fewer than
 *   max(`rareCount`, `rareShare` x the identity's recent accesses) recent accesses; and
 * - either its time of day (`timeOfDayHours` on each side, all days together) is just as rare,
 *   or the 24 hours around it (12 before, 11 after: the day, in whatever time zone the identity
 *   lives) hold less than a quarter of that (a weekday worker on a Sunday).
 *
 * The second condition keeps identities active around the clock (services with a daily cycle,
 * few accesses at night) from ever alarming: every time of their day and every day of their week
 * is busy, even when one hour of one day has seen nothing yet. An anomaly is raised at most once
 * per identity per `cooldownSeconds`. An unusual access is learned as `rareWeight` of a normal one:
 * a habit that really changes (a move to night shifts) stops alarming within a few days, while a
 * few unusual nights do not make the night normal.
 *
 * Memory: at most `maxIdentities` identities (least recently seen forgotten first), each a fixed
 * 168-bucket profile (about 0.7 KB). Cost per event: a map lookup and a few additions.
 *
 * @example
 * ```ts
 * const d = createUnusualTimeDetector(unusualTimeConfigSchema.parse({ type: 'unusual-time' }));
 * d.observe(event); // [] while normal; [{ type: 'unusual-time', reason: 'token:tk_1 read prod/db at 03:00 UTC Sunday, ...' }]
 * ```
 */
import { z } from 'zod';
import type { AccessEvent, Anomaly, Detector } from '../detector.js';
import { BoundedMap } from '../lru.js';
import { circularSum, DAY_MS, describeHourOfWeek, HOUR_MS, hourOfWeek, HOURS_PER_WEEK } from '../hours.js';

/**
 * The `unusual-time` detector's parameters.
 *
 * @example
 * ```ts
 * unusualTimeConfigSchema.parse({ type: 'unusual-time', learningDays: 21 }).halfLifeDays; // 14
 * ```
 */
export const unusualTimeConfigSchema = z
  .object({
    type: z.literal('unusual-time'),
    maxIdentities: z.number().int().min(1).default(10000).describe('at most this many identities are tracked; the least recently seen is forgotten first'),
    learningDays: z.number().min(0).default(14).describe('no anomaly for an identity until this many days after it was first seen'),
    minEvents: z.number().int().min(1).default(50).describe('... and until it has made at least this many accesses'),
    halfLifeDays: z.number().positive().default(14).describe('an access counts half as much in the profile after this many days'),
    smoothHours: z.number().int().min(0).max(11).default(1).describe('hours on each side of the access hour counted with it (in its hour of the week)'),
    timeOfDayHours: z.number().int().min(0).max(11).default(2).describe('hours on each side counted with it in its time of day (all days together)'),
    rareCount: z.number().min(0).default(1).describe('an hour is rare while it holds fewer recent accesses than this'),
    rareShare: z.number().min(0).max(1).default(0.002).describe("... or than this share of the identity's recent accesses, whichever is larger"),
    rareWeight: z.number().min(0).max(1).default(0.1).describe('an unusual access is learned as this fraction of one, so a few unusual nights do not make the night normal'),
    cooldownSeconds: z.number().int().min(0).default(3600).describe('at most one anomaly per identity in this many seconds'),
  })
  .strict();

export type UnusualTimeConfig = z.output<typeof unusualTimeConfigSchema>;

/** An identity's learned week. Weights are stored scaled by 2^((time - base) / halfLife) so that decay costs nothing per event. */
interface Profile {
  firstSeen: number;
  /** Accesses seen (capped), for minEvents. */
  events: number;
  /** The time the stored weights are relative to. */
  base: number;
  /** The absolute hour the cached `unit` is for, and the weight of one access made in it. */
  unitHour: number;
  unit: number;
  readonly weights: Float32Array;
  total: number;
  lastAlarm: number;
}

const NONE: readonly Anomaly[] = Object.freeze([]);
/** Rescale a profile's weights once one access weighs this much (2^40), far from float32's limit. */
const RESCALE_AT = 2 ** 40;
const EVENTS_CAP = 1e9;
/**
 * The 24 hours around an access count as rare below this share of the rare limit: a day is weak
 * evidence (two weeks of learning see each weekday twice, and one of them may have been a day off).
 */
const DAY_SHARE = 0.25;

/**
 * Makes an `unusual-time` detector.
 *
 * @example
 * ```ts
 * const d = createUnusualTimeDetector(unusualTimeConfigSchema.parse({ type: 'unusual-time', learningDays: 7 }));
 * for (const e of events) d.observe(e);
 * ```
 */
export function createUnusualTimeDetector(config: UnusualTimeConfig): Detector {
  const profiles = new BoundedMap<string, Profile>(config.maxIdentities);
  const learningMs = config.learningDays * DAY_MS;
  const halfLifeHours = config.halfLifeDays * 24;
  const radius = config.smoothHours;
  const dayRadius = config.timeOfDayHours;
  const cooldownMs = config.cooldownSeconds * 1000;

  /** The weight of one access at `time`, in the profile's stored scale (rescaling the profile when it grows large). */
  function unitAt(p: Profile, time: number): number {
    const hour = Math.floor(time / HOUR_MS);
    if (hour === p.unitHour) return p.unit;
    let unit = 2 ** ((hour * HOUR_MS - p.base) / (halfLifeHours * HOUR_MS));
    if (unit > RESCALE_AT) {
      const f = 1 / unit;
      for (let i = 0; i < HOURS_PER_WEEK; i++) p.weights[i]! *= f;
      p.total *= f;
      p.base = hour * HOUR_MS;
      unit = 1;
    }
    p.unitHour = hour;
    p.unit = unit;
    return unit;
  }

  function learn(p: Profile, how: number, unit: number): void {
    p.weights[how]! += unit;
    p.total += unit;
  }

  function observe(e: AccessEvent): readonly Anomaly[] {
    if (e.capability === null || (e.outcome !== 'success' && e.outcome !== 'denied')) return NONE;
    let p = profiles.get(e.actor);
    if (p === undefined) {
      p = { firstSeen: e.time, events: 0, base: e.time, unitHour: NaN, unit: 1, weights: new Float32Array(HOURS_PER_WEEK), total: 0, lastAlarm: -Infinity };
      profiles.set(e.actor, p);
    }
    const how = hourOfWeek(e.time);
    const unit = unitAt(p, e.time);
    if (p.events < EVENTS_CAP) p.events++;
    // Judged from half the learning period on (to learn unusual accesses a little only), reported after all of it.
    const age = e.time - p.firstSeen;
    if (age < learningMs / 2 || p.events <= config.minEvents / 2) {
      learn(p, how, unit);
      return NONE;
    }
    const limit = Math.max(config.rareCount * unit, config.rareShare * p.total);
    const slot = circularSum(p.weights, how, radius);
    if (slot >= limit) {
      learn(p, how, unit);
      return NONE;
    }
    // The hour of the week is rare; so is the time of day (all days) or the day around it?
    let timeOfDay = 0;
    for (let d = how % 24; d < HOURS_PER_WEEK; d += 24) timeOfDay += circularSum(p.weights, d, dayRadius);
    const day = circularSum(p.weights, how, 12) - p.weights[(how + 12) % HOURS_PER_WEEK]!; // the 24 hours from 12 before
    if (timeOfDay >= limit && day >= limit * DAY_SHARE) {
      learn(p, how, unit);
      return NONE;
    }
    // Unusual: learned a little (a lasting change of habits becomes normal in a few days, an incident does not).
    learn(p, how, unit * config.rareWeight);
    if (age < learningMs || p.events <= config.minEvents) return NONE; // still learning
    if (e.time - p.lastAlarm < cooldownMs) return NONE; // part of an incident already reported
    p.lastAlarm = e.time;
    return [unusualTimeAnomaly(e, p, how, { slot: slot / unit, timeOfDay: timeOfDay / unit, day: day / unit, total: p.total / unit })];
  }

  function unusualTimeAnomaly(e: AccessEvent, p: Profile, how: number, recent: { slot: number; timeOfDay: number; day: number; total: number }): Anomaly {
    const width = 2 * radius + 1;
    const expected = (recent.total * width) / HOURS_PER_WEEK;
    const round = (x: number): number => Math.round(x * 100) / 100;
    const days = Math.floor((e.time - p.firstSeen) / DAY_MS);
    const what = `${e.capability ?? e.action}${e.path === null ? '' : ` ${e.path}`}`;
    const never = recent.slot < 0.005 ? 'never' : 'almost never';
    const within = radius === 0 ? 'that hour' : `within ${radius} h of it`;
    return {
      type: 'unusual-time',
      seq: e.seq,
      time: e.time,
      actor: e.actor,
      path: e.path,
      address: e.address,
      score: Math.max(1, round(expected / (recent.slot + 1))),
      reason: `${e.actor} ${what} at ${describeHourOfWeek(how)}, an hour of the week it was ${never} active in (${round(recent.slot)} of ${Math.round(recent.total)} recent accesses ${within}, in ${days} days)`,
      details: {
        hourOfWeek: describeHourOfWeek(how),
        recentAccesses: round(recent.total),
        recentInHour: round(recent.slot),
        recentAtTimeOfDay: round(recent.timeOfDay),
        recentInDayAround: round(recent.day),
        observedDays: days,
        smoothHours: radius,
        timeOfDayHours: dayRadius,
      },
    };
  }

  return { type: 'unusual-time', observe, tracked: () => profiles.size };
}
