/**
 * The identities of a synthetic access log and their normal habits, drawn once per seed: people
 * (working hours in their own time zone, two or three networks, one user agent), services (day and
 * night with a daily cycle in rate, one /24, one address or a few replicas) and CI tokens (runs at
 * schedule times and on pushes, from a shared pool of runner addresses). Also the networks: which
 * /16s normal traffic uses, so an injected "new network" is one nobody has used.
 *
 * Part of the synthetic log (../synthetic.ts); the days themselves are drawn in ./normal.ts.
 *
 * @example
 * ```ts
 * const world = makeWorld(1, 60, Date.UTC(2025, 0, 6));
 * world.profiles.filter((p) => p.kind === 'human').length; // 30
 * ```
 */
import type { Capability } from '../../access/capabilities.js';
import { Rng, seedOf } from '../../core/prng.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const MINUTE = 60_000;

export type IdentityKind = 'human' | 'service' | 'ci';

/** A path an identity uses and how often (relative weight), with what capability mostly. */
export interface UsedPath {
  readonly path: string;
  readonly weight: number;
}

interface Common {
  readonly index: number;
  readonly actor: string;
  /** Whether the actor is a `token:` actor (a widening can name it). */
  readonly isToken: boolean;
  readonly userAgent: string;
  readonly paths: readonly UsedPath[];
  /** The apps (second path segment under prod/ and staging/) its paths are in. */
  readonly apps: readonly string[];
}

/** A person: works on `workdays` (local weekdays, 0 = Sunday) from about `startHour` for `hours`. */
export interface HumanProfile extends Common {
  readonly kind: 'human';
  /** Hours ahead of UTC. */
  readonly tz: number;
  readonly workdays: readonly number[];
  readonly startHour: number;
  readonly hours: number;
  /** Mean sessions per working day. */
  readonly sessions: number;
  /** Office, home (and a VPN exit for some): each day is spent on one (sometimes two, one after the other). */
  readonly networks: readonly HumanNetwork[];
  /** Home has IPv4 and IPv6 and the client alternates: two addresses at once is normal. */
  readonly dualStack: boolean;
  /** Only the admin changes policies. */
  readonly admin: boolean;
}

export interface HumanNetwork {
  readonly name: 'office' | 'home' | 'vpn';
  /** The address for a day (stable within the day). */
  addressFor(rng: Rng): string;
  /** The second address of a dual-stack home (IPv6). */
  readonly v6?: (rng: Rng) => string;
}

/** A service: `rate` events an hour on average, times (1 + amp sin) peaking at `peakHour` UTC. */
export interface ServiceProfile extends Common {
  readonly kind: 'service';
  readonly rate: number;
  readonly amp: number;
  readonly peakHour: number;
  /** The /24 (three octets). */
  readonly net: string;
  /** Replica hosts (last octets): one for a single-address service; a week's host is `hosts[week % hosts.length]` when single. */
  readonly hosts: readonly number[];
  readonly single: boolean;
  /** Capabilities used besides read (a writer or rotator service). */
  readonly extra: Capability | null;
}

/** A CI token: scheduled runs at `schedule` (minutes after UTC midnight) every day, push runs on weekdays. */
export interface CiProfile extends Common {
  readonly kind: 'ci';
  readonly schedule: readonly number[];
  /** Push runs an hour, 08:00 to 18:00 UTC shifted by `tz`, on weekdays. */
  readonly pushRate: number;
  readonly tz: number;
  /** The runner pool: a /24 and its hosts. */
  readonly pool: { readonly net: string; readonly hosts: readonly number[] };
}

export type Profile = HumanProfile | ServiceProfile | CiProfile;

/** The identities and the networks normal traffic uses. */
export interface World {
  readonly profiles: readonly Profile[];
  /** Every /16 (two octets) normal IPv4 traffic uses: injected new networks avoid them. */
  readonly usedSixteens: ReadonlySet<string>;
  /** The admin (changes policies), a human. */
  readonly admin: HumanProfile;
}

