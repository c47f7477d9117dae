import { describe, expect, it } from 'vitest';
import { access, DAY, HOUR, merge, MINUTE, MONDAY, person, runAll, service } from '../../../test/helpers/access-events.js';
import { seeded } from '../../../test/helpers/seeded.js';
import { detectorRegistry } from '../registry.js';
import { createUnusualTimeDetector, unusualTimeConfigSchema } from './unusual-time.js';

const detector = (over: Record<string, unknown> = {}) => createUnusualTimeDetector(unusualTimeConfigSchema.parse({ type: 'unusual-time', ...over }));

describe('unusual-time', () => {
  it('learns a weekday office worker and flags a read at 03:00 on a Tuesday, nothing in four weeks of normal traffic (seed 11)', () => {
    const rng = seeded(11);
    const d = detector();
    const normal = person(rng, { actor: 'user:alice', from: MONDAY, days: 28 });
    expect(normal.length).toBeGreaterThan(500);
    expect(runAll(d, normal)).toEqual([]);
    const night = MONDAY + 29 * DAY + 3 * HOUR + 10 * MINUTE; // Tuesday of the fifth week
    const [anomaly, ...rest] = d.observe(access({ actor: 'user:alice', time: night, path: 'prod/db' }));
    expect(rest).toEqual([]);
    expect(anomaly).toMatchObject({ type: 'unusual-time', actor: 'user:alice', path: 'prod/db', time: night });
    expect(anomaly!.reason).toContain('03:00 UTC Tuesday');
    expect(anomaly!.reason).toContain('never active');
    expect(anomaly!.score).toBeGreaterThan(1);
    expect(anomaly!.details.recentInHour).toBe(0);
  });

  it('flags the same worker on a Saturday afternoon, an hour of the day it is busy at on weekdays (seed 12)', () => {
    const rng = seeded(12);
    const d = detector();
    expect(runAll(d, person(rng, { actor: 'user:alice', from: MONDAY, days: 26 }))).toEqual([]);
    const saturday = MONDAY + 26 * DAY + 14 * HOUR; // 2024-01-27, a Saturday
    const anomalies = d.observe(access({ actor: 'user:alice', time: saturday }));
    expect(anomalies.map((a) => a.details.hourOfWeek)).toEqual(['14:00 UTC Saturday']);
  });

  it('never flags services around the clock, even with few accesses at night (seed 13)', () => {
    const rng = seeded(13);
    const d = detector();
    const log = merge(
      service(rng, { actor: 'token:busy', from: MONDAY, days: 42, peakPerHour: 120, nightShare: 0.05 }),
      service(rng, { actor: 'token:quiet', from: MONDAY, days: 42, peakPerHour: 12, nightShare: 0.1 }),
      service(rng, { actor: 'token:flat', from: MONDAY, days: 42, peakPerHour: 3, nightShare: 1 }),
    );
    expect(log.length).toBeGreaterThan(50_000);
    expect(runAll(d, log)).toEqual([]);
  });

  it('raises at most one anomaly per cooldown for a night of accesses (seed 14)', () => {
    const rng = seeded(14);
    const d = detector();
    runAll(d, person(rng, { actor: 'user:bob', from: MONDAY, days: 21 }));
    const night = MONDAY + 22 * DAY + 2 * HOUR; // Tuesday 02:00
    const burst = Array.from({ length: 40 }, (_, i) => access({ actor: 'user:bob', time: night + i * 3 * MINUTE })); // 2 h
    const times = runAll(d, burst).map((a) => a.time);
    expect(times[0]).toBe(night);
    expect(times.length).toBeLessThanOrEqual(2);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(HOUR);
  });

  it('raises again after the cooldown when the identity is still somewhere unusual (seed 16)', () => {
    const rng = seeded(16);
    const d = detector({ cooldownSeconds: 3600 });
    runAll(d, person(rng, { actor: 'user:dan', from: MONDAY, days: 21 }));
    const sunday = MONDAY + 27 * DAY; // Sunday
    const anomalies = runAll(d, [
      access({ actor: 'user:dan', time: sunday + 3 * HOUR }),
      access({ actor: 'user:dan', time: sunday + 3 * HOUR + 30 * MINUTE }),
      access({ actor: 'user:dan', time: sunday + 12 * HOUR }),
    ]);
    expect(anomalies.map((a) => a.details.hourOfWeek)).toEqual(['03:00 UTC Sunday', '12:00 UTC Sunday']);
  });

  it('flags each of three nights two days apart: a few unusual accesses do not make the night normal (seed 17)', () => {
    const rng = seeded(17);
    const d = detector();
    runAll(d, person(rng, { actor: 'user:erin', from: MONDAY, days: 15 }));
    const nights = [16, 18, 20].map((day) => Array.from({ length: 5 }, (_, i) => access({ actor: 'user:erin', time: MONDAY + day * DAY + 2 * HOUR + i * 5 * MINUTE })));
    for (const night of nights) expect(runAll(d, night)).toHaveLength(1);
  });

  it('says nothing during the learning period or before minEvents accesses', () => {
    const d = detector({ learningDays: 14, minEvents: 50 });
    const early = [...Array.from({ length: 100 }, (_, i) => access({ time: MONDAY + 9 * HOUR + i * MINUTE })), access({ time: MONDAY + 3 * DAY + 3 * HOUR })];
    expect(runAll(d, early)).toEqual([]);
    const few = detector({ learningDays: 0, minEvents: 50 });
    expect(runAll(few, [...Array.from({ length: 30 }, (_, i) => access({ time: MONDAY + 9 * HOUR + i * MINUTE })), access({ time: MONDAY + 3 * DAY + 3 * HOUR })])).toEqual([]);
  });

  it('ignores events that are not a successful or denied access', () => {
    const d = detector({ learningDays: 0, minEvents: 1 });
    runAll(
      d,
      Array.from({ length: 100 }, (_, i) => access({ time: MONDAY + 9 * HOUR + i * MINUTE })),
    );
    const at3 = MONDAY + DAY + 3 * HOUR;
    expect(runAll(d, [access({ time: at3, outcome: 'failure' }), access({ time: at3, outcome: 'intent' }), access({ time: at3, capability: null, action: 'server.start' })])).toEqual([]);
    expect(runAll(d, [access({ time: at3, outcome: 'denied' })])).toHaveLength(1);
  });

  it('follows a change of habits: a move to night shifts alarms during the first night only (seed 15)', () => {
    const rng = seeded(15);
    const d = detector();
    runAll(d, person(rng, { actor: 'user:carol', from: MONDAY, days: 21 }));
    const nights = runAll(d, person(rng, { actor: 'user:carol', from: MONDAY + 21 * DAY, days: 28, startHour: 0, endHour: 6 }));
    expect(nights.length).toBeGreaterThan(0);
    expect(nights.every((a) => a.time < MONDAY + 21 * DAY + 6 * HOUR)).toBe(true);
  });

  it('keeps at most maxIdentities identities', () => {
    const d = detector({ maxIdentities: 50 });
    for (let i = 0; i < 500; i++) d.observe(access({ actor: `token:tk_${i}`, time: MONDAY + i * 1000 }));
    expect(d.tracked()).toBe(50);
  });

  it('is registered, with its defaults', () => {
    const d = detectorRegistry.create({ type: 'unusual-time' }, {});
    expect(d.type).toBe('unusual-time');
    expect(unusualTimeConfigSchema.parse({ type: 'unusual-time' })).toMatchObject({ learningDays: 14, minEvents: 50, halfLifeDays: 14, smoothHours: 1, cooldownSeconds: 3600, maxIdentities: 10000 });
    expect(() => detectorRegistry.parse({ type: 'unusual-time', learningDays: -1 })).toThrow(/learningDays/);
  });
});
