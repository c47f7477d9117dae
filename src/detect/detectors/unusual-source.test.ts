import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seeded } from '../../../test/helpers/seeded.js';
import { writeMmdb } from '../../../test/helpers/mmdb-writer.js';
import { isKeyturnError } from '../../core/errors.js';
import type { AccessEvent, Anomaly, Detector } from '../detector.js';
import { detectorRegistry } from '../registry.js';
import { createUnusualSourceDetector, unusualSourceConfigSchema } from './unusual-source.js';

const T0 = Date.UTC(2025, 0, 6);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let seq = 0;
function access(time: number, actor: string, address: string | null, more: Partial<AccessEvent> = {}): AccessEvent {
  return { seq: seq++, time, actor, source: 'api', action: 'secret.read', capability: 'read', path: 'prod/db', outcome: 'success', errorCode: null, address, userAgent: null, ...more };
}

function detector(config: Record<string, unknown> = {}): Detector {
  return createUnusualSourceDetector(unusualSourceConfigSchema.parse({ type: 'unusual-source', ...config }));
}

/** Feeds `events` in order and returns every anomaly. */
function run(d: Detector, events: readonly AccessEvent[]): Anomaly[] {
  return events.flatMap((e) => d.observe(e));
}

/** `n` accesses a day for `days` days from `from`, spread over the day, from `address(day, i)`. */
function daily(actor: string, from: number, days: number, n: number, address: (day: number, i: number) => string): AccessEvent[] {
  const out: AccessEvent[] = [];
  for (let d = 0; d < days; d++) for (let i = 0; i < n; i++) out.push(access(from + d * DAY + ((i + 0.5) * DAY) / n, actor, address(d, i)));
  return out;
}

