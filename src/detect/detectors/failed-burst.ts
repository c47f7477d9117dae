/**
 * The `failed-burst` detector: a burst of failed attempts, by one identity or from one network
 * address (password spraying with bad tokens, a token probing paths it may not read).
 *
 * A failed attempt is an event whose outcome is `failure` or `denied` (a bad token is an
 * `access.authenticate` failure, a refused read an `access.denied`). Each failure counts for its
 * identity (unless anonymous: `anonymous`, `token:anonymous`, which are whoever sent a bad token)
 * and for its address (when it has one), each with its own state. A burst is at least `threshold`
 * failures within `windowSeconds` (exact: a ring of the last `threshold` failure times), that is
 * also at least `factor` times the failures the identity or address usually makes in such a window
 * (an average over all windows, half-life `baselineHalfLifeHours`), so a client that fails a little
 * all day does not alarm. The absolute threshold needs no learning: it applies from the first
 * failure; the baseline only raises the bar for identities that fail often.
 *
 * The anomaly names the identity, or `address:<ip>` for a burst from one address whose identity
 * did not burst itself (with the address's last identity in its details). One anomaly per
 * incident: the next one for the same identity or address only after it stayed under the bar for
 * `cooldownSeconds`. When one failure sets off both its identity's and its address's burst, only
 * the identity's is raised.
 *
 * Memory: at most `maxIdentities` identities and addresses together (least recently seen
 * forgotten first), each a ring of `threshold` times. Successful events cost nothing.
 *
 * @example
 * ```ts
 * const d = createFailedBurstDetector(failedBurstConfigSchema.parse({ type: 'failed-burst', threshold: 20 }));
 * d.observe(event); // [] until 20 failures in 5 minutes
 * ```
 */
import { z } from 'zod';
import type { AccessEvent, Anomaly, Detector } from '../detector.js';
import { BoundedMap } from '../lru.js';
import { HOUR_MS } from '../hours.js';

/**
 * The `failed-burst` detector's parameters.
 *
 * @example
 * ```ts
 * failedBurstConfigSchema.parse({ type: 'failed-burst' }).windowSeconds; // 300
 * ```
 */
export const failedBurstConfigSchema = z
  .object({
    type: z.literal('failed-burst'),
    maxIdentities: z.number().int().min(1).default(10000).describe('at most this many identities and addresses are tracked; the least recently seen is forgotten first'),
    threshold: z.number().int().min(2).max(10000).default(10).describe('a burst is at least this many failures ...'),
    windowSeconds: z.number().int().min(1).default(300).describe('... within this many seconds'),
    factor: z.number().min(1).default(3).describe('... and at least this many times the failures the identity or address usually makes in such a window'),
    baselineHalfLifeHours: z.number().positive().default(24).describe('how long the usual failure rate remembers: half-life in hours'),
    cooldownSeconds: z.number().int().min(0).default(900).describe('an incident ends once the identity or address stayed under the bar this long; one anomaly per incident'),
  })
  .strict();

export type FailedBurstConfig = z.output<typeof failedBurstConfigSchema>;

/** One identity's or address's failures. */
interface Failures {
  /** The last `threshold` failure times (a ring: `next` is where the next one goes, the oldest). */
  readonly times: Float64Array;
  next: number;
  filled: number;
  /** Fixed windows of windowSeconds: the current one (index), its count, the previous one's. */
  window: number;
  current: number;
  previous: number;
  /** The usual failures per window: an EWMA over every window since the first (empty ones included), divided by `weight`. */
  usual: number;
  weight: number;
  lastBurst: number;
  /** For an address: the last identity (not anonymous) that failed from it; '' for none. */
  lastActor: string;
}

const NONE: readonly Anomaly[] = Object.freeze([]);
const QUIET = 0;
const BURST_ONGOING = 1;
const BURST_NEW = 2;

/** Whether `actor` is nobody in particular (a request with a missing or bad token). */
function isAnonymous(actor: string): boolean {
  return actor === 'anonymous' || actor === 'token:anonymous' || actor === '';
}

/**
 * Makes a `failed-burst` detector.
 *
 * @example
 * ```ts
 * const d = createFailedBurstDetector(failedBurstConfigSchema.parse({ type: 'failed-burst' }));
 * for (const e of events) for (const a of d.observe(e)) console.log(a.actor, a.reason);
 * ```
 */
