/**
 * The `excessive-access` detector: an identity making far more accesses per minute than it
 * normally does at that hour of the day (a token scraping every secret it can read, a runaway
 * client), per 5 minutes by default.
 *
 * Per identity it counts successful accesses (events with a capability and outcome `success`;
 * failures and refusals are the `failed-burst` detector's) in a sliding window of `windowSeconds`
 * (estimated from two fixed windows: the current one plus the previous one's share that still
 * overlaps, so no list of times is kept). Its baseline is learned per hour of the day (UTC): for
 * each hour the identity was active in, the busiest window of that hour is fed to a per-hour-of-day
 * average and mean absolute deviation (EWMA, half-life `halfLifeDays` samples, one a day), which
 * follows the daily cycle and copes with bursty clients (a CI token doing its reads in a burst has
 * a high peak, and learns it). The baseline of an hour is the largest of that hour's and of the
 * two hours on each side; an hour of the day the identity has hardly been active in (fewer than 3
 * samples around it) takes the identity's busiest hour's.
 *
 * After the learning period (`learningDays` since the identity was first seen), an access whose
 * window count exceeds max(`factor` x baseline, baseline + `spreads` x deviation, `minCount`)
 * raises an anomaly, once per incident: the next one only after the identity stayed under its
 * limit for `cooldownSeconds`. An hour that went over the limit is not learned, so an attack does
 * not teach the detector that it is normal (a rate that stays high is one long incident).
 *
 * Memory: at most `maxIdentities` identities, each 24 hourly averages and deviations (about 0.3 KB).
 * Cost per event: a map lookup and a few arithmetic operations; the baseline is only looked at
 * when the count is over `minCount`.
 *
 * @example
 * ```ts
 * const d = createExcessiveAccessDetector(excessiveAccessConfigSchema.parse({ type: 'excessive-access' }));
 * d.observe(event); // [] while normal
 * ```
 */
import { z } from 'zod';
import type { AccessEvent, Anomaly, Detector } from '../detector.js';
import { BoundedMap } from '../lru.js';
import { DAY_MS, HOUR_MS } from '../hours.js';

/**
 * The `excessive-access` detector's parameters.
 *
 * @example
 * ```ts
 * excessiveAccessConfigSchema.parse({ type: 'excessive-access' }).minCount; // 30
 * ```
 */
export const excessiveAccessConfigSchema = z
  .object({
    type: z.literal('excessive-access'),
    maxIdentities: z.number().int().min(1).default(10000).describe('at most this many identities are tracked; the least recently seen is forgotten first'),
    windowSeconds: z.number().int().min(1).max(3600).default(300).describe('the sliding window accesses are counted in'),
    learningDays: z.number().min(0).default(7).describe('no anomaly for an identity until this many days after it was first seen'),
    factor: z.number().min(1).default(3).describe("alarm above this many times the identity's usual busiest window at that hour of the day"),
    spreads: z.number().min(0).default(6).describe('... and above the usual busiest window plus this many mean absolute deviations'),
    minCount: z.number().int().min(1).default(20).describe('... and above this many accesses in the window, whatever the baseline'),
    halfLifeDays: z.number().positive().default(7).describe("an hour's busiest window counts half as much in the baseline after this many more samples of that hour of the day"),
    cooldownSeconds: z.number().int().min(0).default(1800).describe('an incident ends once the identity stayed under its limit this long; one anomaly per incident'),
  })
  .strict();

export type ExcessiveAccessConfig = z.output<typeof excessiveAccessConfigSchema>;

interface Rates {
  firstSeen: number;
  /** The current fixed window (its index), its count, and the previous window's count. */
  window: number;
  current: number;
  previous: number;
  /** The current absolute hour, its busiest window so far, and whether it went over the limit. */
  hour: number;
  hourPeak: number;
  hourExceeded: boolean;
  readonly mean: Float32Array;
  readonly deviation: Float32Array;
  readonly samples: Uint16Array;
  lastExceeded: number;
}

const NONE: readonly Anomaly[] = Object.freeze([]);
/** Fewer samples than this around an hour of the day: that hour's baseline is the identity's busiest hour's. */
const MIN_SAMPLES = 3;
/** Hours of the day on each side whose baselines count with an hour's (the largest is taken). */
const NEIGHBOURS = 2;

/**
 * Makes an `excessive-access` detector.
 *
 * @example
 * ```ts
 * const d = createExcessiveAccessDetector(excessiveAccessConfigSchema.parse({ type: 'excessive-access', minCount: 50 }));
 * for (const e of events) d.observe(e);
 * ```
 */
