import { describe, expect, it } from 'vitest';
import { ANOMALY_TYPES, type AccessEvent } from './detector.js';
import { generateAccessLog, streamAccessLog, SYNTHETIC_START, type SyntheticLog } from './synthetic.js';

const DAY = 86_400_000;

/** The events without their widening functions (compared as data). */
function plain(log: SyntheticLog): unknown {
  return { events: log.events.map((e) => ({ ...e, widening: e.widening === undefined ? null : { actors: e.widening.actors, what: e.widening.what } })), incidents: log.incidents };
}

function sixteen(address: string): string {
  return address.includes(':') ? address.split(':').slice(0, 4).join(':') : address.split('.').slice(0, 2).join('.');
}

function isHuman(actor: string): boolean {
  return actor.startsWith('user:') || actor.startsWith('token:tk_h');
}

describe('synthetic access log', () => {
  const logs = new Map<number, SyntheticLog>();
  const logOf = (seed: number): SyntheticLog => {
    let log = logs.get(seed);
    if (log === undefined) logs.set(seed, (log = generateAccessLog({ seed })));
    return log;
  };

  it('seed 1: the same seed gives the same log, another seed another log', () => {
    const small = { identities: 20, weeks: 3 };
    const a = generateAccessLog({ seed: 1, ...small });
    const b = generateAccessLog({ seed: 1, ...small });
    const c = generateAccessLog({ seed: 2, ...small });
    expect(a.events.length).toBeGreaterThan(10_000);
    expect(plain(b)).toEqual(plain(a));
    expect(c.events.length).not.toBe(a.events.length);
    expect(c.events.slice(0, 100).map((e) => e.actor)).not.toEqual(a.events.slice(0, 100).map((e) => e.actor));
  });

  it('seed 4: the stream gives the same events and incidents as the whole log', () => {
    const options = { seed: 4, identities: 15, weeks: 3 };
    const whole = generateAccessLog(options);
    const stream = streamAccessLog(options);
    const streamed = [...stream.events()];
    expect(plain({ events: streamed, incidents: [...stream.incidents] })).toEqual(plain(whole));
    expect(() => [...stream.events()]).toThrow(/once/);
  });

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: events in time order, seq = index, every field an AccessEvent has`, () => {
      const { events } = logOf(seed);
      expect(events.length).toBeGreaterThan(100_000);
      expect(events.findIndex((e, i) => e.seq !== i)).toBe(-1);
      expect(events.findIndex((e, i) => i > 0 && e.time < (events[i - 1]?.time ?? 0))).toBe(-1);
      expect(events[0]?.time).toBeGreaterThanOrEqual(SYNTHETIC_START);
      expect(events.at(-1)?.time).toBeLessThan(SYNTHETIC_START + 28 * DAY);
      const actions = new Set(events.map((e) => e.action));
      for (const a of ['secret.read', 'secret.put', 'secret.list', 'secret.rotate', 'access.denied', 'access.authenticate', 'access.policy.put']) expect(actions).toContain(a);
      expect(events.some((e) => e.address?.includes(':') === true)).toBe(true);
      expect(events.filter((e) => e.action === 'access.authenticate').every((e) => e.actor === 'anonymous' && e.errorCode === 'KT_TOKEN_INVALID')).toBe(true);
      expect(events.filter((e) => e.action === 'access.denied').every((e) => e.outcome === 'denied' && e.errorCode === 'KT_ACCESS_DENIED')).toBe(true);
    });

    it(`seed ${seed}: ten incidents of each type, after the learning period, inside the log, their events where they say`, () => {
      const { events, incidents } = logOf(seed);
      for (const type of ANOMALY_TYPES) expect(incidents.filter((i) => i.type === type)).toHaveLength(10);
      for (const inc of incidents) {
        expect(inc.seqs.length).toBeGreaterThan(0);
        // Every identity seen for 14 days before (local days begin up to 9 hours before UTC ones).
        expect(inc.start).toBeGreaterThanOrEqual(SYNTHETIC_START + 15 * DAY - 9 * 3_600_000);
        expect(inc.end).toBeLessThan(SYNTHETIC_START + 28 * DAY);
        const evs = inc.seqs.map((s) => events[s] as AccessEvent);
        expect(evs[0]?.time).toBe(inc.start);
        expect(evs.at(-1)?.time).toBe(inc.end);
        if (inc.actor.startsWith('address:')) expect(evs.every((e) => e.address === inc.actor.slice('address:'.length) && e.actor === 'anonymous')).toBe(true);
        else if (inc.type !== 'privilege-escalation') expect(evs.every((e) => e.actor === inc.actor)).toBe(true);
      }
    });

    it(`seed ${seed}: each incident has the shape of its type`, () => {
      const { events, incidents } = logOf(seed);
      const seenBefore = (actor: string, before: number): Set<string> => {
        const s = new Set<string>();
        for (const e of events) {
          if (e.seq >= before) break;
          if (e.actor === actor && e.address !== null) s.add(sixteen(e.address));
        }
        return s;
      };
      for (const inc of incidents) {
        const evs = inc.seqs.map((s) => events[s] as AccessEvent);
        const hours = evs.map((e) => new Date(e.time).getUTCHours());
        switch (inc.type) {
          case 'failed-burst':
            expect(evs.length).toBeGreaterThanOrEqual(30);
            expect(inc.end - inc.start).toBeLessThanOrEqual(6 * 60_000);
            expect(evs.every((e) => e.outcome === 'failure' || e.outcome === 'denied')).toBe(true);
            break;
          case 'concurrent-use':
            expect(new Set(evs.map((e) => e.address)).size).toBeGreaterThanOrEqual(3);
            expect(inc.end - inc.start).toBeLessThanOrEqual(60_000);
            break;
          case 'unusual-source': {
            const seen = seenBefore(inc.actor, inc.seqs[0] ?? 0);
            expect(seen.size).toBeGreaterThan(0);
            for (const e of evs) expect(seen.has(sixteen(e.address ?? ''))).toBe(false);
            break;
          }
          case 'privilege-escalation': {
            const [change, ...uses] = evs;
            expect(change?.widening?.actors).toEqual([inc.actor]);
            expect(uses.length).toBeGreaterThan(0);
            for (const u of uses) expect(change?.widening?.newlyAllowed(u.path ?? '', 'read')).toBe(true);
            expect(inc.end - inc.start).toBeLessThan(4 * 3_600_000);
            break;
          }
          case 'excessive-access':
            expect(evs.length).toBeGreaterThanOrEqual(50);
            expect(inc.end - inc.start).toBeLessThanOrEqual(8 * 60_000);
            break;
          case 'unusual-time':
            expect(isHuman(inc.actor)).toBe(true);
            expect(hours.length).toBeGreaterThanOrEqual(2);
            break;
        }
      }
    });

    it(`seed ${seed}: normal traffic has daily cycles (people's busiest 12 hours hold nearly all they do; services' rate swings), CI runs from several runners at once`, () => {
      const { events, incidents } = logOf(seed);
      const inIncident = new Set(incidents.flatMap((i) => i.seqs));
      const byActorHour = new Map<string, number[]>();
      for (const e of events) {
        if (inIncident.has(e.seq) || e.actor === 'anonymous') continue;
        let h = byActorHour.get(e.actor);
        if (h === undefined) byActorHour.set(e.actor, (h = new Array<number>(24).fill(0)));
        h[new Date(e.time).getUTCHours()]! += 1;
      }
      let humans = 0;
      let services = 0;
      for (const [actor, h] of byActorHour) {
        const total = h.reduce((a, b) => a + b, 0);
        if (isHuman(actor)) {
          humans++;
          let best = 0;
          for (let s = 0; s < 24; s++)
            best = Math.max(
              best,
              Array.from({ length: 12 }, (_, k) => h[(s + k) % 24] ?? 0).reduce((a, b) => a + b, 0),
            );
          // At most 1% at night (the other 12 hours).
          expect(1 - best / total).toBeLessThan(0.01);
        } else if (actor.startsWith('token:tk_s')) {
          services++;
          expect(Math.max(...h) / Math.max(1, Math.min(...h))).toBeGreaterThan(1.5);
        }
      }
      expect(humans).toBe(30);
      expect(services).toBe(18);
      // Several runner addresses within one minute: normal for a CI token.
      const ciMinutes = new Map<string, Set<string>>();
      for (const e of events)
        if (e.actor.startsWith('token:tk_ci') && e.address !== null)
          ciMinutes.set(`${e.actor} ${Math.floor(e.time / 60_000)}`, (ciMinutes.get(`${e.actor} ${Math.floor(e.time / 60_000)}`) ?? new Set()).add(e.address));
      expect([...ciMinutes.values()].some((s) => s.size >= 3)).toBe(true);
    });

    it(`seed ${seed}: benign widenings are never used, and the log has non-widening policy changes`, () => {
      const { events, incidents } = logOf(seed);
      const escalations = new Set(incidents.filter((i) => i.type === 'privilege-escalation').flatMap((i) => i.seqs));
      const benign = events.filter((e) => e.widening !== undefined && !escalations.has(e.seq));
      expect(benign.length).toBeGreaterThan(0);
      expect(events.some((e) => e.action === 'access.policy.put' && e.widening === undefined)).toBe(true);
      for (const w of benign) {
        const actors = new Set(w.widening?.actors);
        for (const e of events) {
          if (e.seq <= w.seq || !actors.has(e.actor) || e.path === null || e.capability === null) continue;
          expect(w.widening?.newlyAllowed(e.path, e.capability)).toBe(false);
        }
      }
    });
  }

  it('seed 5: inject [] gives normal traffic only; inject one type gives only that type', () => {
    expect(generateAccessLog({ seed: 5, identities: 10, weeks: 3, inject: [] }).incidents).toEqual([]);
    const only = generateAccessLog({ seed: 5, identities: 20, weeks: 3, inject: ['failed-burst'], incidentsPerType: 4 });
    expect(only.incidents.map((i) => i.type)).toEqual(['failed-burst', 'failed-burst', 'failed-burst', 'failed-burst']);
  });
});
