/**
 * The `concurrent-use` detector: one identity (a token, mostly: API requests carry one) used from
 * more network addresses at once than it normally is (a copied token used by someone else while
 * its owner still uses it).
 *
 * Per identity (events without an address, and anonymous ones, are ignored) it keeps the
 * addresses seen within the last `windowSeconds` (at most `maxAddresses` of them) and learns how
 * many it is normally seen from at once: the largest such number of each day, kept for
 * `memoryDays` days; the normal number is the one reached on at least `normalDays` of them (the
 * `normalDays`-th largest daily maximum), so one or two days with an incident do not make it
 * normal, while a lasting change (more CI runners) is normal within `normalDays` days. A service's
 * token is seen from one address, a CI token from as many runners as run at once. Only days before
 * today count: today's own numbers, an attack's among them, do not raise today's limit.
 *
 * After the learning period (`learningDays` since the identity was first seen, and at least
 * `normalDays` remembered days; an identity none of whose days is remembered any more learns
 * again), an identity seen from more than normal + max(`margin`, floor(normal x `marginRatio`))
 * addresses within the window raises an anomaly, once per incident (the next one only after it
 * stayed within its limit for `cooldownSeconds`).
 *
 * Memory: at most `maxIdentities` identities, each `maxAddresses` addresses and `memoryDays` daily
 * numbers. Cost per event: a map lookup and a scan of the addresses seen within the window.
 *
 * @example
 * ```ts
 * const d = createConcurrentUseDetector(concurrentUseConfigSchema.parse({ type: 'concurrent-use' }));
 * d.observe(event); // [] while normal
 * ```
 */
import { z } from 'zod';
import type { AccessEvent, Anomaly, Detector } from '../detector.js';
import { BoundedMap } from '../lru.js';
import { DAY_MS } from '../hours.js';

/**
 * The `concurrent-use` detector's parameters.
 *
 * @example
 * ```ts
 * concurrentUseConfigSchema.parse({ type: 'concurrent-use' }).windowSeconds; // 60
 * ```
 */
export const concurrentUseConfigSchema = z
  .object({
    type: z.literal('concurrent-use'),
    maxIdentities: z.number().int().min(1).default(10000).describe('at most this many identities are tracked; the least recently seen is forgotten first'),
    windowSeconds: z.number().int().min(1).max(86400).default(60).describe('addresses seen within this many seconds count as used at once'),
    learningDays: z.number().min(0).default(7).describe('no anomaly for an identity until this many days after it was first seen'),
    memoryDays: z.number().int().min(1).max(366).default(28).describe('how many days of daily maxima are remembered'),
    normalDays: z.number().int().min(1).default(3).describe('a number of addresses at once is normal when seen on at least this many of the remembered days'),
    margin: z.number().int().min(0).default(1).describe('alarm above the normal number plus this many addresses ...'),
    marginRatio: z.number().min(0).default(1).describe('... or plus this share of the normal number, whichever is larger'),
    maxAddresses: z.number().int().min(2).max(1024).default(32).describe('at most this many addresses are kept per identity (the count saturates there)'),
    cooldownSeconds: z.number().int().min(0).default(600).describe('an incident ends once the identity stayed within its limit this long; one anomaly per incident'),
  })
  .strict();

export type ConcurrentUseConfig = z.output<typeof concurrentUseConfigSchema>;

interface AddressUse {
  firstSeen: number;
  /** The addresses seen within the window (the first `count`), and when each was last seen. */
  readonly addresses: string[];
  readonly lastSeen: Float64Array;
  count: number;
  /** The current day (index), its largest number of addresses at once, and the normal number (from the remembered days before it; 0 while too few). */
  day: number;
  dayMax: number;
  normal: number;
  /** Per day (ring by day index): its largest number, and which day the entry is for. */
  readonly dailyMax: Uint16Array;
  readonly dailyDay: Float64Array;
  lastExceeded: number;
}

const NONE: readonly Anomaly[] = Object.freeze([]);

/** Whether `actor` is nobody in particular (a request with a missing or bad token). */
function isAnonymous(actor: string): boolean {
  return actor === 'anonymous' || actor === 'token:anonymous' || actor === '';
}

/**
 * Makes a `concurrent-use` detector.
 *
 * @example
 * ```ts
 * const d = createConcurrentUseDetector(concurrentUseConfigSchema.parse({ type: 'concurrent-use', windowSeconds: 120 }));
 * for (const e of events) d.observe(e);
 * ```
 */
