import { describe, expect, it } from 'vitest';
import { access, ci, DAY, HOUR, merge, MINUTE, MONDAY, person, runAll, service } from '../../../test/helpers/access-events.js';
import { seeded } from '../../../test/helpers/seeded.js';
import { detectorRegistry } from '../registry.js';
import { createExcessiveAccessDetector, excessiveAccessConfigSchema } from './excessive-access.js';

const detector = (over: Record<string, unknown> = {}) => createExcessiveAccessDetector(excessiveAccessConfigSchema.parse({ type: 'excessive-access', ...over }));

/** `count` reads by `actor` evenly over `minutes` minutes from `from`. */
const flood = (actor: string, from: number, count: number, minutes: number) =>
  Array.from({ length: count }, (_, i) => access({ actor, time: from + Math.floor((i * minutes * MINUTE) / count), path: `app/s${i}` }));

describe('excessive-access', () => {
  it('flags a service reading ten times its usual peak, once for a ten-minute flood (seed 21)', () => {
    const rng = seeded(21);
    const d = detector();
    const normal = service(rng, { actor: 'token:app', from: MONDAY, days: 10, peakPerHour: 600 }); // about 50 in 5 minutes at peak, 2.5 at night
    expect(runAll(d, normal)).toEqual([]);
    const at = MONDAY + 10 * DAY + 3 * HOUR; // 03:00, the quiet hour
    const anomalies = runAll(d, flood('token:app', at, 2000, 10));
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ type: 'excessive-access', actor: 'token:app' });
    expect(anomalies[0]!.details.count).toBeGreaterThan(20);
    expect(anomalies[0]!.reason).toMatch(/^token:app made \d+ accesses in 300 s/);
    expect(anomalies[0]!.time).toBeLessThan(at + 2 * MINUTE);
  });

  it('says nothing about busy services, people and CI bursts over three weeks (seed 22)', () => {
    const rng = seeded(22);
    const d = detector();
    const log = merge(
      service(rng, { actor: 'token:busy', from: MONDAY, days: 21, peakPerHour: 3000, nightShare: 0.1 }),
      service(rng, { actor: 'token:quiet', from: MONDAY, days: 21, peakPerHour: 30 }),
      person(rng, { actor: 'user:alice', from: MONDAY, days: 21, perHour: 20 }),
      ci(rng, { actor: 'token:ci', from: MONDAY, days: 21, runners: 6, readsPerRunner: 8 }),
    );
    expect(log.length).toBeGreaterThan(500_000);
    expect(runAll(d, log)).toEqual([]);
  });

  it('flags a busy service by its own baseline, far over the absolute minimum (seed 23)', () => {
    const rng = seeded(23);
    const d = detector();
    runAll(d, service(rng, { actor: 'token:busy', from: MONDAY, days: 8, peakPerHour: 3000, nightShare: 0.2 })); // about 250 in 5 minutes at 14:00
    const at = MONDAY + 8 * DAY + 14 * HOUR;
    expect(runAll(d, flood('token:busy', at, 500, 2))).toEqual([]); // twice the usual: far over minCount, under the limit
    const anomalies = runAll(d, flood('token:busy', at + HOUR, 3000, 2)); // about ten times
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]!.details.limit).toBeGreaterThan(500);
  });

  it('follows the daily cycle: the afternoon peak is normal in the afternoon, not at night (seed 24)', () => {
    const rng = seeded(24);
    const d = detector();
    runAll(d, service(rng, { actor: 'token:app', from: MONDAY, days: 10, peakPerHour: 1500, nightShare: 0.02 })); // 125 in 5 minutes at 14:00, 2.5 at 02:00
    const day = MONDAY + 10 * DAY;
    expect(runAll(d, flood('token:app', day + 14 * HOUR, 150, 1))).toEqual([]);
    expect(runAll(d, flood('token:app', day + DAY + 2 * HOUR, 150, 1))).toHaveLength(1);
  });

  it('says nothing during the learning period, and needs more than minCount in the window', () => {
    const d = detector({ learningDays: 7, minCount: 20 });
    expect(runAll(d, [access({ time: MONDAY }), ...flood('token:tk_1', MONDAY + DAY, 500, 1)])).toEqual([]);
    const at20 = detector({ learningDays: 0, minCount: 20 });
    at20.observe(access({ time: MONDAY }));
    expect(runAll(at20, flood('token:tk_1', MONDAY + DAY, 20, 1))).toEqual([]);
    const at21 = detector({ learningDays: 0, minCount: 20 });
    at21.observe(access({ time: MONDAY }));
    expect(runAll(at21, flood('token:tk_1', MONDAY + DAY, 21, 1))).toHaveLength(1);
  });

  it('counts across the edge of two fixed windows', () => {
    const d = detector({ learningDays: 0, minCount: 30 });
    d.observe(access({ time: MONDAY }));
    // 40 reads in 40 s straddling the edge of two 5-minute windows: 20 in each.
    expect(runAll(d, flood('token:tk_1', MONDAY + DAY + 5 * MINUTE - 20_000, 40, 40 / 60))).toHaveLength(1);
  });

  it('counts successful accesses only (refusals and failures are the failed-burst detector business)', () => {
    const d = detector({ learningDays: 0, minCount: 5 });
    d.observe(access({ time: MONDAY }));
    const t = MONDAY + DAY;
    const outcomes = ['intent', 'denied', 'failure'] as const;
    const events = Array.from({ length: 60 }, (_, i) => access({ time: t + i * 100, outcome: outcomes[i % 3] }));
    const notAccess = Array.from({ length: 20 }, (_, i) => access({ time: t + 10_000 + i * 100, capability: null, action: 'access.policy.put' }));
    expect(runAll(d, [...events, ...notAccess])).toEqual([]);
    expect(runAll(d, flood('token:tk_1', t + 20_000, 6, 0.1))).toHaveLength(1);
  });

  it('keeps at most maxIdentities identities', () => {
    const d = detector({ maxIdentities: 20 });
    for (let i = 0; i < 300; i++) d.observe(access({ actor: `token:tk_${i}`, time: MONDAY + i }));
    expect(d.tracked()).toBe(20);
  });

  it('is registered, with its defaults', () => {
    expect(detectorRegistry.create({ type: 'excessive-access' }, {}).type).toBe('excessive-access');
    expect(excessiveAccessConfigSchema.parse({ type: 'excessive-access' })).toMatchObject({
      windowSeconds: 300,
      learningDays: 7,
      factor: 3,
      spreads: 6,
      minCount: 20,
      halfLifeDays: 7,
      cooldownSeconds: 1800,
    });
    expect(() => detectorRegistry.parse({ type: 'excessive-access', minCount: 0 })).toThrow(/minCount/);
  });
});
