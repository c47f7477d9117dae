/**
 * Normal days of the synthetic access log: what each identity does on one day, drawn from its own
 * seeded stream (the log's seed, the identity, the day), so a day is the same whatever else is
 * generated. People work sessions of a few reads inside their working hours from one network a day
 * (sometimes two, one after the other), now and then a denied read or an expired token; services
 * read all day and night with a daily cycle in rate; CI tokens run at their schedule times and on
 * pushes, several runners at once; the admin changes policies, a few of them widening access to a
 * part nobody then uses; and unknown clients try bad tokens a few times a day.
 *
 * Part of the synthetic log (../synthetic.ts).
 *
 * @example
 * ```ts
 * const day = humanDay(1, world.admin, start, 15);
 * if (day.works) day.segments[0].address; // the admin's address that morning
 * ```
 */
import type { Capability } from '../../access/capabilities.js';
import type { AccessEvent, Widening } from '../detector.js';
import { Rng, seedOf } from '../../core/prng.js';
import { accessOf, DAY, HOUR, MINUTE, type CiProfile, type HumanProfile, type Profile, type ServiceProfile, type UsedPath, type World } from './profiles.js';

/** An event being built: its seq is set when it is emitted in order. */
export type Draft = { -readonly [K in keyof AccessEvent]: AccessEvent[K] };

/** A stretch of a person's day on one network. */
export interface Segment {
  readonly from: number;
  readonly to: number;
  readonly address: string;
  /** The IPv6 address a dual-stack home alternates with. */
  readonly v6: string | null;
}

/** A person's day: whether they work, and on which network when. */
export interface HumanDay {
  readonly works: boolean;
  /** UTC ms of the local midnight that starts the day. */
  readonly midnight: number;
  readonly segments: readonly Segment[];
}

const ANON_AGENTS = ['curl/8.5.0', 'python-requests/2.31.0', 'Go-http-client/1.1'];

function clip(x: number, limit: number): number {
  return Math.max(-limit, Math.min(limit, x));
}

/**
 * Person `p`'s local day `localDay` (0: the log's first day in their time zone).
 *
 * @example
 * ```ts
 * humanDay(1, profile, start, 3).works; // true on a workday they are not away
 * ```
 */
export function humanDay(seed: number, p: HumanProfile, start: number, localDay: number): HumanDay {
  const rng = new Rng(seedOf(seed, 'hday', p.index, localDay));
  const midnight = start + localDay * DAY - p.tz * HOUR;
  const weekday = new Date(start + localDay * DAY).getUTCDay();
  // Away now and then, but not in the first week (every network is seen while learning).
  const works = p.workdays.includes(weekday) && (localDay < 7 || !rng.chance(0.07));
  if (!works) return { works, midnight, segments: [] };
  const from = midnight + (p.startHour + clip(rng.normal() * 0.35, 0.75)) * HOUR;
  const to = from + (p.hours + clip(rng.normal() * 0.5, 1)) * HOUR;
  const nets = p.networks;
  const weights = nets.map((n) => (n.name === 'office' ? 0.55 : n.name === 'home' ? 0.35 : 0.1));
  const first = localDay < 7 ? (nets[localDay % nets.length] ?? nets[0]) : rng.weighted(nets, weights);
  if (first === undefined) throw new Error('a person without a network');
  const seg = (a: number, b: number, net: typeof first): Segment => ({ from: a, to: b, address: net.addressFor(rng), v6: net.v6 === undefined ? null : net.v6(rng) });
  if (nets.length > 1 && localDay >= 7 && rng.chance(0.1)) {
    const second = rng.pick(nets.filter((n) => n !== first));
    const mid = (from + to) / 2;
    return { works, midnight, segments: [seg(from, mid - 20 * MINUTE, first), seg(mid + 30 * MINUTE, to, second)] };
  }
  return { works, midnight, segments: [seg(from, to, first)] };
}

/** The segment of `day` at `time`, if any. */
export function segmentAt(day: HumanDay, time: number): Segment | undefined {
  return day.segments.find((s) => s.from <= time && time <= s.to);
}

/** A service's address at `time` (single: this week's host; replicas: any of them). */
export function serviceAddress(p: ServiceProfile, start: number, time: number, rng: Rng): string {
  const week = Math.floor((time - start) / (7 * DAY));
  const host = p.single ? p.hosts[week % p.hosts.length] : rng.pick(p.hosts);
  return `${p.net}.${host ?? 10}`;
}