describe('unusual-source: learned networks', () => {
  it('says nothing while learning, then flags an access from a new network once', () => {
    const d = detector();
    // a person between office and home for a week
    const week = daily('user:alice', T0, 7, 4, (day, i) => (i % 2 === 0 ? `203.0.113.${10 + day}` : '81.2.69.160'));
    expect(run(d, week)).toEqual([]);
    // a new /24 during learning is learned, not flagged
    expect(d.observe(access(T0 + 6.9 * DAY, 'user:alice', '81.2.70.5'))).toEqual([]);
    // after the week: other hosts of known networks are fine
    expect(d.observe(access(T0 + 8 * DAY, 'user:alice', '203.0.113.99'))).toEqual([]);
    expect(d.observe(access(T0 + 8 * DAY, 'user:alice', '81.2.70.200'))).toEqual([]);
    // a network it never came from
    const [a, ...more] = d.observe(access(T0 + 9 * DAY, 'user:alice', '185.77.12.9', { path: 'prod/payments/db' }));
    expect(more).toEqual([]);
    expect(a).toMatchObject({ type: 'unusual-source', actor: 'user:alice', address: '185.77.12.9', path: 'prod/payments/db', score: 2 });
    expect(a!.reason).toBe('user:alice read prod/payments/db from 185.77.12.9: it was not seen on 185.77.12.0/24 nor 185.77.0.0/16 in 8 days (3 networks known)');
    expect(a!.details).toMatchObject({ rule: 'new-network', network: '185.77.12.0/24', wideNetwork: '185.77.0.0/16', knownNetworks: 3 });
    // the rest of that session: once per incident
    expect(run(d, [access(T0 + 9 * DAY + 60_000, 'user:alice', '185.77.12.9'), access(T0 + 9 * DAY + 120_000, 'user:alice', '185.77.12.10')])).toEqual([]);
    // a new /24 of a known /16 is a smaller step
    expect(d.observe(access(T0 + 10 * DAY, 'user:alice', '203.0.114.7'))[0]).toMatchObject({ score: 1, details: { network: '203.0.114.0/24' } });
  });

  it('needs both the learning days and the learning events', () => {
    const few = detector({ learningEvents: 20 });
    run(
      few,
      daily('token:tk_rare', T0, 10, 1, () => '10.1.2.3'),
    );
    expect(few.observe(access(T0 + 11 * DAY, 'token:tk_rare', '10.9.9.9'))).toEqual([]); // 11 events: still learning
    const young = detector({ learningDays: 7 });
    run(
      young,
      daily('token:tk_busy', T0, 3, 100, () => '10.1.2.3'),
    );
    expect(young.observe(access(T0 + 3 * DAY, 'token:tk_busy', '10.9.9.9'))).toEqual([]); // 3 days: still learning
    const eager = detector({ learningDays: 0, learningEvents: 0 });
    expect(eager.observe(access(T0, 'token:tk_new', '10.1.2.3'))).toEqual([]); // the first network is not new
    expect(eager.observe(access(T0 + 1, 'token:tk_new', '10.9.9.9'))).toHaveLength(1);
  });

  it('treats two addresses of one IPv6 /48 as one network, and an IPv4-mapped address as IPv4', () => {
    const d = detector();
    run(
      d,
      daily('user:bob', T0, 8, 6, (day, i) => (i % 3 === 0 ? `2001:db8:4a1:${day.toString(16)}::${i + 1}` : i % 3 === 1 ? '::ffff:198.51.100.20' : '198.51.100.21')),
    );
    expect(d.observe(access(T0 + 9 * DAY, 'user:bob', '2001:db8:4a1:ffff:1:2:3:4'))).toEqual([]);
    expect(d.observe(access(T0 + 9 * DAY, 'user:bob', '198.51.100.250'))).toEqual([]);
    const [a] = d.observe(access(T0 + 9 * DAY, 'user:bob', '2001:db8:4a2::1'));
    expect(a?.details).toMatchObject({ network: '2001:db8:4a2::/48', wideNetwork: '2001:db8::/32' });
  });

  it('compares a roaming identity (a runner pool over many /24s) by its wider networks', () => {
    const d = detector();
    const rng = seeded(11);
    // CI runners from anywhere in 140.82.0.0/16 (a new /24 most days)
    run(
      d,
      daily('token:tk_ci', T0, 10, 20, () => `140.82.${Math.floor(rng() * 256)}.${1 + Math.floor(rng() * 250)}`),
    );
    expect(
      run(
        d,
        daily('token:tk_ci', T0 + 10 * DAY, 10, 20, () => `140.82.${Math.floor(rng() * 256)}.${1 + Math.floor(rng() * 250)}`),
      ),
    ).toEqual([]);
    expect(d.observe(access(T0 + 21 * DAY, 'token:tk_ci', '52.12.1.1'))[0]?.details).toMatchObject({ network: '52.12.1.0/24', wideNetwork: '52.12.0.0/16' });
  });

  it('forgets the least recently used network beyond maxNetworks', () => {
    const d = detector({ maxNetworks: 2, roamingNetworks: 100, cooldownHours: 1 });
    run(
      d,
      daily('user:carol', T0, 8, 4, (_, i) => (i % 2 === 0 ? '10.0.1.1' : '10.0.2.1')),
    );
    expect(d.observe(access(T0 + 9 * DAY, 'user:carol', '10.0.3.1'))).toHaveLength(1); // 10.0.1.0/24 is forgotten
    expect(d.observe(access(T0 + 9 * DAY + 1, 'user:carol', '10.0.2.1'))).toEqual([]);
    expect(d.observe(access(T0 + 9 * DAY + 2, 'user:carol', '10.0.1.1'))[0]?.details).toMatchObject({ network: '10.0.1.0/24' });
  });

  it('ignores events that are not accesses from an address, and addresses it cannot read', () => {
    const d = detector({ allowedCidrs: ['10.0.0.0/8'] });
    expect(d.observe(access(T0, 'token:tk_1', null))).toEqual([]);
    expect(d.observe(access(T0, 'token:tk_1', '198.51.100.1', { capability: null, action: 'access.authenticate' }))).toEqual([]);
    expect(d.observe(access(T0, 'token:tk_1', 'unknown'))).toEqual([]);
    expect(d.tracked()).toBe(0);
  });
});