const APPS = ['payments', 'billing', 'search', 'auth', 'web', 'api', 'reports', 'mail', 'orders', 'inventory', 'analytics', 'media'];
const SECRETS = ['db', 'redis', 'api-key', 'smtp', 'jwt-signing', 's3', 'queue', 'oauth-client'];
const FIRST = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'victor', 'walter', 'yara'];
const TZS = [-8, -5, -5, 0, 1, 1, 1, 2, 5.5, 8, 9];
const HOME_FIRST_OCTETS = [24, 50, 67, 73, 76, 81, 86, 92, 98, 109, 151, 174, 176, 188, 212, 217];
const HUMAN_AGENTS = [
  'keyturn-cli/0.1.0 (linux x64)',
  'keyturn-cli/0.1.0 (darwin arm64)',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Firefox/128.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0',
];
const SERVICE_AGENTS = ['keyturn-agent/0.1.0', 'python-requests/2.31.0', 'Go-http-client/1.1', 'node-fetch/3.3.2', 'keyturn-sdk-java/0.1.0'];
const OFFICES = ['203.0.113', '198.51.100'];
const VPN = '192.0.2';
const CI_POOLS = ['140.82.112', '140.82.113'];

function pathsFor(rng: Rng, apps: readonly string[], envs: readonly string[], min: number, max: number): UsedPath[] {
  const all: string[] = [];
  for (const app of apps) for (const env of envs) for (const s of SECRETS) all.push(`${env}/${app}/${s}`);
  return rng.sample(all, rng.int(min, max)).map((path) => ({ path, weight: rng.range(0.2, 1) ** 2 }));
}

function human(rng: Rng, index: number, n: number, sixteens: Set<string>, admin: boolean): HumanProfile {
  const isToken = !admin && rng.chance(0.5);
  const name = `${FIRST[n % FIRST.length] ?? 'user'}${Math.floor(n / FIRST.length) || ''}`;
  const apps = rng.sample(APPS, rng.int(1, 2));
  const office = rng.pick(OFFICES);
  const homeNet = `${rng.pick(HOME_FIRST_OCTETS)}.${rng.int(0, 255)}.${rng.int(0, 255)}`;
  const homeHosts = [rng.int(2, 254), rng.int(2, 254)];
  const v6Only = rng.chance(0.05);
  const dualStack = !v6Only && rng.chance(0.1);
  const v6Prefix = `2001:db8:${rng.int(1, 0xffff).toString(16)}:${rng.int(0, 0xffff).toString(16)}`;
  const v6Host = rng.int(1, 0xffff).toString(16);
  const v6 = (): string => `${v6Prefix}::${v6Host}`;
  const networks: HumanNetwork[] = [
    { name: 'office', addressFor: (r) => `${office}.${r.int(10, 250)}` },
    v6Only
      ? { name: 'home', addressFor: v6 }
      : {
          name: 'home',
          // Mostly one address; now and then the ISP hands out the other one.
          addressFor: (r) => `${homeNet}.${r.chance(0.85) ? homeHosts[0] : homeHosts[1]}`,
          ...(dualStack ? { v6 } : {}),
        },
  ];
  sixteens.add(office.split('.').slice(0, 2).join('.'));
  if (!v6Only) sixteens.add(homeNet.split('.').slice(0, 2).join('.'));
  if (rng.chance(0.4)) {
    networks.push({ name: 'vpn', addressFor: (r) => `${VPN}.${r.int(10, 40)}` });
    sixteens.add(VPN.split('.').slice(0, 2).join('.'));
  }
  const sundayWeek = rng.chance(0.1);
  return {
    kind: 'human',
    index,
    actor: isToken ? `token:tk_h${index.toString().padStart(3, '0')}` : `user:${admin ? 'admin' : name}@example.com`,
    isToken,
    userAgent: rng.pick(HUMAN_AGENTS),
    apps,
    paths: pathsFor(rng, apps, ['prod', 'staging'], 3, 10),
    tz: rng.pick(TZS),
    workdays: sundayWeek ? [0, 1, 2, 3, 4] : [1, 2, 3, 4, 5],
    startHour: rng.range(7, 10),
    hours: rng.range(7.5, 9.5),
    sessions: rng.range(3, 7),
    networks,
    dualStack,
    admin,
  };
}

