/**
 * The `unusual-source` detector: an access from a network the identity does not come from.
 *
 * Per identity it learns the networks its accesses come from (IPv4 /24, IPv6 /48 by default;
 * at most `maxNetworks`, the least recently used forgotten first). Once the identity is past its
 * learning period (`learningDays` since first seen and at least `learningEvents` accesses), an
 * access from a network outside that set is an anomaly; the network is then learned, so the
 * anomaly is raised once, not on every event of the session.
 *
 * Normal traffic it must stay quiet on: people between home, office and phone (two or three
 * networks, learned in the first week), services on one /24, CI runners from a pool. An identity
 * seen on `roamingNetworks` networks or more is roaming (a pool, a mobile carrier): only an
 * address outside all of its wider networks (IPv4 /16, IPv6 /32) counts as new; one seen on that
 * many wider networks too comes from anywhere, and only the rules below apply to it.
 *
 * Independent of learning, from the first event: with `allowedCidrs`, an address outside them
 * is an anomaly; with `allowedCountries` (and `geoipDatabase`), an address whose country is not
 * one of them is (an address the database has no record for, such as loopback or a private
 * range, has no country and is not). Any anomaly is raised once per identity and network per
 * `cooldownHours`.
 *
 * Only accesses count, for learning as for anomalies: events with a capability and an address.
 *
 * @example
 * ```ts
 * const d = createUnusualSourceDetector(unusualSourceConfigSchema.parse({ type: 'unusual-source', allowedCidrs: ['10.0.0.0/8'] }));
 * d.observe(event); // [{ type: 'unusual-source', reason: 'token:tk_1 read prod/db from 198.51.100.7, outside the allowed networks (allowedCidrs)', ... }]
 * ```
 */
import { BlockList, isIP } from 'node:net';
import { z } from 'zod';
import { parseAddress, networkOf } from '../address.js';
import type { AccessEvent, Anomaly, Detector } from '../detector.js';
import { openGeoip, type Geoip } from '../geoip.js';
import { BoundedMap } from '../lru.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** Addresses (with their networks and verdicts) kept per generation of the address cache: at most twice this many. */
const ADDRESS_CACHE = 2048;
const NONE: readonly Anomaly[] = [];

/** `203.0.113.0/24`, `2001:db8::/32`, or a single address. */
const cidr = z.string().refine((text) => parseCidr(text) !== null, 'must be an IPv4 or IPv6 network such as 10.0.0.0/8 or 2001:db8::/32, or an address');
const countryCode = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'must be an ISO 3166-1 alpha-2 country code such as DE')
  .transform((c) => c.toUpperCase());

export const unusualSourceConfigSchema = z
  .object({
    type: z.literal('unusual-source'),
    maxIdentities: z.number().int().min(1).default(10000).describe('identities kept; the least recently seen is forgotten first (and learns again)'),
    ipv4Prefix: z.number().int().min(8).max(32).default(24).describe('prefix length of an IPv4 network an identity comes from'),
    ipv6Prefix: z.number().int().min(16).max(128).default(48).describe('prefix length of an IPv6 network an identity comes from'),
    wideIpv4Prefix: z.number().int().min(1).max(32).default(16).describe("prefix length of a roaming identity's wider IPv4 networks"),
    wideIpv6Prefix: z.number().int().min(1).max(128).default(32).describe("prefix length of a roaming identity's wider IPv6 networks"),
    maxNetworks: z.number().int().min(1).max(1024).default(32).describe('networks (and as many wider networks) kept per identity; the least recently used is forgotten first'),
    roamingNetworks: z.number().int().min(2).default(8).describe('an identity seen on this many networks is roaming: only a new wider network is an anomaly (above maxNetworks: never)'),
    learningDays: z.number().min(0).default(7).describe('days since an identity was first seen before a new network is an anomaly'),
    learningEvents: z.number().int().min(0).default(20).describe('accesses an identity makes before a new network is an anomaly'),
    cooldownHours: z.number().min(0).default(24).describe('hours before the same identity and network is an anomaly again'),
    allowedCidrs: z.array(cidr).default([]).describe('when not empty, an access from an address outside these networks is an anomaly'),
    allowedCountries: z.array(countryCode).default([]).describe('when not empty, an access from an address in another country is an anomaly (needs geoipDatabase)'),
    geoipDatabase: z
      .string()
      .refine((p) => p.startsWith('/') && !p.includes('\0'), 'must be the absolute path of a MaxMind DB file')
      .optional()
      .describe('MaxMind DB file (GeoLite2-Country format) giving the country of an address'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.allowedCountries.length > 0 && c.geoipDatabase === undefined) ctx.addIssue({ code: 'custom', path: ['geoipDatabase'], message: 'is needed with allowedCountries' });
    if (c.wideIpv4Prefix > c.ipv4Prefix) ctx.addIssue({ code: 'custom', path: ['wideIpv4Prefix'], message: 'must not be above ipv4Prefix' });
    if (c.wideIpv6Prefix > c.ipv6Prefix) ctx.addIssue({ code: 'custom', path: ['wideIpv6Prefix'], message: 'must not be above ipv6Prefix' });
  });

