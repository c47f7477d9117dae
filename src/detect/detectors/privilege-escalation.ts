/**
 * The `privilege-escalation` detector: an identity uses access it has only just been given.
 *
 * A policy or token change that widens access carries a {@link Widening} (which identities'
 * access grew, and `newlyAllowed(path, capability)`). The detector keeps, per identity, the
 * widenings of the last `windowHours` (at most `maxWidenings`, the oldest dropped first); a
 * successful access by that identity whose path and capability a kept widening newly allows is
 * an anomaly: `token:tk_x read prod/db/admin 5 min after policy ops widened it`. Each widening
 * is reported at most once per identity (its first use), whatever the identity does with it
 * afterwards.
 *
 * There is no learning period: the widening itself is the baseline (the access was not allowed
 * before it), so the first access after it means as much on an identity's first day as after
 * months; a token created with wide access and used at once, the pattern this is for, has no
 * history at all.
 *
 * @example
 * ```ts
 * const d = createPrivilegeEscalationDetector(privilegeEscalationConfigSchema.parse({ type: 'privilege-escalation' }));
 * d.observe(policyChange); // [] (remembers the widening)
 * d.observe(read); // [{ type: 'privilege-escalation', reason: 'token:tk_x read prod/db/admin 5 min after policy ops widened it', ... }]
 * ```
 */
import { z } from 'zod';
import type { Capability } from '../../access/capabilities.js';
import type { AccessEvent, Anomaly, Detector, Widening } from '../detector.js';
import { BoundedMap } from '../lru.js';

const HOUR = 3_600_000;
const NONE: readonly Anomaly[] = [];

export const privilegeEscalationConfigSchema = z
  .object({
    type: z.literal('privilege-escalation'),
    maxIdentities: z.number().int().min(1).default(10000).describe('identities with recent widenings kept; the least recently seen is forgotten first'),
    windowHours: z.number().positive().default(24).describe('hours after a widening during which using what it newly allows is an anomaly'),
    maxWidenings: z.number().int().min(1).max(64).default(4).describe('recent widenings kept per identity; the oldest is dropped first'),
  })
  .strict();

export type PrivilegeEscalationConfig = z.output<typeof privilegeEscalationConfigSchema>;

/** A widening as one identity's state keeps it. */
interface Recent {
  readonly widening: Widening;
  readonly time: number;
  readonly seq: number;
  /** Whether it was already reported for this identity. */
  reported: boolean;
}

/** The identity of a widening's actor: `token:tk_1`, also when given as `tk_1`. */
function identityOf(actor: string): string {
  return actor.includes(':') ? actor : `token:${actor}`;
}

/** `<1 min`, `5 min`, `3 h 20 min`. */
function elapsedText(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return '<1 min';
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h${minutes % 60 === 0 ? '' : ` ${minutes % 60} min`}`;
}

/**
 * Makes the detector from its parsed config.
 *
 * @example
 * ```ts
 * createPrivilegeEscalationDetector(privilegeEscalationConfigSchema.parse({ type: 'privilege-escalation', windowHours: 4 })).tracked(); // 0
 * ```
 */
export function createPrivilegeEscalationDetector(config: PrivilegeEscalationConfig): Detector {
  const windowMs = config.windowHours * HOUR;
  const identities = new BoundedMap<string, Recent[]>(config.maxIdentities);

  /** The access `e` against the identity's recent widenings: the anomaly it sets off, if any. */
  const check = (e: AccessEvent, capability: Capability, path: string): readonly Anomaly[] => {
    const recent = identities.get(e.actor);
    if (recent === undefined) return NONE;
    let hit: Recent | undefined;
    for (let i = recent.length - 1; i >= 0; i--) {
      const r = recent[i]!;
      if (e.time - r.time > windowMs) {
        recent.splice(i, 1);
        continue;
      }
      if (r.reported || !r.widening.newlyAllowed(path, capability)) continue;
      r.reported = true;
      if (hit === undefined || r.time > hit.time) hit = r;
    }
    if (recent.length === 0) identities.delete(e.actor);
    if (hit === undefined) return NONE;
    const elapsed = Math.max(0, e.time - hit.time);
    const score = Math.round((2 - elapsed / windowMs) * 100) / 100;
    return [
      {
        type: 'privilege-escalation',
        seq: e.seq,
        time: e.time,
        actor: e.actor,
        path,
        address: e.address,
        score,
        reason: `${e.actor} ${capability} ${path} ${elapsedText(elapsed)} after ${hit.widening.what} widened it`,
        details: { widening: hit.widening.what, wideningSeq: hit.seq, capability, elapsedMinutes: Math.floor(elapsed / 60_000), windowHours: config.windowHours },
      },
    ];
  };

  /** Keeps the widening `w` (of the change `e`) for each identity whose access grew. */
  const remember = (e: AccessEvent, w: Widening): void => {
    for (const actor of new Set(w.actors.map(identityOf))) {
      const recent = identities.getOrCreate(actor, () => []);
      for (let i = recent.length - 1; i >= 0; i--) if (e.time - recent[i]!.time > windowMs) recent.splice(i, 1);
      recent.push({ widening: w, time: e.time, seq: e.seq, reported: false });
      if (recent.length > config.maxWidenings) recent.shift();
    }
  };

  return {
    type: 'privilege-escalation',
    tracked: () => identities.size,
    observe(e: AccessEvent): readonly Anomaly[] {
      const found = e.capability !== null && e.path !== null && e.outcome === 'success' ? check(e, e.capability, e.path) : NONE;
      if (e.widening !== undefined && e.outcome === 'success') remember(e, e.widening);
      return found;
    },
  };
}
