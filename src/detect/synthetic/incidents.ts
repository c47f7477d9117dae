/**
 * The anomalies injected into a synthetic access log, one kind per detector, at seeded times on
 * seeded identities, all after the learning period: a person reading in the small hours
 * (unusual-time), reads from a /16 the identity never used (unusual-source), 20 to 50 times the
 * identity's usual rate for a few minutes (excessive-access), 30 or more failures within minutes
 * for an identity or from one address with bad tokens (failed-burst), a policy change widening an
 * identity's access and then that identity using the new part within hours
 * (privilege-escalation), a single-address token used from 3 or more addresses within a minute
 * (concurrent-use).
 *
 * Each incident is planned with its events (drafts); the log numbers them when it emits them.
 * Incidents of one identity are at least two days apart, so each is judged on its own.
 *
 * Part of the synthetic log (../synthetic.ts).
 *
 * @example
 * ```ts
 * const planned = planIncidents({ seed: 1, world, start, days: 28, learningDays: 14, perType: 10, inject: ANOMALY_TYPES });
 * planned[0].type; // 'unusual-time'
 * ```
 */
import type { AnomalyType, Widening } from '../detector.js';
import { Rng, seedOf } from '../../core/prng.js';
import { draft, foreignPath, humanDay, pickPath, serviceAddress, type Draft, type Segment } from './normal.js';
import { DAY, foreignAddress, HOUR, MINUTE, type HumanProfile, type Profile, type ServiceProfile, type World } from './profiles.js';

/** An injected incident, as planned: who, which chunk (day) generates it, its events. */
export interface PlannedIncident {
  readonly type: AnomalyType;
  /** The identity, or `address:<ip>` for a burst of bad tokens from one address. */
  readonly actor: string;
  readonly chunk: number;
  readonly drafts: readonly Draft[];
}

export interface PlanOptions {
  readonly seed: number;
  readonly world: World;
  readonly start: number;
  readonly days: number;
  readonly learningDays: number;
  readonly perType: number;
  readonly inject: readonly AnomalyType[];
}

const ATTACK_AGENTS = ['python-requests/2.31.0', 'curl/8.5.0', 'Go-http-client/1.1'];

/** Context of one incident being built. */
interface Ctx {
  readonly rng: Rng;
  readonly world: World;
  readonly start: number;
  readonly seed: number;
  /** /16s used by injected addresses so far (each new network is new to everyone). */
  readonly taken: Set<string>;
}

/** Where a target is at a time of day `day`: a time inside its active hours and its address then. */
interface Spot {
  readonly time: number;
  readonly address: string;
  readonly chunk: number;
}

/** A time at least `room` ms before the end of an active stretch of `p` on chunk `day`, or null when it is not active that day. */
function activeSpot(ctx: Ctx, p: HumanProfile | ServiceProfile, day: number, room: number): Spot | null {
  const { rng, start, seed } = ctx;
  if (p.kind === 'service') {
    const time = start + day * DAY + rng.range(0, DAY - room - HOUR);
    return { time, address: serviceAddress(p, start, time, rng), chunk: day };
  }
  const hd = humanDay(seed, p, start, day);
  const segs = hd.segments.filter((s: Segment) => s.to - s.from > room + 20 * MINUTE);
  if (segs.length === 0) return null;
  const seg = rng.pick(segs);
  const time = rng.range(seg.from + 10 * MINUTE, seg.to - room - 10 * MINUTE);
  return { time, address: seg.address, chunk: day };
}

/** `n` sorted times in [from, from + span]. */
function times(rng: Rng, n: number, from: number, span: number): number[] {
  return Array.from({ length: n }, () => from + rng.range(0, span)).sort((a, b) => a - b);
}

function reads(p: Profile, at: readonly number[], address: string, rng: Rng, path?: () => string): Draft[] {
  return at.map((time) => draft({ time, actor: p.actor, userAgent: p.userAgent, capability: 'read', path: path === undefined ? pickPath(rng, p.paths) : path(), address }));
}

/** The identity's usual events an hour while active (people: in working hours; services: at the daily peak). */
function usualRate(p: HumanProfile | ServiceProfile): number {
  return p.kind === 'service' ? p.rate * (1 + p.amp) : (p.sessions * 2.8) / p.hours;
}