export type UnusualSourceConfig = z.output<typeof unusualSourceConfigSchema>;

type Rule = 'outside-allowed-cidrs' | 'country-not-allowed' | 'new-network';

/** What the detector needs of an address, worked out once per address. */
interface Source {
  readonly address: string;
  readonly network: string;
  readonly wide: string;
  /** The rule (allowedCidrs, allowedCountries) this address breaks, whoever uses it. */
  readonly rule: Rule | null;
  readonly country: string | null;
}

/** One identity: when first seen, how many accesses, the networks it comes from. */
interface Identity {
  firstSeen: number;
  events: number;
  /** 0: a new network is an anomaly; 1 (roaming): only a new wider network is; 2: neither is. */
  roaming: 0 | 1 | 2;
  readonly networks: RecentKeys;
  readonly wide: RecentKeys;
  /** The address, source and networks of its last access: most accesses repeat them, and skip the lookups. */
  lastAddress: string;
  lastSource: Source;
  /** When each network last raised an anomaly (for the cooldown); made at the first. */
  raised: BoundedMap<string, number> | null;
}

/**
 * At most `max` keys, the least recently used forgotten first. Cheaper than a BoundedMap on the
 * hot path: a use only stamps the key (no reordering); the eviction, when a key is added to a
 * full set (a new network: rare), looks for the oldest stamp among at most `max` keys.
 */
class RecentKeys {
  readonly #stamps = new Map<string, { stamp: number }>();
  #clock = 0;

  constructor(readonly max: number) {}

  get size(): number {
    return this.#stamps.size;
  }

  /** Whether `key` is kept; it is now the most recently used when it is. */
  use(key: string): boolean {
    const entry = this.#stamps.get(key);
    if (entry === undefined) return false;
    entry.stamp = ++this.#clock;
    return true;
  }

  /** Adds `key` (not kept yet), forgetting the least recently used key when full. */
  add(key: string): void {
    if (this.#stamps.size >= this.max) {
      let oldest: string | undefined;
      let stamp = Infinity;
      for (const [k, e] of this.#stamps) if (e.stamp < stamp) [oldest, stamp] = [k, e.stamp];
      if (oldest !== undefined) this.#stamps.delete(oldest);
    }
    this.#stamps.set(key, { stamp: ++this.#clock });
  }
}

/**
 * What each address comes to, worked out once: the addresses of two generations of at most
 * ADDRESS_CACHE each; a full current generation becomes the previous one (whose addresses not
 * used since are dropped), an address found in the previous one moves to the current one.
 */
class AddressCache {
  #current = new Map<string, Source | null>();
  #previous = new Map<string, Source | null>();

  constructor(readonly make: (address: string) => Source | null) {}

