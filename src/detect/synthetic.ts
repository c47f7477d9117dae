/**
 * A seeded synthetic access log, to prove the anomaly detectors work: weeks of normal behaviour
 * for many identities with daily cycles (people in working hours, services day and night, CI
 * tokens in bursts from many runners, policy changes, strangers' bad tokens), with anomalies of
 * each type injected at known times after a learning period, each recorded as an {@link Incident}
 * (type, identity, time span, the seqs of its events). The same seed gives the same log; any seed
 * gives a log of the same kind, so nothing is tuned to one log (./evaluate.ts scores detectors on it).
 *
 * The log is made a day at a time (each identity's day from its own seeded stream), so it can be
 * streamed ({@link streamAccessLog}) for logs of millions of events; {@link generateAccessLog}
 * collects the same stream.
 *
 * The parts: ./synthetic/profiles.ts (identities and networks), ./synthetic/normal.ts (normal
 * days), ./synthetic/incidents.ts (the injected anomalies).
 *
 * @example
 * ```ts
 * const { events, incidents } = generateAccessLog({ seed: 1 });
 * events.length; // about 200,000 over 4 weeks for 60 identities
 * incidents.filter((i) => i.type === 'unusual-time').length; // 10
 * ```
 */
import { ANOMALY_TYPES, type AccessEvent, type AnomalyType } from './detector.js';
import { planIncidents } from './synthetic/incidents.js';
import { normalDay, type Draft } from './synthetic/normal.js';
import { DAY, HOUR, makeWorld } from './synthetic/profiles.js';

/** An injected anomaly: what the detector of `type` should report. */
export interface Incident {
  readonly type: AnomalyType;
  /** The identity (`token:tk_…`, `user:…`), or `address:<ip>` for a burst of bad tokens from one address. */
  readonly actor: string;
  /** The time of its first and last event (ms). */
  readonly start: number;
  readonly end: number;
  /** The seqs of its events, in order. */
  readonly seqs: number[];
}

export interface SyntheticOptions {
  /** The seed: the same seed, the same log. */
  readonly seed: number;
  /** How many identities (default 60): half people, three tenths services, the rest CI tokens. */
  readonly identities?: number;
  /** How many weeks (default 4). */
  readonly weeks?: number;
  /** When the log starts, ms (default Monday 2025-01-06 00:00 UTC). */
  readonly start?: number;
  /** Which anomalies to inject (default all of ANOMALY_TYPES; [] for a normal log only). */
  readonly inject?: readonly AnomalyType[];
  /** How many incidents of each type (default 10). */
  readonly incidentsPerType?: number;
  /** The learning period: days of normal behaviour only (default 14); incidents start the day after, when every identity has been seen for all of it. */
  readonly learningDays?: number;
}

/** A whole synthetic log. */
export interface SyntheticLog {
  /** In time order; `seq` is the index. */
  readonly events: AccessEvent[];
  readonly incidents: Incident[];
}

/** A log being streamed: iterate `events()` once; each incident's `seqs` is complete once its events are out. */
export interface SyntheticStream {
  readonly incidents: readonly Incident[];
  /** When the log starts and ends (ms, end excluded). */
  readonly start: number;
  readonly end: number;
  events(): Generator<AccessEvent>;
}

/** Default start: a Monday, midnight UTC. */
export const SYNTHETIC_START = Date.UTC(2025, 0, 6);

interface Pending {
  readonly draft: Draft;
  /** The incident's index, -1 for normal traffic. */
  readonly incident: number;
}

/**
 * The log of `options`, a day at a time.
 *
 * @example
 * ```ts
 * const log = streamAccessLog({ seed: 2, identities: 300 });
 * let n = 0;
 * for (const e of log.events()) n += e.action === 'secret.read' ? 1 : 0;
 * ```
 */
export function streamAccessLog(options: SyntheticOptions): SyntheticStream {
  const seed = options.seed;
  const start = options.start ?? SYNTHETIC_START;
  const days = Math.max(1, Math.round((options.weeks ?? 4) * 7));
  const end = start + days * DAY;
  const world = makeWorld(seed, options.identities ?? 60, start);
  const planned = planIncidents({
    seed,
    world,
    start,
    days,
    learningDays: options.learningDays ?? 14,
    perType: options.incidentsPerType ?? 10,
    inject: options.inject ?? ANOMALY_TYPES,
  });
  const incidents: Incident[] = planned.map((p) => {
    const t = p.drafts.map((d) => d.time);
    return { type: p.type, actor: p.actor, start: Math.min(...t), end: Math.max(...t), seqs: [] };
  });
  let used = false;
  function* events(): Generator<AccessEvent> {
    if (used) throw new Error('streamAccessLog: events() can be iterated once');
    used = true;
    let buffer: Pending[] = [];
    let seq = 0;
    for (let d = 0; d < days; d++) {
      const drafts: Draft[] = [];
      normalDay(seed, world, start, d, drafts);
      for (const draft of drafts) buffer.push({ draft, incident: -1 });
      planned.forEach((p, i) => {
        if (p.chunk === d) for (const draft of p.drafts) buffer.push({ draft, incident: i });
      });
      buffer.sort((a, b) => a.draft.time - b.draft.time);
      // Later days' events start no earlier than 14 h before their UTC day (the furthest time zone).
      const cut = d === days - 1 ? Infinity : start + (d + 1) * DAY - 14 * HOUR;
      let i = 0;
      for (; i < buffer.length; i++) {
        const { draft, incident } = buffer[i] as Pending;
        if (draft.time >= cut) break;
        if (draft.time < start || draft.time >= end) continue;
        draft.seq = seq++;
        if (incident >= 0) incidents[incident]?.seqs.push(draft.seq);
        yield draft;
      }
      buffer = buffer.slice(i);
    }
  }
  return { incidents, start, end, events };
}

/**
 * The whole log of `options` in memory: events in time order (seq = index) and the incidents.
 *
 * @example
 * ```ts
 * const { events, incidents } = generateAccessLog({ seed: 3, inject: ['failed-burst'] });
 * ```
 */
export function generateAccessLog(options: SyntheticOptions): SyntheticLog {
  const stream = streamAccessLog(options);
  const events = [...stream.events()];
  return { events, incidents: [...stream.incidents] };
}