type Build = (ctx: Ctx, target: Profile, day: number, k: number) => { actor: string; chunk: number; drafts: Draft[] } | null;

const isHuman = (p: Profile): p is HumanProfile => p.kind === 'human';
const isPersonOrService = (p: Profile): p is HumanProfile | ServiceProfile => p.kind !== 'ci';

/** Who each type may be injected on. */
const ELIGIBLE: Record<AnomalyType, (p: Profile) => boolean> = {
  'unusual-time': (p) => isHuman(p) && !p.admin,
  'unusual-source': (p) => isPersonOrService(p) && !(isHuman(p) && p.admin),
  'excessive-access': (p) => isPersonOrService(p) && !(isHuman(p) && p.admin),
  'failed-burst': (p) => isPersonOrService(p) && !(isHuman(p) && p.admin),
  'privilege-escalation': (p) => isPersonOrService(p) && p.isToken,
  'concurrent-use': (p) => (p.kind === 'service' && p.single) || (isHuman(p) && !p.dualStack && !p.admin),
};

const BUILD: Record<AnomalyType, Build> = {
  'unusual-time': (ctx, target, day) => {
    if (!isHuman(target)) return null;
    const { rng } = ctx;
    const hd = humanDay(ctx.seed, target, ctx.start, day);
    const home = target.networks.find((n) => n.name === 'home') ?? target.networks[0];
    if (home === undefined) return null;
    const at = times(rng, rng.int(2, 5), hd.midnight + rng.range(2, 3.4) * HOUR, rng.range(5, 35) * MINUTE);
    return { actor: target.actor, chunk: day, drafts: reads(target, at, home.addressFor(rng), rng) };
  },
  'unusual-source': (ctx, target, day) => {
    if (!isPersonOrService(target)) return null;
    const { rng } = ctx;
    const span = rng.range(5, 30) * MINUTE;
    const spot = activeSpot(ctx, target, day, span);
    if (spot === null) return null;
    const address = foreignAddress(rng, ctx.world.usedSixteens, ctx.taken);
    return { actor: target.actor, chunk: spot.chunk, drafts: reads(target, times(rng, rng.int(3, 8), spot.time, span), address, rng) };
  },
  'excessive-access': (ctx, target, day) => {
    if (!isPersonOrService(target)) return null;
    const { rng } = ctx;
    const minutes = rng.range(3, 8);
    const spot = activeSpot(ctx, target, day, minutes * MINUTE);
    if (spot === null) return null;
    const n = Math.min(800, Math.max(50, Math.round(rng.range(20, 50) * usualRate(target) * (minutes / 60))));
    return { actor: target.actor, chunk: spot.chunk, drafts: reads(target, times(rng, n, spot.time, minutes * MINUTE), spot.address, rng) };
  },
  'failed-burst': (ctx, target, day, k) => {
    const { rng } = ctx;
    if (k % 2 === 1) {
      // Bad tokens from one address nobody uses: no identity, the address is the incident's.
      const address = foreignAddress(rng, ctx.world.usedSixteens, ctx.taken);
      const userAgent = rng.pick(ATTACK_AGENTS);
      const at = times(rng, rng.int(30, 80), ctx.start + day * DAY + rng.range(0, DAY - HOUR), rng.range(1, 5) * MINUTE);
      const drafts = at.map((time) => draft({ time, actor: 'anonymous', action: 'access.authenticate', outcome: 'failure', errorCode: 'KT_TOKEN_INVALID', address, userAgent }));
      return { actor: `address:${address}`, chunk: day, drafts };
    }
    if (!isPersonOrService(target)) return null;
    const minutes = rng.range(2, 6);
    const spot = activeSpot(ctx, target, day, minutes * MINUTE);
    if (spot === null) return null;
    const at = times(rng, rng.int(30, 60), spot.time, minutes * MINUTE);
    const drafts = at.map((time) =>
      draft({
        time,
        actor: target.actor,
        userAgent: target.userAgent,
        action: 'access.denied',
        capability: 'read',
        path: foreignPath(rng, target),
        outcome: 'denied',
        errorCode: 'KT_ACCESS_DENIED',
        address: spot.address,
      }),
    );
    return { actor: target.actor, chunk: spot.chunk, drafts };
  },
  'privilege-escalation': (ctx, target, day, k) => {
    if (!isPersonOrService(target)) return null;
    const { rng, world } = ctx;
    const spot = activeSpot(ctx, target, day, 30 * MINUTE);
    if (spot === null) return null;
    const app = rng.pick(['payments', 'billing', 'auth', 'orders', 'analytics', 'media', 'search', 'mail', 'inventory'].filter((a) => !target.apps.includes(a)));
    const name = `grant-${app}-${k}`;
    const widening: Widening = {
      actors: [target.actor],
      what: `policy ${name}`,
      newlyAllowed: (path, cap) => path.startsWith(`prod/${app}/`) && (cap === 'read' || cap === 'list'),
    };
    const admin = world.admin;
    const office = admin.networks[0];
    const changed = spot.time - rng.range(10, 180) * MINUTE;
    const change = draft({
      time: changed,
      actor: admin.actor,
      userAgent: admin.userAgent,
      address: office === undefined ? null : office.addressFor(rng),
      action: 'access.policy.put',
      capability: 'admin',
      path: name,
      widening,
    });
    const uses = reads(target, times(rng, rng.int(1, 3), spot.time, 20 * MINUTE), spot.address, rng, () => `prod/${app}/${rng.pick(['db', 'api-key', 'jwt-signing', 's3'])}`);
    return { actor: target.actor, chunk: spot.chunk, drafts: [change, ...uses] };
  },
  'concurrent-use': (ctx, target, day) => {
    if (!isPersonOrService(target)) return null;
    const { rng } = ctx;
    const spot = activeSpot(ctx, target, day, 2 * MINUTE);
    if (spot === null) return null;
    const drafts = reads(target, times(rng, rng.int(1, 2), spot.time, 50_000), spot.address, rng);
    const others = rng.int(2, 3);
    for (let i = 0; i < others; i++) {
      const address = foreignAddress(rng, ctx.world.usedSixteens, ctx.taken);
      drafts.push(...reads(target, times(rng, rng.int(1, 3), spot.time, 50_000), address, rng));
    }
    return { actor: target.actor, chunk: spot.chunk, drafts };
  },
};