export function createConcurrentUseDetector(config: ConcurrentUseConfig): Detector {
  const identities = new BoundedMap<string, AddressUse>(config.maxIdentities);
  const windowMs = config.windowSeconds * 1000;
  const learningMs = config.learningDays * DAY_MS;
  const cooldownMs = config.cooldownSeconds * 1000;
  const days = config.memoryDays;
  const scratch = new Int32Array(days);

  /** Files the finished day's maximum and recomputes the normal number: the `normalDays`-th largest remembered daily maximum. */
  function newDay(u: AddressUse, day: number): void {
    const slot = ((u.day % days) + days) % days;
    u.dailyMax[slot] = u.dayMax;
    u.dailyDay[slot] = u.day;
    let remembered = 0;
    for (let i = 0; i < days; i++) if (day - u.dailyDay[i]! <= days) scratch[remembered++] = u.dailyMax[i]!;
    // The k-th largest by k passes (k is small; once a day per identity).
    let normal = 0;
    for (let k = 0; k < Math.min(config.normalDays, remembered); k++) {
      let best = 0;
      for (let i = 1; i < remembered; i++) if (scratch[i]! > scratch[best]!) best = i;
      normal = scratch[best]!;
      scratch[best] = -1;
    }
    u.normal = remembered < config.normalDays ? 0 : normal;
    u.day = day;
    u.dayMax = 0;
  }

  /** Records `address` at `t`; the number of addresses seen within the window. */
  function see(u: AddressUse, address: string, t: number): number {
    const since = t - windowMs;
    let found = false;
    let i = 0;
    while (i < u.count) {
      const seenAt = u.lastSeen[i]!;
      if (u.addresses[i] === address) {
        found = true;
        if (t > seenAt) u.lastSeen[i] = t;
        i++;
      } else if (seenAt < since) {
        // Gone from the window: the last entry takes its place.
        u.count--;
        u.addresses[i] = u.addresses[u.count]!;
        u.lastSeen[i] = u.lastSeen[u.count]!;
      } else i++;
    }
    if (!found) {
      if (u.count < config.maxAddresses) {
        u.addresses[u.count] = address;
        u.lastSeen[u.count] = t;
        u.count++;
      } else {
        let oldest = 0;
        for (let j = 1; j < u.count; j++) if (u.lastSeen[j]! < u.lastSeen[oldest]!) oldest = j;
        u.addresses[oldest] = address;
        u.lastSeen[oldest] = t;
      }
    }
    return u.count;
  }

  function observe(e: AccessEvent): readonly Anomaly[] {
    if (e.address === null || isAnonymous(e.actor)) return NONE;
    const t = e.time;
    const day = Math.floor(t / DAY_MS);
    let u = identities.get(e.actor);
    if (u === undefined) {
      u = {
        firstSeen: t,
        addresses: [],
        lastSeen: new Float64Array(config.maxAddresses),
        count: 0,
        day,
        dayMax: 0,
        normal: 0,
        dailyMax: new Uint16Array(days),
        dailyDay: new Float64Array(days).fill(-Infinity),
        lastExceeded: -Infinity,
      };
      identities.set(e.actor, u);
    }
    if (day > u.day) newDay(u, day);
    const now = see(u, e.address, t);
    // Learning: the first days, or again when too few days within memoryDays are remembered.
    if (t - u.firstSeen < learningMs || u.normal === 0) {
      if (now > u.dayMax) u.dayMax = now;
      return NONE;
    }
    // The days before today only: today's own numbers, an attack's among them, do not raise today's limit.
    const normal = u.normal;
    const limit = normal + Math.max(config.margin, Math.floor(normal * config.marginRatio));
    if (now > u.dayMax) u.dayMax = now;
    if (now <= limit) return NONE;
    const ongoing = t - u.lastExceeded < cooldownMs;
    u.lastExceeded = Math.max(u.lastExceeded, t);
    if (ongoing) return NONE;
    const shown = u.addresses.slice(0, u.count).slice(0, 8).join(', ');
    return [
      {
        type: 'concurrent-use',
        seq: e.seq,
        time: t,
        actor: e.actor,
        path: e.path,
        address: e.address,
        score: Math.max(1, Math.round((now / Math.max(1, limit)) * 10) / 10),
        reason: `${e.actor} was used from ${now} addresses within ${config.windowSeconds} s (${shown}${now > 8 ? ', ...' : ''}); normally at most ${normal} at once`,
        details: { addresses: now, windowSeconds: config.windowSeconds, normal, limit, seen: shown, address: e.address },
      },
    ];
  }

  return { type: 'concurrent-use', observe, tracked: () => identities.size };
}
