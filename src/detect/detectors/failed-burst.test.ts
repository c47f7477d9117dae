import { describe, expect, it } from 'vitest';
import type { AccessEvent } from '../detector.js';
import { access, DAY, HOUR, merge, MINUTE, MONDAY, poisson, runAll, service } from '../../../test/helpers/access-events.js';
import { seeded } from '../../../test/helpers/seeded.js';
import { detectorRegistry } from '../registry.js';
import { createFailedBurstDetector, failedBurstConfigSchema } from './failed-burst.js';

const detector = (over: Record<string, unknown> = {}) => createFailedBurstDetector(failedBurstConfigSchema.parse({ type: 'failed-burst', ...over }));

/** A bad token sent from `address`: the authentication fails for nobody in particular. */
const badToken = (address: string, time: number) =>
  access({ actor: 'token:anonymous', action: 'access.authenticate', capability: null, path: null, outcome: 'failure', errorCode: 'KT_TOKEN_INVALID', address, time });
const denied = (actor: string, time: number, address: string | null = '10.0.0.7') => access({ actor, action: 'access.denied', outcome: 'denied', errorCode: 'KT_ACCESS_DENIED', address, time });

/** Occasional single failures: each identity fails about `perDay` times a day, at random. */
function occasional(rng: () => number, actors: number, days: number, perDay: number): AccessEvent[] {
  const out: AccessEvent[] = [];
  for (let a = 0; a < actors; a++) {
    for (let d = 0; d < days; d++) for (let i = poisson(rng, perDay); i > 0; i--) out.push(denied(`token:svc${a}`, MONDAY + d * DAY + Math.floor(rng() * DAY), `10.2.0.${a}`));
  }
  return out;
}

