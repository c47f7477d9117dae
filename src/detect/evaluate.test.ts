import { describe, expect, it } from 'vitest';
import type { AccessEvent, Anomaly, AnomalyType, Detector } from './detector.js';
import { evaluate, formatTable, meetsBar } from './evaluate.js';
import { generateAccessLog, streamAccessLog, type Incident } from './synthetic.js';

function anomaly(type: AnomalyType, e: AccessEvent, actor = e.actor): Anomaly {
  return { type, seq: e.seq, time: e.time, actor, path: e.path, address: e.address, score: 1, reason: 'test', details: {} };
}

/** Flags the `at`-th event of each incident of `type` (naming the incident's identity), and nothing else. */
function oracle(type: AnomalyType, incidents: readonly Incident[], at = 0): Detector {
  const bySeq = new Map<number, Incident>();
  for (const i of incidents) if (i.type === type && i.seqs[at] !== undefined) bySeq.set(i.seqs[at] as number, i);
  return {
    type,
    observe: (e) => {
      const i = bySeq.get(e.seq);
      return i === undefined ? [] : [anomaly(type, e, i.actor.startsWith('address:') ? `address:${e.address}` : i.actor)];
    },
    tracked: () => 0,
  };
}

/** Flags every `every`-th event (by seq) as `type`. */
function noisy(type: AnomalyType, every: number): Detector {
  return { type, observe: (e) => (e.seq % every === 0 ? [anomaly(type, e)] : []), tracked: () => 0 };
}

describe('evaluate', () => {
  const log = generateAccessLog({ seed: 7, identities: 30, weeks: 3, incidentsPerType: 5 });

  it('seed 7: a detector that flags each incident once has recall 1 and no false alarms; the normal events are those of no incident', () => {
    const r = evaluate([oracle('failed-burst', log.incidents), oracle('concurrent-use', log.incidents, 2)], log);
    const inIncidents = new Set(log.incidents.flatMap((i) => i.seqs)).size;
    expect(r.events).toBe(log.events.length);
    expect(r.normalEvents).toBe(log.events.length - inIncidents);
    expect(r.types.map((t) => t.type)).toEqual(['failed-burst', 'concurrent-use']);
    for (const t of r.types) {
      expect(t.incidents).toBeGreaterThan(0);
      expect(t).toMatchObject({ detected: t.incidents, recall: 1, falseAlarms: 0, falseAlarmsPer10k: 0, missed: [] });
      expect(meetsBar(t)).toBe(true);
    }
    // Bursts of bad tokens from one address are matched by address.
    expect(log.incidents.some((i) => i.type === 'failed-burst' && i.actor.startsWith('address:'))).toBe(true);
  });

  it('seed 7: anomalies on normal traffic are false alarms, counted per 10,000 normal events; the table says the bar is not met', () => {
    const r = evaluate([noisy('unusual-time', 1000)], log);
    const [t] = r.types;
    const incidentSeqs = new Set(log.incidents.flatMap((i) => i.seqs));
    const flagged = log.events.filter((e) => e.seq % 1000 === 0);
    const named = (i: Incident, e: AccessEvent): boolean => i.actor === e.actor || i.actor === `address:${e.address}`;
    const onIncidents = flagged.filter((e) => incidentSeqs.has(e.seq) || log.incidents.some((i) => named(i, e) && e.time >= i.start && e.time <= i.end + 15 * 60_000));
    expect(t?.anomalies).toBe(flagged.length);
    expect(t?.falseAlarms).toBe(flagged.length - onIncidents.length);
    expect(t?.falseAlarms).toBeGreaterThan(50);
    expect(t?.falseAlarmsPer10k).toBeCloseTo(((t?.falseAlarms ?? 0) / r.normalEvents) * 10_000, 10);
    expect(t?.falseAlarmSamples).toHaveLength(10);
    expect(meetsBar(t ?? { recall: 0, falseAlarmsPer10k: 0 })).toBe(false);
    const table = formatTable(r, { details: true });
    expect(table).toMatch(/unusual-time .*NOT met/);
    expect(table).toMatch(/false alarm unusual-time: seq \d+/);
  });

  it('seed 7: an anomaly set off by an incident of another type is not a false alarm; one long after the incident is', () => {
    const burst = log.incidents.find((i) => i.type === 'excessive-access');
    expect(burst).toBeDefined();
    const firstSeq = burst?.seqs[0] ?? -1;
    const later = log.events.find((e) => e.actor === burst?.actor && e.time > (burst?.end ?? 0) + 3_600_000 && !log.incidents.some((i) => i.seqs.includes(e.seq)));
    expect(later).toBeDefined();
    const d: Detector = {
      type: 'unusual-source',
      observe: (e) => (e.seq === firstSeq || e.seq === later?.seq ? [anomaly('unusual-source', e)] : []),
      tracked: () => 0,
    };
    const [t] = evaluate([d], log).types;
    expect(t).toMatchObject({ anomalies: 2, otherIncidents: 1, falseAlarms: 1 });
  });

  it('seed 7: an anomaly too late, or naming another identity, does not detect the incident', () => {
    const inc = log.incidents.find((i) => i.type === 'unusual-time') as Incident;
    const lateEvent = log.events.find((e) => e.time > inc.end + 16 * 60_000) as AccessEvent;
    const d: Detector = {
      type: 'unusual-time',
      observe: (e) => (e.seq === inc.seqs[0] ? [anomaly('unusual-time', e, 'user:someone-else@example.com')] : e.seq === lateEvent.seq ? [anomaly('unusual-time', e, inc.actor)] : []),
      tracked: () => 0,
    };
    const [t] = evaluate([d], log, { slackMs: 15 * 60_000 }).types;
    expect(t?.detected).toBe(0);
    expect(t?.missed).toContain(inc);
  });

  it('seed 8: scores a streamed log the same as the whole one', () => {
    const options = { seed: 8, identities: 12, weeks: 3, incidentsPerType: 3 };
    const whole = generateAccessLog(options);
    const stream = streamAccessLog(options);
    const a = evaluate([oracle('unusual-source', whole.incidents)], whole);
    const b = evaluate([oracle('unusual-source', whole.incidents)], { events: stream.events(), incidents: stream.incidents });
    expect(b).toEqual(a);
  });
});