describe('unusual-source: normal traffic (seed 20250106)', () => {
  it('raises nothing on four weeks of people, services and CI pools, and flags each foreign access', () => {
    const rng = seeded(20250106);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const int = (n: number): number => Math.floor(rng() * n);
    const events: AccessEvent[] = [];
    const people: string[] = [];
    for (let p = 0; p < 60; p++) {
      const actor = `user:p${p}`;
      people.push(actor);
      const office = pick(['203.0.113', '198.51.100']);
      const home = `${pick([24, 73, 81, 92, 176, 212])}.${int(256)}.${int(256)}`;
      const v6 = rng() < 0.2 ? `2001:db8:${int(0xffff).toString(16)}:${int(0xffff).toString(16)}` : null;
      const vpn = rng() < 0.4 ? '192.0.2' : null;
      const nets = [office, home, ...(vpn ? [vpn] : [])];
      for (let day = 0; day < 28; day++) {
        if (day % 7 >= 5) continue;
        const net = day < 7 ? nets[day % nets.length]! : pick([office, office, home, ...(vpn ? [vpn] : [])]);
        for (let i = 0, n = 4 + int(12); i < n; i++) {
          const address = net === home && v6 !== null && rng() < 0.5 ? `${v6}::${1 + int(4)}` : `${net}.${10 + int(240)}`;
          events.push(access(T0 + day * DAY + 8 * HOUR + rng() * 9 * HOUR, actor, address));
        }
      }
    }
    for (let s = 0; s < 30; s++) {
      const net = `10.${int(256)}.${int(256)}`;
      const hosts = [10 + int(200), 10 + int(200), 10 + int(200)];
      for (let t = T0; t < T0 + 28 * DAY; t += 10 * 60_000 + int(600_000)) events.push(access(t, `token:tk_s${s}`, `${net}.${pick(hosts)}`));
    }
    for (let c = 0; c < 10; c++) {
      const pool = pick(['140.82.112', '140.82.113']);
      for (let day = 0; day < 28; day++) {
        for (let run = 0, n = 3 + int(10); run < n; run++) {
          const t = T0 + day * DAY + rng() * DAY;
          for (let j = 0; j < 8; j++) events.push(access(t + j * 5_000, `token:tk_ci${c}`, `${pool}.${20 + int(40)}`));
        }
      }
    }
    events.sort((a, b) => a.time - b.time);
    const d = detector();
    expect(run(d, events)).toEqual([]);
    expect(events.length).toBeGreaterThan(60_000);

    // then each of 20 identities reads from a /16 nobody uses
    const targets = [...people.slice(0, 10), ...Array.from({ length: 10 }, (_, s) => `token:tk_s${s}`)];
    const found = targets.filter((actor, k) => {
      const t = T0 + 28 * DAY + k * HOUR;
      return run(d, [access(t, actor, `185.${100 + k}.7.9`), access(t + 60_000, actor, `185.${100 + k}.7.9`)]).length === 1;
    });
    expect(found).toEqual(targets);
  });
});