function service(rng: Rng, index: number, sixteens: Set<string>): ServiceProfile {
  const app = rng.pick(APPS);
  const net = `10.${rng.int(0, 255)}.${rng.int(0, 255)}`;
  sixteens.add(net.split('.').slice(0, 2).join('.'));
  const single = rng.chance(0.5);
  const hosts = rng.sample(
    Array.from({ length: 200 }, (_, i) => i + 10),
    single ? 2 : rng.int(2, 4),
  );
  const extra = rng.chance(0.1) ? 'write' : rng.chance(0.08) ? 'rotate' : null;
  return {
    kind: 'service',
    index,
    actor: `token:tk_s${index.toString().padStart(3, '0')}`,
    isToken: true,
    userAgent: rng.pick(SERVICE_AGENTS),
    apps: [app],
    paths: pathsFor(rng, [app], ['prod'], 2, 6),
    rate: rng.range(2, 20),
    amp: rng.range(0.3, 0.7),
    peakHour: rng.range(0, 24),
    net,
    hosts,
    single,
    extra,
  };
}

function ci(rng: Rng, index: number, sixteens: Set<string>): CiProfile {
  const project = rng.pick(APPS);
  const pool = rng.pick(CI_POOLS);
  sixteens.add(pool.split('.').slice(0, 2).join('.'));
  const runs = rng.int(1, 4);
  const schedule = Array.from({ length: runs }, () => rng.int(0, 23) * 60 + rng.pick([0, 5, 15, 30, 45])).sort((a, b) => a - b);
  const paths = [...pathsFor(rng, [project], ['ci'], 3, 6), ...pathsFor(rng, [project], ['staging'], 1, 3)];
  return {
    kind: 'ci',
    index,
    actor: `token:tk_ci${index.toString().padStart(3, '0')}`,
    isToken: true,
    userAgent: 'keyturn-cli/0.1.0 (linux x64) ci',
    apps: [project],
    paths,
    schedule,
    pushRate: rng.range(0.3, 2),
    tz: rng.pick(TZS),
    pool: { net: pool, hosts: Array.from({ length: 40 }, (_, i) => i + 20) },
  };
}

/**
 * The identities of the log of `seed`: half people (the first is the admin), three tenths
 * services, the rest CI tokens (at least one of each from 3 identities on).
 *
 * @example
 * ```ts
 * makeWorld(7, 10, Date.UTC(2025, 0, 6)).admin.actor; // 'user:admin@example.com'
 * ```
 */
export function makeWorld(seed: number, identities: number, _start: number): World {
  const n = Math.max(1, Math.floor(identities));
  const humans = Math.max(1, Math.round(n * 0.5));
  const services = n >= 3 ? Math.max(1, Math.round(n * 0.3)) : n - humans;
  const sixteens = new Set<string>();
  const profiles: Profile[] = [];
  for (let i = 0; i < n; i++) {
    const rng = new Rng(seedOf(seed, 'profile', i));
    if (i < humans) profiles.push(human(rng, i, i, sixteens, i === 0));
    else if (i < humans + services) profiles.push(service(rng, i, sixteens));
    else profiles.push(ci(rng, i, sixteens));
  }
  return { profiles, usedSixteens: sixteens, admin: profiles[0] as HumanProfile };
}

/**
 * An IPv4 address in a /16 that no normal traffic uses and `taken` does not hold yet (added to it).
 *
 * @example
 * ```ts
 * foreignAddress(new Rng(1), world.usedSixteens, new Set()); // '185.77.12.9'
 * ```
 */
export function foreignAddress(rng: Rng, used: ReadonlySet<string>, taken: Set<string>): string {
  for (let tries = 0; tries < 100_000; tries++) {
    // Hosting and foreign ISP ranges first; any public first octet once those are used up.
    const first = tries < 1000 ? rng.pick([5, 31, 37, 45, 46, 77, 89, 91, 103, 141, 185, 193, 194, 195]) : rng.pick(PUBLIC_FIRST_OCTETS);
    const sixteen = `${first}.${rng.int(0, 255)}`;
    if (used.has(sixteen) || taken.has(sixteen)) continue;
    taken.add(sixteen);
    return `${sixteen}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
  }
  throw new Error('foreignAddress: no unused /16 left');
}

/** First octets of public unicast IPv4 (not 0, 10, 127, 169, 172, 192, 198, 203 or multicast). */
const PUBLIC_FIRST_OCTETS = Array.from({ length: 223 }, (_, i) => i + 1).filter((o) => ![10, 127, 169, 172, 192, 198, 203].includes(o));

/** The capability and action of a normal access (read mostly). */
export function accessOf(cap: Capability): string {
  switch (cap) {
    case 'read':
      return 'secret.read';
    case 'write':
      return 'secret.put';
    case 'list':
      return 'secret.list';
    case 'rotate':
      return 'secret.rotate';
    default:
      return `secret.${cap}`;
  }
}