export function createFailedBurstDetector(config: FailedBurstConfig): Detector {
  const states = new BoundedMap<string, Failures>(config.maxIdentities);
  const windowMs = config.windowSeconds * 1000;
  const keep = 2 ** (-windowMs / (config.baselineHalfLifeHours * HOUR_MS));
  const cooldownMs = config.cooldownSeconds * 1000;
  // What the last burst count() saw (kept here: no object per event).
  let seen = 0;
  let barSeen = 0;

  /** Counts a failure at `t` for `key`: QUIET, or BURST_ONGOING (in an incident already reported), or BURST_NEW. */
  function count(key: string, t: number, actor: string): number {
    let s = states.get(key);
    const window = Math.floor(t / windowMs);
    if (s === undefined) {
      s = { times: new Float64Array(config.threshold), next: 0, filled: 0, window, current: 0, previous: 0, usual: 0, weight: 0, lastBurst: -Infinity, lastActor: '' };
      states.set(key, s);
    }
    if (!isAnonymous(actor)) s.lastActor = actor;
    if (window > s.window) {
      // The finished window, then the empty ones since (closed form): an EWMA, bias-corrected
      // (divided by `weight`), so that it is the plain average of the windows while they are few.
      const empty = window - s.window - 1;
      s.usual = s.usual * keep + (1 - keep) * s.current;
      s.weight = s.weight * keep + (1 - keep);
      if (empty > 0) {
        const k = keep ** empty;
        s.usual *= k;
        s.weight = 1 - (1 - s.weight) * k;
      }
      s.previous = empty === 0 ? s.current : 0;
      s.current = 0;
      s.window = window;
    }
    s.current++;
    s.times[s.next] = t;
    s.next = (s.next + 1) % config.threshold;
    if (s.filled < config.threshold) s.filled++;
    // At least `threshold` failures within the window: the oldest of the last `threshold` (the next to be overwritten) is recent enough.
    if (s.filled < config.threshold || t - Math.min(s.times[s.next]!, t) > windowMs) return QUIET;
    // How many in the window: at least `threshold` (exact), more by the two fixed windows' estimate.
    const overlap = Math.max(0, 1 - (t - s.window * windowMs) / windowMs);
    const failures = Math.max(config.threshold, s.current + s.previous * overlap);
    const usual = s.weight > 0 ? s.usual / s.weight : 0;
    const bar = Math.max(config.threshold, config.factor * usual);
    if (failures < bar) return QUIET;
    seen = failures;
    barSeen = bar;
    const ongoing = t - s.lastBurst < cooldownMs;
    s.lastBurst = Math.max(s.lastBurst, t);
    return ongoing ? BURST_ONGOING : BURST_NEW;
  }

  function observe(e: AccessEvent): readonly Anomaly[] {
    if (e.outcome !== 'failure' && e.outcome !== 'denied') return NONE;
    const byActor = isAnonymous(e.actor) ? QUIET : count(e.actor, e.time, e.actor);
    if (byActor === BURST_NEW) {
      const anomaly = failedBurstAnomaly(e, e.actor, null);
      if (e.address !== null) count(`address:${e.address}`, e.time, e.actor);
      return [anomaly];
    }
    if (e.address === null) return NONE;
    const key = `address:${e.address}`;
    // The address's burst is the identity's own, already reported: not raised twice.
    if (count(key, e.time, e.actor) !== BURST_NEW || byActor === BURST_ONGOING) return NONE;
    const lastActor = states.get(key)!.lastActor;
    return [failedBurstAnomaly(e, key, lastActor === '' ? null : lastActor)];
  }

  function failedBurstAnomaly(e: AccessEvent, actor: string, lastActor: string | null): Anomaly {
    const round = (x: number): number => Math.round(x * 10) / 10;
    const from = lastActor === null ? '' : ` (last identity: ${lastActor})`;
    const last = `${e.action}${e.path === null ? '' : ` ${e.path}`}${e.errorCode === null ? '' : ` ${e.errorCode}`}`;
    return {
      type: 'failed-burst',
      seq: e.seq,
      time: e.time,
      actor,
      path: e.path,
      address: e.address,
      score: Math.max(1, round(seen / barSeen)),
      reason: `${actor}${from} failed ${Math.round(seen)} times in ${config.windowSeconds} s (last: ${last}), at least ${Math.round(barSeen)} is a burst`,
      details: {
        failures: Math.round(seen),
        windowSeconds: config.windowSeconds,
        bar: round(barSeen),
        ...(lastActor === null ? {} : { lastActor }),
        lastAction: e.action,
        ...(e.errorCode === null ? {} : { errorCode: e.errorCode }),
      },
    };
  }

  return { type: 'failed-burst', observe, tracked: () => states.size };
}