describe('unusual-source: allowedCidrs', () => {
  it('flags an address outside them from the first event, once per identity and network per cooldown', () => {
    const d = detector({ allowedCidrs: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.7'], cooldownHours: 24 });
    expect(run(d, [access(T0, 'token:tk_1', '10.20.30.40'), access(T0, 'token:tk_1', '2001:db8:5::1'), access(T0, 'token:tk_1', '192.0.2.7')])).toEqual([]);
    const [a] = d.observe(access(T0 + 1, 'token:tk_1', '192.0.2.8'));
    expect(a).toMatchObject({ score: 3, details: { rule: 'outside-allowed-cidrs', network: '192.0.2.0/24' } });
    expect(a!.reason).toBe('token:tk_1 read prod/db from 192.0.2.8, outside the allowed networks (allowedCidrs)');
    expect(d.observe(access(T0 + 2 * HOUR, 'token:tk_1', '192.0.2.9'))).toEqual([]); // same /24, in the cooldown
    expect(d.observe(access(T0 + 2 * HOUR, 'token:tk_2', '192.0.2.9'))).toHaveLength(1); // another identity
    expect(d.observe(access(T0 + 2 * HOUR, 'token:tk_1', '::ffff:172.16.0.1'))).toHaveLength(1); // another network
    expect(d.observe(access(T0 + 25 * HOUR, 'token:tk_1', '192.0.2.8'))).toHaveLength(1); // after the cooldown
    expect(d.observe(access(T0 + 25 * HOUR, 'token:tk_1', '::1'))).toHaveLength(1); // loopback is outside too
  });
});

describe('unusual-source: allowedCountries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kt-source-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const geoipDatabase = join(dir, 'country.mmdb');
  writeFileSync(
    geoipDatabase,
    writeMmdb([
      { network: '198.51.100.0/24', data: { country: { iso_code: 'DE' } } },
      { network: '203.0.113.0/24', data: { country: { iso_code: 'BR' } } },
      { network: '2001:db8:a::/48', data: { country: { iso_code: 'FR' } } },
      { network: '2001:db8:b::/48', data: { country: { iso_code: 'KP' } } },
    ]),
  );

  it('flags an address in a country not allowed, from the first event; not an allowed one, nor one without a record', () => {
    const d = detector({ allowedCountries: ['de', 'FR'], geoipDatabase });
    const quiet = ['198.51.100.7', '2001:db8:a::1', '127.0.0.1', '10.1.2.3', '192.168.0.5', '::1', '100.64.0.1'].map((a) => access(T0, 'token:tk_1', a));
    expect(run(d, quiet)).toEqual([]);
    const [a] = d.observe(access(T0 + 1, 'token:tk_1', '203.0.113.50', { capability: 'list', path: 'prod' }));
    expect(a).toMatchObject({ type: 'unusual-source', score: 3, address: '203.0.113.50', details: { rule: 'country-not-allowed', country: 'BR' } });
    expect(a!.reason).toBe('token:tk_1 list prod from 203.0.113.50, in country BR, not one of the allowed countries (DE, FR)');
    expect(d.observe(access(T0 + 2, 'token:tk_1', '::ffff:203.0.113.51'))).toEqual([]); // cooldown: the same /24
    expect(d.observe(access(T0 + 3, 'token:tk_2', '2001:db8:b:1::9'))[0]?.details).toMatchObject({ country: 'KP' });
  });

  it('refuses allowedCountries without geoipDatabase, and a database it cannot open', () => {
    const error = (input: unknown): unknown => {
      try {
        detectorRegistry.create(input, {});
      } catch (e) {
        return e;
      }
      return null;
    };
    const without = error({ type: 'unusual-source', allowedCountries: ['DE'] });
    expect(isKeyturnError(without, 'KT_DETECTOR_CONFIG_INVALID')).toBe(true);
    expect((without as Error).message).toContain('geoipDatabase: is needed with allowedCountries');
    expect(isKeyturnError(error({ type: 'unusual-source', allowedCountries: ['DE'], geoipDatabase: join(dir, 'missing.mmdb') }), 'KT_DETECTOR_CONFIG_INVALID')).toBe(true);
    expect(detectorRegistry.create({ type: 'unusual-source', allowedCountries: ['DE'], geoipDatabase }, {}).type).toBe('unusual-source');
  });
});

describe('unusual-source: config and memory', () => {
  it('parses its defaults and refuses bad values', () => {
    expect(detectorRegistry.parse({ type: 'unusual-source' })).toMatchObject({
      maxIdentities: 10000,
      ipv4Prefix: 24,
      ipv6Prefix: 48,
      wideIpv4Prefix: 16,
      wideIpv6Prefix: 32,
      maxNetworks: 32,
      roamingNetworks: 8,
      learningDays: 7,
      learningEvents: 20,
      cooldownHours: 24,
      allowedCidrs: [],
      allowedCountries: [],
    });
    for (const [input, problem] of [
      [{ allowedCidrs: ['10.0.0.0/33'] }, 'allowedCidrs.0: must be an IPv4 or IPv6 network'],
      [{ allowedCidrs: ['10.0.0/8'] }, 'allowedCidrs.0: must be an IPv4 or IPv6 network'],
      [{ allowedCountries: ['Germany'], geoipDatabase: '/x.mmdb' }, 'allowedCountries.0: must be an ISO 3166-1 alpha-2'],
      [{ geoipDatabase: 'relative.mmdb' }, 'geoipDatabase: must be the absolute path'],
      [{ ipv4Prefix: 16, wideIpv4Prefix: 20 }, 'wideIpv4Prefix: must not be above ipv4Prefix'],
      [{ maxNetwork: 3 }, 'maxNetwork'],
    ] as const) {
      expect(() => detectorRegistry.parse({ type: 'unusual-source', ...input })).toThrow(problem);
    }
  });

  it('is part of the detection config union, refinements included', () => {
    expect(detectorRegistry.configSchema.safeParse({ type: 'unusual-source', allowedCidrs: ['10.0.0.0/8'] }).success).toBe(true);
    expect(detectorRegistry.configSchema.safeParse({ type: 'unusual-source', allowedCountries: ['DE'] }).success).toBe(false);
  });

  it('keeps at most maxIdentities identities', () => {
    const d = detector({ maxIdentities: 50 });
    for (let i = 0; i < 500; i++) d.observe(access(T0 + i, `token:tk_${i}`, `10.${i % 256}.${i >> 8}.1`));
    expect(d.tracked()).toBeLessThanOrEqual(50);
    expect(d.tracked()).toBe(50);
  });
});
