/**
 * Scores anomaly detectors on a log whose incidents are known (a synthetic log,
 * ./synthetic.ts): every event goes through every detector, and each anomaly is matched to the
 * injected incidents. Per anomaly type: how many incidents were detected (recall), and how many
 * anomalies matched nothing (false alarms), per 10,000 normal events (events that are part of no
 * incident). The quality bar of #17: recall >= 0.9 and fewer than 1 false alarm per 10,000 normal
 * events, per detector.
 *
 * Matching: an anomaly of type T detects an incident of type T when it names the incident's
 * identity (for a burst of bad tokens from one address, `address:<ip>` or that address) and its
 * time is within [start, end + slack]. An anomaly that detects nothing but was set off by an event
 * of another incident, or names the identity of another incident within that incident's time
 * span, is counted apart ("other incidents": a stolen token used from new networks is an unusual
 * source too), never as a false alarm: false alarms are about normal traffic.
 *
 * @example
 * ```ts
 * const log = generateAccessLog({ seed: 1 });
 * const result = evaluate([detectorRegistry.create({ type: 'failed-burst' }, {})], log);
 * console.log(formatTable(result));
 * ```
 */
import type { AccessEvent, Anomaly, AnomalyType, Detector } from './detector.js';
import type { Incident } from './synthetic.js';

/** The bar each detector must meet on the synthetic log. */
export const QUALITY_BAR = { minRecall: 0.9, maxFalseAlarmsPer10k: 1 } as const;

/** Default slack after an incident's last event within which an anomaly still detects it (15 minutes). */
export const DEFAULT_SLACK_MS = 15 * 60_000;

/** One type's score. */
export interface TypeScore {
  readonly type: AnomalyType;
  readonly incidents: number;
  readonly detected: number;
  /** detected / incidents (1 when there were none). */
  readonly recall: number;
  /** Every anomaly of the type. */
  readonly anomalies: number;
  /** Anomalies matching no incident of any type. */
  readonly falseAlarms: number;
  /** Anomalies set off by (or within) an incident of another type. */
  readonly otherIncidents: number;
  readonly falseAlarmsPer10k: number;
  /** The incidents no anomaly detected, and the first false alarms (for tuning). */
  readonly missed: readonly Incident[];
  readonly falseAlarmSamples: readonly Anomaly[];
}

export interface Evaluation {
  readonly events: number;
  /** Events that are part of no incident. */
  readonly normalEvents: number;
  /** One row per detector type, in ANOMALY_TYPES order of the detectors given. */
  readonly types: readonly TypeScore[];
}

export interface EvaluateOptions {
  /** How long after an incident's last event an anomaly still detects it (ms, default 15 minutes). */
  readonly slackMs?: number;
  /** How many false alarms to keep per type as samples (default 10). */
  readonly samples?: number;
}

/** The log to score: its events (an array or a stream) and its incidents (complete once the events are iterated). */
export interface LabelledLog {
  readonly events: Iterable<AccessEvent>;
  readonly incidents: readonly Incident[];
}

function sameActor(incident: Incident, a: Anomaly): boolean {
  if (a.actor === incident.actor) return true;
  return incident.actor.startsWith('address:') && a.address !== null && `address:${a.address}` === incident.actor;
}

/**
 * Runs every event of `log` through every detector and scores each detector's type.
 *
 * @example
 * ```ts
 * const r = evaluate(detectors, generateAccessLog({ seed: 2 }));
 * r.types.every((t) => meetsBar(t)); // the quality bar, per type
 * ```
 */