/** A path by weight. */
export function pickPath(rng: Rng, paths: readonly UsedPath[]): string {
  return rng.weighted(
    paths.map((p) => p.path),
    paths.map((p) => p.weight),
  );
}

/**
 * An event with the defaults of a successful access through the API.
 *
 * @example
 * ```ts
 * draft({ time, actor: 'token:tk_1', capability: 'read', path: 'prod/db', address: '10.0.0.1', userAgent: null });
 * ```
 */
export function draft(fields: Partial<Draft> & Pick<Draft, 'time' | 'actor'>): Draft {
  const capability = fields.capability ?? null;
  return {
    seq: -1,
    source: 'api',
    action: capability === null ? 'secret.read' : accessOf(capability),
    capability,
    path: null,
    outcome: 'success',
    errorCode: null,
    address: null,
    userAgent: null,
    ...fields,
    time: Math.round(fields.time),
  };
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

/** A path of an app `p` does not use (for denied reads). */
export function foreignPath(rng: Rng, p: Profile): string {
  const apps = ['payments', 'billing', 'auth', 'orders', 'analytics', 'media', 'search', 'mail'].filter((a) => !p.apps.includes(a));
  return `prod/${rng.pick(apps)}/${rng.pick(['db', 'api-key', 'jwt-signing', 's3'])}`;
}

function humanEvents(seed: number, world: World, p: HumanProfile, start: number, localDay: number, out: Draft[]): void {
  const day = humanDay(seed, p, start, localDay);
  if (!day.works) return;
  const rng = new Rng(seedOf(seed, 'hev', p.index, localDay));
  const base = { actor: p.actor, userAgent: p.userAgent };
  const firstSeg = day.segments[0];
  if (firstSeg !== undefined && rng.chance(0.04)) {
    // An expired token: a failed login or two before the day's first session.
    const tries = rng.int(1, 2);
    for (let i = 0; i < tries; i++) {
      const time = firstSeg.from - (tries - i) * rng.range(5_000, 30_000);
      out.push(draft({ time, actor: 'anonymous', action: 'access.authenticate', outcome: 'failure', errorCode: 'KT_TOKEN_INVALID', address: firstSeg.address, userAgent: p.userAgent }));
    }
  }
  const sessions = 1 + rng.poisson(p.sessions - 1);
  for (let s = 0; s < sessions; s++) {
    const seg = rng.pick(day.segments);
    let time = rng.range(seg.from, Math.max(seg.from, seg.to - 10 * MINUTE));
    const reads = Math.min(8, 1 + rng.poisson(1.8));
    for (let r = 0; r < reads; r++) {
      const address = seg.v6 !== null && rng.chance(0.5) ? seg.v6 : seg.address;
      if (rng.chance(0.008)) {
        out.push(draft({ ...base, time, action: 'access.denied', capability: 'read', path: foreignPath(rng, p), outcome: 'denied', errorCode: 'KT_ACCESS_DENIED', address }));
      } else {
        const x = rng.next();
        const capability: Capability = x < 0.85 ? 'read' : x < 0.92 ? 'list' : x < 0.98 ? 'write' : 'rotate';
        const path = pickPath(rng, p.paths);
        out.push(draft({ ...base, time, capability, path: capability === 'list' ? dirOf(path) : path, address }));
      }
      time += Math.max(2_000, rng.exponential(30_000));
    }
  }
  if (p.admin) adminChanges(rng, world, p, day, out);
}

/** The admin's policy changes of a working day: some widen access to a part nobody then uses. */
function adminChanges(rng: Rng, world: World, p: HumanProfile, day: HumanDay, out: Draft[]): void {
  const seg = day.segments[0];
  if (seg === undefined) return;
  const at = (): number => rng.range(seg.from, seg.to);
  if (rng.chance(0.35)) {
    out.push(draft({ time: at(), actor: p.actor, userAgent: p.userAgent, address: seg.address, action: 'access.policy.put', capability: 'admin', path: `team-${rng.pick(p.apps)}` }));
  }
  if (rng.chance(0.2)) {
    const tokens = world.profiles.filter((x) => x.isToken);
    const actors = rng.sample(tokens, rng.int(1, 3)).map((x) => x.actor);
    const tag = `a${rng.int(0, 99_999)}`;
    const widening: Widening = {
      actors,
      what: `policy archive-${tag}`,
      newlyAllowed: (path, cap) => path.startsWith(`archive/${tag}/`) && (cap === 'read' || cap === 'list'),
    };
    out.push(draft({ time: at(), actor: p.actor, userAgent: p.userAgent, address: seg.address, action: 'access.policy.put', capability: 'admin', path: `archive-${tag}`, widening }));
  }
}

function serviceEvents(seed: number, p: ServiceProfile, start: number, dayIndex: number, out: Draft[]): void {
  const rng = new Rng(seedOf(seed, 'sday', p.index, dayIndex));
  const dayStart = start + dayIndex * DAY;
  const base = { actor: p.actor, userAgent: p.userAgent };
  for (let h = 0; h < 24; h++) {
    const lambda = p.rate * (1 + p.amp * Math.sin((2 * Math.PI * (h + 0.5 - p.peakHour)) / 24));
    const n = rng.poisson(lambda);
    for (let i = 0; i < n; i++) {
      const time = dayStart + (h + rng.next()) * HOUR;
      const address = serviceAddress(p, start, time, rng);
      const path = pickPath(rng, p.paths);
      if (rng.chance(0.0005)) {
        out.push(draft({ ...base, time, capability: 'read', path, outcome: 'failure', errorCode: 'KT_SECRET_NOT_FOUND', address }));
      } else {
        const capability: Capability = p.extra !== null && rng.chance(0.05) ? p.extra : 'read';
        out.push(draft({ ...base, time, capability, path, address }));
      }
    }
  }
}

function ciRun(rng: Rng, p: CiProfile, at: number, out: Draft[]): void {
  const jobs = Math.min(5, 1 + rng.poisson(1.5));
  const base = { actor: p.actor, userAgent: p.userAgent };
  for (let j = 0; j < jobs; j++) {
    const address = `${p.pool.net}.${rng.pick(p.pool.hosts)}`;
    let time = at + rng.range(0, 60_000);
    const reads = rng.int(2, 6);
    for (let r = 0; r < reads; r++) {
      if (rng.chance(0.002)) {
        out.push(draft({ ...base, time, action: 'access.denied', capability: 'read', path: foreignPath(rng, p), outcome: 'denied', errorCode: 'KT_ACCESS_DENIED', address }));
      } else {
        out.push(draft({ ...base, time, capability: 'read', path: pickPath(rng, p.paths), address }));
      }
      time += Math.max(500, rng.exponential(5_000));
    }
  }
}

function ciEvents(seed: number, p: CiProfile, start: number, dayIndex: number, out: Draft[]): void {
  const rng = new Rng(seedOf(seed, 'ciday', p.index, dayIndex));
  const dayStart = start + dayIndex * DAY;
  for (const minute of p.schedule) ciRun(rng, p, dayStart + minute * MINUTE + rng.range(0, 90_000), out);
  const weekday = new Date(dayStart).getUTCDay();
  if (weekday >= 1 && weekday <= 5) {
    const pushes = rng.poisson(p.pushRate * 10);
    for (let i = 0; i < pushes; i++) ciRun(rng, p, dayStart + (8 - p.tz + rng.range(0, 10)) * HOUR, out);
  }
}

function anonymousEvents(seed: number, start: number, dayIndex: number, out: Draft[]): void {
  const rng = new Rng(seedOf(seed, 'anon', dayIndex));
  const probes = rng.poisson(4);
  for (let i = 0; i < probes; i++) {
    const address = `${rng.int(1, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
    const userAgent = rng.pick(ANON_AGENTS);
    let time = start + dayIndex * DAY + rng.range(0, DAY);
    const tries = Math.min(6, 1 + (rng.chance(0.3) ? rng.poisson(1.5) : 0));
    for (let t = 0; t < tries; t++) {
      out.push(draft({ time, actor: 'anonymous', action: 'access.authenticate', outcome: 'failure', errorCode: 'KT_TOKEN_INVALID', address, userAgent }));
      time += rng.range(1_000, 10_000);
    }
  }
}

/**
 * The normal events of chunk `dayIndex`: each person's local day `dayIndex`, each service's and CI
 * token's UTC day `dayIndex`, and the day's unknown clients. Unsorted; times within
 * [UTC day start - 14 h, UTC day end + 14 h).
 *
 * @example
 * ```ts
 * const out: Draft[] = [];
 * normalDay(1, world, start, 0, out);
 * ```
 */
export function normalDay(seed: number, world: World, start: number, dayIndex: number, out: Draft[]): void {
  for (const p of world.profiles) {
    if (p.kind === 'human') humanEvents(seed, world, p, start, dayIndex, out);
    else if (p.kind === 'service') serviceEvents(seed, p, start, dayIndex, out);
    else ciEvents(seed, p, start, dayIndex, out);
  }
  anonymousEvents(seed, start, dayIndex, out);
}