describe('failed-burst', () => {
  it('flags bad tokens from one address, once for the whole burst, as address:<ip>', () => {
    const d = detector();
    const burst = Array.from({ length: 40 }, (_, i) => badToken('203.0.113.9', MONDAY + i * 5000));
    const anomalies = runAll(d, burst);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ type: 'failed-burst', actor: 'address:203.0.113.9', address: '203.0.113.9', seq: burst[9]!.seq });
    expect(anomalies[0]!.reason).toContain('KT_TOKEN_INVALID');
    expect(anomalies[0]!.reason).not.toContain('last identity');
    expect(anomalies[0]!.details).not.toHaveProperty('lastActor');
    expect(d.tracked()).toBe(1); // no state for the anonymous identity
  });

  it('flags one identity denied again and again, as the identity and not its address too', () => {
    const d = detector();
    const anomalies = runAll(
      d,
      Array.from({ length: 12 }, (_, i) => denied('token:tk_x', MONDAY + i * 20_000)),
    );
    expect(anomalies.map((a) => a.actor)).toEqual(['token:tk_x']);
    expect(anomalies[0]!.details.failures).toBeGreaterThanOrEqual(10);
  });

  it('flags one identity failing from many addresses, and one address failing for many identities', () => {
    const d = detector();
    const roaming = Array.from({ length: 10 }, (_, i) => denied('token:tk_r', MONDAY + i * 1000, `198.51.100.${i}`));
    expect(runAll(d, roaming).map((a) => a.actor)).toEqual(['token:tk_r']);
    const spraying = Array.from({ length: 10 }, (_, i) => denied(`token:tk_${i}`, MONDAY + HOUR + i * 1000, '198.51.100.200'));
    const anomalies = runAll(d, spraying);
    expect(anomalies.map((a) => a.actor)).toEqual(['address:198.51.100.200']);
    expect(anomalies[0]!.details.lastActor).toBe('token:tk_9');
  });

  it('needs threshold failures within the window: 9 in a minute or 10 in six minutes are no burst', () => {
    const d = detector({ threshold: 10, windowSeconds: 300 });
    expect(
      runAll(
        d,
        Array.from({ length: 9 }, (_, i) => denied('token:a', MONDAY + i * 1000)),
      ),
    ).toEqual([]);
    expect(
      runAll(
        d,
        Array.from({ length: 10 }, (_, i) => denied('token:b', MONDAY + i * 40_000, null)),
      ),
    ).toEqual([]);
    expect(
      runAll(
        d,
        Array.from({ length: 10 }, (_, i) => denied('token:c', MONDAY + i * 33_000, null)),
      ),
    ).toHaveLength(1);
  });

  it('raises a new anomaly only after the identity stayed under the bar for the cooldown', () => {
    const d = detector({ cooldownSeconds: 900 });
    const first = Array.from({ length: 30 }, (_, i) => denied('token:a', MONDAY + i * 10_000, null)); // 5 minutes
    const again = Array.from({ length: 30 }, (_, i) => denied('token:a', MONDAY + 10 * MINUTE + i * 10_000, null)); // 5 minutes after
    const later = Array.from({ length: 30 }, (_, i) => denied('token:a', MONDAY + HOUR + i * 10_000, null));
    expect(runAll(d, [...first, ...again]).length).toBe(1);
    expect(runAll(d, later).length).toBe(1);
  });

  it('says nothing about occasional failures of many identities among normal traffic over two weeks (seed 31)', () => {
    const rng = seeded(31);
    const d = detector();
    const log = merge(occasional(rng, 200, 14, 6), service(rng, { actor: 'token:app', from: MONDAY, days: 14, peakPerHour: 300 }));
    expect(log.length).toBeGreaterThan(50_000);
    expect(runAll(d, log)).toEqual([]);
  });

  it('learns a client that fails all day: one anomaly on its first day, none after (seed 32)', () => {
    const rng = seeded(32);
    const d = detector();
    // About 9 failures per 5 minutes, around the clock: often 10 or more in a window.
    const log: AccessEvent[] = [];
    for (let w = 0; w < (4 * DAY) / (5 * MINUTE); w++) {
      for (let i = poisson(rng, 9); i > 0; i--) log.push(denied('token:flaky', MONDAY + w * 5 * MINUTE + Math.floor(rng() * 5 * MINUTE), null));
    }
    const anomalies = runAll(
      d,
      log.sort((a, b) => a.time - b.time),
    );
    expect(anomalies.length).toBeLessThanOrEqual(1);
    expect(anomalies.every((a) => a.time < MONDAY + DAY)).toBe(true);
    // ... while a real burst from it, several times its usual rate, still alarms.
    const burst = Array.from({ length: 60 }, (_, i) => denied('token:flaky', MONDAY + 4 * DAY + HOUR + i * 3000, null));
    expect(runAll(d, burst)).toHaveLength(1);
  });

  it('keeps at most maxIdentities identities and addresses', () => {
    const d = detector({ maxIdentities: 25 });
    for (let i = 0; i < 300; i++) d.observe(denied(`token:tk_${i}`, MONDAY + i, `10.3.${i >> 8}.${i & 255}`));
    expect(d.tracked()).toBe(25);
  });

  it('ignores successes', () => {
    const d = detector();
    expect(
      runAll(
        d,
        Array.from({ length: 50 }, (_, i) => access({ time: MONDAY + i })),
      ),
    ).toEqual([]);
    expect(d.tracked()).toBe(0);
  });

  it('is registered, with its defaults', () => {
    expect(detectorRegistry.create({ type: 'failed-burst' }, {}).type).toBe('failed-burst');
    expect(failedBurstConfigSchema.parse({ type: 'failed-burst' })).toMatchObject({ threshold: 10, windowSeconds: 300, factor: 3, baselineHalfLifeHours: 24, cooldownSeconds: 900 });
    expect(() => detectorRegistry.parse({ type: 'failed-burst', threshold: 1 })).toThrow(/threshold/);
    expect(() => detectorRegistry.parse({ type: 'failed-burst', treshold: 5 })).toThrow(/treshold/);
  });
});