export function createExcessiveAccessDetector(config: ExcessiveAccessConfig): Detector {
  const rates = new BoundedMap<string, Rates>(config.maxIdentities);
  const windowMs = config.windowSeconds * 1000;
  const learningMs = config.learningDays * DAY_MS;
  const alpha = 1 - 2 ** (-1 / config.halfLifeDays);
  const cooldownMs = config.cooldownSeconds * 1000;

  /** Feeds the finished hour's busiest window to its hour of the day's baseline. */
  function closeHour(r: Rates): void {
    const h = ((r.hour % 24) + 24) % 24;
    if (r.hourExceeded) return; // an incident's hour teaches nothing
    const value = r.hourPeak;
    const n = r.samples[h]!;
    const a = Math.max(alpha, 1 / (n + 1));
    if (n === 0) r.mean[h] = value;
    else {
      const m = r.mean[h]!;
      r.deviation[h] = r.deviation[h]! + a * (Math.abs(value - m) - r.deviation[h]!);
      r.mean[h] = m + a * (value - m);
    }
    if (n < 65535) r.samples[h] = n + 1;
  }

  // The baseline and deviation behind the last limitAt() (kept here: no object per event).
  let baseline = 0;
  let deviation = 0;

  /** The limit of hour of the day `h`: max(factor x baseline, baseline + spreads x deviation, minCount). */
  function limitAt(r: Rates, h: number): number {
    baseline = 0;
    deviation = 0;
    let samples = 0;
    for (let d = -NEIGHBOURS; d <= NEIGHBOURS; d++) {
      const i = (h + d + 24) % 24;
      samples += r.samples[i]!;
      if (r.samples[i]! > 0) {
        baseline = Math.max(baseline, r.mean[i]!);
        deviation = Math.max(deviation, r.deviation[i]!);
      }
    }
    if (samples < MIN_SAMPLES) {
      for (let i = 0; i < 24; i++) {
        baseline = Math.max(baseline, r.mean[i]!);
        deviation = Math.max(deviation, r.deviation[i]!);
      }
    }
    return Math.max(config.factor * baseline, baseline + config.spreads * deviation, config.minCount);
  }

  function observe(e: AccessEvent): readonly Anomaly[] {
    if (e.capability === null || e.outcome !== 'success') return NONE;
    const t = e.time;
    const window = Math.floor(t / windowMs);
    const hour = Math.floor(t / HOUR_MS);
    let r = rates.get(e.actor);
    if (r === undefined) {
      r = {
        firstSeen: t,
        window,
        current: 0,
        previous: 0,
        hour,
        hourPeak: 0,
        hourExceeded: false,
        mean: new Float32Array(24),
        deviation: new Float32Array(24),
        samples: new Uint16Array(24),
        lastExceeded: -Infinity,
      };
      rates.set(e.actor, r);
    }
    if (window > r.window) {
      r.previous = window === r.window + 1 ? r.current : 0;
      r.current = 0;
      r.window = window;
    }
    if (hour > r.hour) {
      closeHour(r);
      r.hour = hour;
      r.hourPeak = 0;
      r.hourExceeded = false;
    }
    r.current++;
    // An event a little older than the last one counts in the current window.
    const overlap = Math.max(0, 1 - (t - r.window * windowMs) / windowMs);
    const count = r.current + r.previous * overlap;
    if (count > r.hourPeak) r.hourPeak = count;
    if (count <= config.minCount || t - r.firstSeen < learningMs) return NONE;
    const limit = limitAt(r, ((hour % 24) + 24) % 24);
    if (count <= limit) return NONE;
    r.hourExceeded = true;
    const ongoing = t - r.lastExceeded < cooldownMs;
    r.lastExceeded = Math.max(r.lastExceeded, t);
    if (ongoing) return NONE;
    const round = (x: number): number => Math.round(x * 10) / 10;
    const seconds = config.windowSeconds;
    return [
      {
        type: 'excessive-access',
        seq: e.seq,
        time: t,
        actor: e.actor,
        path: e.path,
        address: e.address,
        score: Math.max(1, round(count / limit)),
        reason: `${e.actor} made ${Math.round(count)} accesses in ${seconds} s (last: ${e.capability}${e.path === null ? '' : ` ${e.path}`}), over its limit of ${Math.round(limit)} at ${String(hour % 24).padStart(2, '0')}:00 UTC (usually at most ${round(baseline)})`,
        details: { count: Math.round(count), windowSeconds: seconds, limit: round(limit), baseline: round(baseline), deviation: round(deviation), hourUtc: ((hour % 24) + 24) % 24 },
      },
    ];
  }

  return { type: 'excessive-access', observe, tracked: () => rates.size };
}