export function evaluate(detectors: readonly Detector[], log: LabelledLog, options: EvaluateOptions = {}): Evaluation {
  const slack = options.slackMs ?? DEFAULT_SLACK_MS;
  const keep = options.samples ?? 10;
  const anomalies: Anomaly[] = [];
  let events = 0;
  for (const e of log.events) {
    events++;
    for (const d of detectors) {
      const found = d.observe(e);
      for (let i = 0; i < found.length; i++) anomalies.push(found[i] as Anomaly);
    }
  }
  const incidents = log.incidents;
  const incidentSeqs = new Set<number>();
  for (const inc of incidents) for (const s of inc.seqs) incidentSeqs.add(s);
  const normalEvents = events - incidentSeqs.size;

  const types: AnomalyType[] = [];
  for (const d of detectors) if (!types.includes(d.type)) types.push(d.type);
  for (const a of anomalies) if (!types.includes(a.type)) types.push(a.type);

  const detected = new Set<Incident>();
  const rows = new Map<AnomalyType, { anomalies: number; falseAlarms: number; otherIncidents: number; samples: Anomaly[] }>();
  for (const t of types) rows.set(t, { anomalies: 0, falseAlarms: 0, otherIncidents: 0, samples: [] });
  for (const a of anomalies) {
    const row = rows.get(a.type);
    if (row === undefined) continue;
    row.anomalies++;
    const within = (inc: Incident): boolean => sameActor(inc, a) && a.time >= inc.start && a.time <= inc.end + slack;
    const hits = incidents.filter((inc) => inc.type === a.type && within(inc));
    if (hits.length > 0) {
      for (const h of hits) detected.add(h);
    } else if (incidentSeqs.has(a.seq) || incidents.some(within)) {
      row.otherIncidents++;
    } else {
      row.falseAlarms++;
      if (row.samples.length < keep) row.samples.push(a);
    }
  }

  return {
    events,
    normalEvents,
    types: types.map((type): TypeScore => {
      const row = rows.get(type) ?? { anomalies: 0, falseAlarms: 0, otherIncidents: 0, samples: [] };
      const of = incidents.filter((i) => i.type === type);
      const hit = of.filter((i) => detected.has(i)).length;
      return {
        type,
        incidents: of.length,
        detected: hit,
        recall: of.length === 0 ? 1 : hit / of.length,
        anomalies: row.anomalies,
        falseAlarms: row.falseAlarms,
        otherIncidents: row.otherIncidents,
        falseAlarmsPer10k: normalEvents === 0 ? 0 : (row.falseAlarms / normalEvents) * 10_000,
        missed: of.filter((i) => !detected.has(i)),
        falseAlarmSamples: row.samples,
      };
    }),
  };
}

/**
 * Whether a type's score meets the bar (recall >= 0.9, fewer than 1 false alarm per 10,000 normal events).
 *
 * @example
 * ```ts
 * meetsBar({ recall: 0.95, falseAlarmsPer10k: 0.2 }); // true
 * ```
 */
export function meetsBar(score: Pick<TypeScore, 'recall' | 'falseAlarmsPer10k'>): boolean {
  return score.recall >= QUALITY_BAR.minRecall && score.falseAlarmsPer10k < QUALITY_BAR.maxFalseAlarmsPer10k;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/**
 * The scores as a table for people, and with `details` the missed incidents and sample false alarms.
 *
 * @example
 * ```ts
 * console.log(formatTable(evaluate(detectors, log), { details: true }));
 * ```
 */
export function formatTable(result: Evaluation, options: { details?: boolean } = {}): string {
  const header = ['detector', 'incidents', 'detected', 'recall', 'anomalies', 'false alarms', 'per 10k normal', 'other incidents', 'bar'];
  const rows = result.types.map((t) => [
    t.type,
    String(t.incidents),
    String(t.detected),
    t.recall.toFixed(2),
    String(t.anomalies),
    String(t.falseAlarms),
    t.falseAlarmsPer10k.toFixed(3),
    String(t.otherIncidents),
    meetsBar(t) ? 'met' : t.recall < QUALITY_BAR.minRecall ? 'NOT met (recall)' : 'NOT met (false alarms)',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out = [
    `${result.events.toLocaleString('en-US')} events, ${result.normalEvents.toLocaleString('en-US')} normal (part of no incident); bar: recall >= ${QUALITY_BAR.minRecall}, false alarms < ${QUALITY_BAR.maxFalseAlarmsPer10k} per 10,000 normal events`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ];
  if (options.details === true) {
    for (const t of result.types) {
      for (const m of t.missed) out.push(`  missed ${t.type}: ${m.actor} ${iso(m.start)} .. ${iso(m.end)} (${m.seqs.length} events, first seq ${m.seqs[0] ?? '-'})`);
      for (const a of t.falseAlarmSamples) out.push(`  false alarm ${t.type}: seq ${a.seq} ${iso(a.time)} ${a.actor}: ${a.reason}`);
    }
  }
  return out.join('\n');
}
