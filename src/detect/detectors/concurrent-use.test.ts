import { describe, expect, it } from 'vitest';
import { access, ci, DAY, HOUR, merge, MINUTE, MONDAY, person, runAll, service } from '../../../test/helpers/access-events.js';
import { seeded } from '../../../test/helpers/seeded.js';
import { detectorRegistry } from '../registry.js';
import { concurrentUseConfigSchema, createConcurrentUseDetector } from './concurrent-use.js';

const detector = (over: Record<string, unknown> = {}) => createConcurrentUseDetector(concurrentUseConfigSchema.parse({ type: 'concurrent-use', ...over }));

describe('concurrent-use', () => {
  it('flags a service token used from three addresses within a minute, once (seed 41)', () => {
    const rng = seeded(41);
    const d = detector();
    expect(runAll(d, service(rng, { actor: 'token:app', from: MONDAY, days: 10, peakPerHour: 120, address: '10.0.0.5' }))).toEqual([]);
    const t = MONDAY + 10 * DAY + HOUR;
    const events = [
      access({ actor: 'token:app', time: t, address: '10.0.0.5' }),
      access({ actor: 'token:app', time: t + 5000, address: '198.51.100.7' }),
      access({ actor: 'token:app', time: t + 9000, address: '203.0.113.50' }),
    ];
    const more = Array.from({ length: 20 }, (_, i) => access({ actor: 'token:app', time: t + 10_000 + i * 2000, address: `203.0.113.${60 + (i % 4)}` }));
    const anomalies = runAll(d, [...events, ...more]);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]).toMatchObject({ type: 'concurrent-use', actor: 'token:app', address: '203.0.113.50', seq: events[2]!.seq });
    expect(anomalies[0]!.details).toMatchObject({ addresses: 3, normal: 1, limit: 2 });
    expect(anomalies[0]!.reason).toContain('10.0.0.5, 198.51.100.7, 203.0.113.50');
  });

  it('flags a second incident two days later: a day or two of incidents do not make it normal (seed 44)', () => {
    const rng = seeded(44);
    const d = detector();
    runAll(d, service(rng, { actor: 'token:app', from: MONDAY, days: 10, peakPerHour: 120, address: '10.0.0.5' }));
    const stolen = (t: number) => ['10.0.0.5', '198.51.100.7', '203.0.113.50'].map((address, i) => access({ actor: 'token:app', time: t + i * 1000, address }));
    expect(runAll(d, stolen(MONDAY + 10 * DAY + HOUR))).toHaveLength(1);
    expect(runAll(d, stolen(MONDAY + 12 * DAY + HOUR))).toHaveLength(1);
  });

  it('learns a CI token used by several runners at once, and flags it only well beyond (seed 42)', () => {
    const rng = seeded(42);
    const d = detector();
    expect(runAll(d, ci(rng, { actor: 'token:ci', from: MONDAY, days: 21, runners: 8 }))).toEqual([]);
    const t = MONDAY + 21 * DAY + 5 * HOUR;
    const wide = Array.from({ length: 12 }, (_, i) => access({ actor: 'token:ci', time: t + i * 1000, address: `10.1.0.${i + 1}` }));
    expect(runAll(d, wide)).toEqual([]); // 12: within twice the usual 8 or so
    const wider = Array.from({ length: 24 }, (_, i) => access({ actor: 'token:ci', time: t + HOUR + i * 1000, address: `10.9.0.${i + 1}` }));
    const anomalies = runAll(d, wider);
    expect(anomalies).toHaveLength(1);
    expect(anomalies[0]!.details.normal).toBeGreaterThanOrEqual(6);
  });

  it('says nothing about normal traffic of services, people and CI over four weeks (seed 43)', () => {
    const rng = seeded(43);
    const d = detector();
    const log = merge(
      service(rng, { actor: 'token:app', from: MONDAY, days: 28, peakPerHour: 600 }),
      service(rng, { actor: 'token:app2', from: MONDAY, days: 28, peakPerHour: 60, address: '10.0.0.6' }),
      person(rng, { actor: 'token:alice', from: MONDAY, days: 28 }),
      ci(rng, { actor: 'token:ci', from: MONDAY, days: 28, runners: 5 }),
    );
    expect(runAll(d, log)).toEqual([]);
  });

  it('says nothing during the learning period; addresses seen apart (more than the window) do not add up', () => {
    const d = detector({ learningDays: 7 });
    const early = Array.from({ length: 5 }, (_, i) => access({ time: MONDAY + i * 1000, address: `10.0.1.${i}` }));
    expect(runAll(d, early)).toEqual([]);
    const quick = detector({ learningDays: 1, normalDays: 1 });
    quick.observe(access({ time: MONDAY, address: '10.0.0.1' }));
    const apart = Array.from({ length: 10 }, (_, i) => access({ time: MONDAY + DAY + (i + 1) * 2 * MINUTE, address: `10.0.1.${i}` }));
    expect(runAll(quick, apart)).toEqual([]);
    const together = Array.from({ length: 3 }, (_, i) => access({ time: MONDAY + DAY + HOUR + i * 1000, address: `10.0.2.${i}` }));
    expect(runAll(quick, together)).toHaveLength(1);
  });

  it('ignores events without an address and anonymous ones; any other identity counts, not only tokens', () => {
    const d = detector({ learningDays: 1, normalDays: 1 });
    runAll(d, [access({ time: MONDAY - DAY }), access({ actor: 'user:alice', time: MONDAY - DAY, address: '10.0.3.1' })]);
    const t = MONDAY + DAY;
    const ignored = [
      ...Array.from({ length: 5 }, (_, i) => access({ time: t + i, address: null })),
      ...Array.from({ length: 5 }, (_, i) => access({ actor: 'anonymous', action: 'access.authenticate', outcome: 'failure', capability: null, path: null, time: t + i, address: `10.0.4.${i}` })),
    ];
    expect(runAll(d, ignored)).toEqual([]);
    expect(d.tracked()).toBe(2);
    const alice = runAll(
      d,
      Array.from({ length: 3 }, (_, i) => access({ actor: 'user:alice', time: t + HOUR + i, address: `10.0.3.${i + 1}` })),
    );
    expect(alice.map((a) => a.actor)).toEqual(['user:alice']);
  });

  it('counts at most maxAddresses addresses per identity (a count that saturates there)', () => {
    const d = detector({ learningDays: 1, normalDays: 1, maxAddresses: 4, margin: 0, marginRatio: 0 });
    d.observe(access({ time: MONDAY, address: '10.0.0.1' }));
    const many = (from: number) => Array.from({ length: 50 }, (_, i) => access({ time: from + i * 100, address: `10.0.4.${i}` }));
    expect(runAll(d, many(MONDAY + DAY)).map((a) => a.details.addresses)).toEqual([2]);
    // Once 4 at once is normal, no number of addresses can exceed it.
    const saturated = detector({ learningDays: 1, normalDays: 1, maxAddresses: 4, margin: 0, marginRatio: 0 });
    runAll(saturated, many(MONDAY));
    expect(runAll(saturated, many(MONDAY + DAY))).toEqual([]);
  });

  it('keeps at most maxIdentities identities', () => {
    const d = detector({ maxIdentities: 30 });
    for (let i = 0; i < 400; i++) d.observe(access({ actor: `token:tk_${i}`, time: MONDAY + i }));
    expect(d.tracked()).toBe(30);
  });

  it('is registered, with its defaults', () => {
    expect(detectorRegistry.create({ type: 'concurrent-use' }, {}).type).toBe('concurrent-use');
    expect(concurrentUseConfigSchema.parse({ type: 'concurrent-use' })).toMatchObject({
      windowSeconds: 60,
      learningDays: 7,
      memoryDays: 28,
      normalDays: 3,
      margin: 1,
      marginRatio: 1,
      maxAddresses: 32,
      cooldownSeconds: 600,
    });
    expect(() => detectorRegistry.parse({ type: 'concurrent-use', windowSeconds: 0 })).toThrow(/windowSeconds/);
  });
});