  get(address: string): Source | null {
    let source = this.#current.get(address);
    if (source !== undefined) return source;
    source = this.#previous.get(address);
    if (source === undefined) source = this.make(address);
    this.#current.set(address, source);
    if (this.#current.size >= ADDRESS_CACHE) {
      this.#previous = this.#current;
      this.#current = new Map();
    }
    return source;
  }
}

/** A network (or a single address) as BlockList takes it; null when not valid. */
function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | null {
  const [address = '', bits, extra] = text.split('/');
  const family = address.includes('%') || extra !== undefined ? 0 : isIP(address);
  if (family === 0 || (bits !== undefined && !/^\d{1,3}$/.test(bits))) return null;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : Number(bits);
  return prefix <= max ? { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' } : null;
}

/**
 * Makes the detector from its parsed config; opens `geoipDatabase` when `allowedCountries` is set
 * (throws KT_DETECTOR_CONFIG_INVALID when it cannot).
 *
 * @example
 * ```ts
 * const d = createUnusualSourceDetector(unusualSourceConfigSchema.parse({ type: 'unusual-source' }));
 * d.tracked(); // 0
 * ```
 */
export function createUnusualSourceDetector(config: UnusualSourceConfig): Detector {
  const learningMs = config.learningDays * DAY;
  const cooldownMs = config.cooldownHours * HOUR;
  const allowed = config.allowedCidrs.length > 0 ? new BlockList() : null;
  for (const text of config.allowedCidrs) {
    const c = parseCidr(text)!;
    allowed!.addSubnet(c.address, c.prefix, c.family);
  }
  const countries = new Set(config.allowedCountries);
  const geoip: Geoip | null = countries.size > 0 && config.geoipDatabase !== undefined ? openGeoip(config.geoipDatabase) : null;
  const identities = new BoundedMap<string, Identity>(config.maxIdentities);
  const sources = new AddressCache((text) => {
    const parsed = parseAddress(text);
    let source: Source | null = null;
    if (parsed) {
      const v4 = parsed.family === 4;
      const country = geoip ? geoip.country(parsed.address) : null;
      let rule: Rule | null = null;
      if (allowed && !allowed.check(parsed.address, v4 ? 'ipv4' : 'ipv6')) rule = 'outside-allowed-cidrs';
      else if (country !== null && !countries.has(country)) rule = 'country-not-allowed';
      source = {
        address: parsed.address,
        network: networkOf(parsed, v4 ? config.ipv4Prefix : config.ipv6Prefix),
        wide: networkOf(parsed, v4 ? config.wideIpv4Prefix : config.wideIpv6Prefix),
        rule,
        country,
      };
    }
    return source;
  });

  return {
    type: 'unusual-source',
    tracked: () => identities.size,
    observe(e: AccessEvent): readonly Anomaly[] {
      if (e.capability === null || e.address === null) return NONE;
      let id = identities.get(e.actor);
      const source = id !== undefined && e.address === id.lastAddress ? id.lastSource : sources.get(e.address);
      if (source === null) return NONE;
      if (id === undefined) {
        id = { firstSeen: e.time, events: 0, roaming: 0, networks: new RecentKeys(config.maxNetworks), wide: new RecentKeys(config.maxNetworks), raised: null, lastAddress: '', lastSource: source };
        identities.set(e.actor, id);
      }
      id.events++;
      if (e.time < id.firstSeen) id.firstSeen = e.time;
      // The networks of the last access are the most recently used: no lookup (nor stamp) needed.
      const repeat = id.events > 1 && source.network === id.lastSource.network;
      const knownNetwork = repeat || id.networks.use(source.network);
      const knownWide = (repeat && source.wide === id.lastSource.wide) || id.wide.use(source.wide);
      id.lastAddress = e.address;
      id.lastSource = source;
      const learned = id.events > config.learningEvents && e.time - id.firstSeen >= learningMs && id.networks.size > 0;
      let rule = source.rule;
      if (rule === null && learned && !knownNetwork && (id.roaming === 0 || (id.roaming === 1 && !knownWide))) rule = 'new-network';
      const known = id.networks.size;
      const knownDays = Math.floor((e.time - id.firstSeen) / DAY);
      if (!knownNetwork) {
        id.networks.add(source.network);
        if (id.roaming === 0 && id.networks.size >= config.roamingNetworks) id.roaming = 1;
      }
      if (!knownWide) {
        id.wide.add(source.wide);
        if (id.roaming === 1 && id.wide.size >= config.roamingNetworks) id.roaming = 2;
      }
      if (rule === null) return NONE;
      id.raised ??= new BoundedMap(config.maxNetworks);
      const last = id.raised.get(source.network);
      if (last !== undefined && e.time - last < cooldownMs) return NONE;
      id.raised.set(source.network, e.time);
      return [anomaly(e, source, rule, { known, knownDays, newWide: !knownWide, allowedCountries: config.allowedCountries })];
    },
  };
}

/** The anomaly of `rule` for the access `e` from `source`. */
function anomaly(e: AccessEvent, source: Source, rule: Rule, ctx: { known: number; knownDays: number; newWide: boolean; allowedCountries: readonly string[] }): Anomaly {
  const what = `${e.actor} ${e.capability ?? 'access'}${e.path === null ? '' : ` ${e.path}`} from ${source.address}`;
  let reason: string;
  let score: number;
  if (rule === 'outside-allowed-cidrs') {
    reason = `${what}, outside the allowed networks (allowedCidrs)`;
    score = 3;
  } else if (rule === 'country-not-allowed') {
    reason = `${what}, in country ${source.country}, not one of the allowed countries (${ctx.allowedCountries.join(', ')})`;
    score = 3;
  } else {
    const wider = ctx.newWide ? ` nor ${source.wide}` : '';
    reason = `${what}: it was not seen on ${source.network}${wider} in ${ctx.knownDays} days (${ctx.known} network${ctx.known === 1 ? '' : 's'} known)`;
    score = ctx.newWide ? 2 : 1;
  }
  const details: Record<string, string | number> = { rule, network: source.network, wideNetwork: source.wide, knownNetworks: ctx.known, knownDays: ctx.knownDays };
  if (source.country !== null) details.country = source.country;
  return { type: 'unusual-source', seq: e.seq, time: e.time, actor: e.actor, path: e.path, address: source.address, score, reason, details };
}
