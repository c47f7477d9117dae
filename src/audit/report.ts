/**
 * The audit report (`keyturn report audit`): over a time window, who read what, the rotations and
 * cleanups and how they ended, every failure and denial, break-glass use and access or config
 * changes, from the stored audit log, after verifying it (the same verification as `keyturn audit
 * verify`: it refuses to report on a log that does not verify). The window's events are read a
 * page at a time (repo.ts, 10,000 rows) and folded into counts; only the event lists (failures,
 * break-glass, access changes) keep events, each capped at {@link LIST_LIMIT} with the number
 * left out. The log holds no secret values (event.ts), so neither does the report.
 *
 * @example
 * ```ts
 * const report = await buildAuditReport(kt.audit, verified, { since: now - 24 * 3_600_000, until: now });
 * report.rotations[0]?.success; // successful rotations of the first path
 * ```
 */
import { decodeEvent, type AuditEvent } from './event.js';
import type { AuditLog } from './log.js';

/** The most events one list of the report keeps (the rest are counted in `omitted`). */
export const LIST_LIMIT = 1000;

export const AUDIT_REPORT_FORMAT = 'keyturn-audit-report/v1';

/** The verification the report was made after (an intact log's latest signed checkpoint). */
export interface ReportVerification {
  /** Entries in the log when verified (the report reads no further). */
  readonly size: number;
  /** Entries covered by the latest signed checkpoint. */
  readonly checkpointSize: number;
  /** Base64 root hash of that checkpoint. */
  readonly checkpointRoot: string;
  /** When it was signed (RFC 3339), or null when unknown. */
  readonly checkpointTime: string | null;
  readonly verifierKey: string;
}

export interface AccessRow {
  readonly actor: string;
  readonly path: string;
  readonly success: number;
  readonly denied: number;
  readonly failure: number;
}

export interface OperationRow {
  readonly path: string;
  readonly intent: number;
  readonly success: number;
  readonly failure: number;
  readonly denied: number;
  /** Error code -> count, sorted by code. */
  readonly errorCodes: Readonly<Record<string, number>>;
}

/** One event as the report lists it: no valueHmac, no prev (nothing about values). */
export interface ListedEvent {
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly action: string;
  readonly path: string | null;
  readonly outcome: string;
  readonly errorCode: string | null;
  readonly runId: string | null;
}

export interface EventList {
  readonly events: readonly ListedEvent[];
  /** Events of this kind past {@link LIST_LIMIT}, not listed. */
  readonly omitted: number;
}

export interface AuditReport {
  readonly format: typeof AUDIT_REPORT_FORMAT;
  readonly generatedAt: string;
  readonly window: { readonly since: string; readonly until: string };
  readonly verification: ReportVerification;
  /** Events in the window (and in the verified log). */
  readonly events: number;
  readonly reads: readonly AccessRow[];
  readonly rotations: readonly OperationRow[];
  readonly cleanups: readonly OperationRow[];
  readonly failures: EventList;
  readonly breakglass: EventList;
  readonly accessChanges: EventList;
  /** The `anomaly.<type>` events the detectors of `keyturn server` wrote (src/detect/): the identity as actor. */
  readonly anomalies: EventList;
}

export interface ReportWindow {
  /** Epoch ms, inclusive. */
  readonly since: number;
  /** Epoch ms, inclusive. */
  readonly until: number;
}

interface Ops {
  intent: number;
  success: number;
  failure: number;
  denied: number;
  errorCodes: Map<string, number>;
}

class Listing {
  readonly events: ListedEvent[] = [];
  omitted = 0;
  add(e: AuditEvent): void {
    if (this.events.length >= LIST_LIMIT) this.omitted++;
    else this.events.push({ seq: e.seq, time: e.time, actor: e.actor, action: e.action, path: e.path, outcome: e.outcome, errorCode: e.errorCode, runId: e.runId });
  }
  done(): EventList {
    return { events: this.events, omitted: this.omitted };
  }
}

const byKey = <T>(m: Map<string, T>): [string, T][] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

function opRows(m: Map<string, Ops>): OperationRow[] {
  return byKey(m).map(([path, o]) => ({ path, intent: o.intent, success: o.success, failure: o.failure, denied: o.denied, errorCodes: Object.fromEntries(byKey(o.errorCodes)) }));
}

function countOp(m: Map<string, Ops>, e: AuditEvent): void {
  const key = e.path ?? '';
  let o = m.get(key);
  if (o === undefined) m.set(key, (o = { intent: 0, success: 0, failure: 0, denied: 0, errorCodes: new Map() }));
  o[e.outcome]++;
  if (e.errorCode !== null) o.errorCodes.set(e.errorCode, (o.errorCodes.get(e.errorCode) ?? 0) + 1);
}

/**
 * Reads the events of the window from a log already verified up to `verification.size`, a page at a
 * time, and folds them into the report. An entry that does not decode cannot be in a verified log
 * (it would not have been appended); it is skipped rather than guessed at.
 */
export async function buildAuditReport(log: AuditLog, verification: ReportVerification, window: ReportWindow, now: number): Promise<AuditReport> {
  const reads = new Map<string, { actor: string; path: string; success: number; denied: number; failure: number }>();
  const rotations = new Map<string, Ops>();
  const cleanups = new Map<string, Ops>();
  const failures = new Listing();
  const breakglass = new Listing();
  const accessChanges = new Listing();
  const anomalies = new Listing();
  let events = 0;
  // Event times come from the writers' clocks, so they are not strictly in seq order: start at the
  // first seq at or after the window (times before it are filtered below) and read to the verified size.
  const from = (await log.firstSeqSince(window.since)) ?? verification.size;
  await log.pages(
    from,
    (rows) => {
      for (const row of rows) {
        if (row.time < window.since || row.time > window.until) continue;
        let e: AuditEvent;
        try {
          e = decodeEvent(Buffer.from(row.leaf, 'utf8'));
        } catch {
          continue;
        }
        events++;
        if (e.action === 'secret.read') {
          const key = `${e.actor}\u0000${e.path ?? ''}`;
          let r = reads.get(key);
          if (r === undefined) reads.set(key, (r = { actor: e.actor, path: e.path ?? '', success: 0, denied: 0, failure: 0 }));
          if (e.outcome !== 'intent') r[e.outcome]++;
        } else if (e.action === 'secret.rotate') countOp(rotations, e);
        else if (e.action === 'secret.cleanup') countOp(cleanups, e);
        if (e.outcome === 'failure' || e.outcome === 'denied') failures.add(e);
        if (e.action.startsWith('breakglass.')) breakglass.add(e);
        if (e.action.startsWith('anomaly.')) anomalies.add(e);
        // Refused requests (access.denied, access.authenticate) are failures, not changes.
        else if ((e.action.startsWith('access.') && e.action !== 'access.denied' && e.action !== 'access.authenticate') || e.action.startsWith('config.')) accessChanges.add(e);
      }
    },
    verification.size,
  );
  return {
    format: AUDIT_REPORT_FORMAT,
    generatedAt: new Date(now).toISOString(),
    window: { since: new Date(window.since).toISOString(), until: new Date(window.until).toISOString() },
    verification,
    events,
    reads: byKey(reads).map(([, r]) => r),
    rotations: opRows(rotations),
    cleanups: opRows(cleanups),
    failures: failures.done(),
    breakglass: breakglass.done(),
    accessChanges: accessChanges.done(),
    anomalies: anomalies.done(),
  };
}