/**
 * The incidents of a log: `perType` of each type in `inject`, on days spread over
 * [learningDays + 1, days - 1), each identity's at least two days apart. Fewer when the world is too
 * small to place them all.
 *
 * @example
 * ```ts
 * planIncidents({ seed: 1, world, start, days: 28, learningDays: 14, perType: 10, inject: ['failed-burst'] }).length; // 10
 * ```
 */
export function planIncidents(o: PlanOptions): PlannedIncident[] {
  const plan = new Rng(seedOf(o.seed, 'plan'));
  const taken = new Set<string>();
  const busy = new Map<string, number[]>();
  const out: PlannedIncident[] = [];
  // From the day after the learning period: every identity has then been seen for the whole of it
  // (a person first seen on day 0 in the morning, an incident at 02:00 of day learningDays would be
  // a few hours short).
  const first = o.learningDays + 1;
  const span = o.days - 1 - first;
  if (span <= 0) return out;
  for (const type of o.inject) {
    const eligible = o.world.profiles.filter(ELIGIBLE[type]);
    if (eligible.length === 0) continue;
    for (let k = 0; k < o.perType; k++) {
      for (let attempt = 0; attempt < 200; attempt++) {
        // Spread over the injection days: the k-th incident's day in the k-th stretch, then anywhere.
        const day = attempt < 20 ? first + Math.floor(((k + plan.next()) * span) / o.perType) : first + plan.int(0, span - 1);
        const target = plan.pick(eligible);
        const addressBurst = type === 'failed-burst' && k % 2 === 1;
        if (!addressBurst && (busy.get(target.actor) ?? []).some((d) => Math.abs(d - day) < 2)) continue;
        const ctx: Ctx = { rng: new Rng(seedOf(o.seed, 'incident', type, k, attempt)), world: o.world, start: o.start, seed: o.seed, taken };
        const built = BUILD[type](ctx, target, day, k);
        if (built === null || built.drafts.length === 0) continue;
        const days = busy.get(built.actor) ?? [];
        if (days.some((d) => Math.abs(d - day) < 2)) continue;
        busy.set(built.actor, [...days, day]);
        out.push({ type, actor: built.actor, chunk: built.chunk, drafts: built.drafts });
        break;
      }
    }
  }
  return out;
}
