/**
 * The anomaly detector interface: one per kind of unusual access, one file each under
 * `src/detect/detectors/`, added through one entry of the registry (`./registry.ts`).
 *
 * A detector sees the access events the audit log records, in log order, one at a time
 * ({@link AccessEvent}: who, what, which path, from which address and user agent, how it ended,
 * when), learns each identity's normal behaviour from them, and says when one is not normal. It
 * keeps bounded memory: at most `maxIdentities` identities (the least recently seen is forgotten
 * first), and a fixed amount per identity, whatever the traffic. It never sees a secret value (no
 * event carries one).
 *
 * Time is the event's, never the wall clock's: replaying a log gives the same anomalies, and a
 * synthetic log of weeks runs in seconds (src/detect/synthetic.ts). Events come in log order,
 * which is nearly time order (several writers' clocks differ by a little): a detector accepts an
 * event a little older than the last one it saw.
 *
 * @example
 * ```ts
 * const d = detectorRegistry.create({ type: 'failed-burst' }, {});
 * for (const e of events) for (const a of d.observe(e)) console.log(a.type, a.actor, a.reason);
 * ```
 */

import type { Capability } from '../access/capabilities.js';

/** What the access was, as a capability of the path policies (src/access/capabilities.ts); null for events that are not an access to a path. */
export type AccessCapability = Capability | null;

/**
 * A change of access that widens it: a policy that now allows more, or a token made with (or
 * given) more than before. Attached by the runner (./runner.ts) to the audit event of the change.
 */
export interface Widening {
  /** The identities (`token:<id>` actors) whose access grew. */
  readonly actors: readonly string[];
  /** Whether `capability` on `path` is allowed to those identities only because of this change. */
  newlyAllowed(path: string, capability: Capability): boolean;
  /** What changed, for the anomaly's reason: `policy ops`, `token tk_1`. */
  readonly what: string;
}

/** One audit event as the detectors see it. */
export interface AccessEvent {
  /** The audit log's seq of the event (a synthetic log numbers its events the same way). */
  readonly seq: number;
  /** When (ms since the epoch), the event's own time. */
  readonly time: number;
  /** Who: `token:tk_…`, `user:alice`, `system:scheduler`. The identity detectors learn per. */
  readonly actor: string;
  /** Through what: `api`, `cli`, `engine`, `agent:web-1`. */
  readonly source: string;
  /** The audit action: `secret.read`, `secret.put`, `access.authenticate`, `access.denied`, `access.policy.put`, ... */
  readonly action: string;
  /** The capability the action used on `path` (null when it is not an access to a path). */
  readonly capability: AccessCapability;
  readonly path: string | null;
  readonly outcome: 'intent' | 'success' | 'failure' | 'denied';
  readonly errorCode: string | null;
  /** The client's network address (an IPv4 or IPv6 literal) when the event came through the API; else null. */
  readonly address: string | null;
  /** The client's User-Agent header when it sent one; else null. */
  readonly userAgent: string | null;
  /** Present on a policy or token change that widens access. */
  readonly widening?: Widening;
}

/** The kinds of anomaly, one per detector. */
export const ANOMALY_TYPES = ['unusual-time', 'unusual-source', 'excessive-access', 'failed-burst', 'privilege-escalation', 'concurrent-use'] as const;
export type AnomalyType = (typeof ANOMALY_TYPES)[number];

/** What a detector found: never a value; the reason names the identity, path, address and figures only. */
export interface Anomaly {
  readonly type: AnomalyType;
  /** The event that set it off (its seq and time). */
  readonly seq: number;
  readonly time: number;
  /** The identity concerned (for a burst per source: the last actor seen from it, or `address:<ip>` when none authenticated). */
  readonly actor: string;
  /** The secret path concerned, when there is one. */
  readonly path: string | null;
  readonly address: string | null;
  /** How far from normal, at least 1 (1: just over the threshold); comparable within one type only. */
  readonly score: number;
  /** One sentence for people: `token:tk_1 read prod/db at 03:00 UTC Sunday, an hour it was never active in 4 weeks`. */
  readonly reason: string;
  /** Figures behind the reason (strings and numbers only), for --json and the notification. */
  readonly details: Readonly<Record<string, string | number>>;
}

/** One detector: sees events in order, returns what is anomalous about each (usually nothing). */
export interface Detector {
  readonly type: AnomalyType;
  /** Learns from `event` and returns the anomalies it sets off (an empty array when none). */
  observe(event: AccessEvent): readonly Anomaly[];
  /** How many identities (or sources) it keeps state for now: never above its `maxIdentities`. */
  tracked(): number;
}

/** What every detector's config has besides its own parameters. */
export interface DetectorCommon {
  /** At most this many identities (or sources) are kept; the least recently seen is forgotten first. */
  readonly maxIdentities: number;
}
