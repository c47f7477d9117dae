/**
 * The ledger: Keyturn's record of one Vault secret, kept as the data of a KV v2 entry beside it
 * (`<mount>/data/<ledgerFolder>/<path>`) and only ever written with Vault's check-and-set (`cas`)
 * on the ledger's own version. It holds what Vault has no place for: each version's Keyturn id
 * and kind, the stages (by Vault version number), the secret's metadata, the deletion mark, and
 * a put's claim (the number it is about to write). One `cas` write changes all of it at once, so
 * stage moves are compare-and-sets that Vault itself decides. The functions here are pure.
 *
 * @example
 * ```ts
 * const next = moveInLedger(ledger, 'current', 2); // 1 becomes previous
 * ```
 */
import type { SecretMetadata, Stage } from '../../core/types.js';
import { moveStageIn } from '../stage-moves.js';

export interface LedgerVersion {
  id: string;
  kind: 'string' | 'json';
}

/** A put in progress: the version number it writes next, its id and kind, and the stages it puts on it. */
export interface LedgerClaim {
  number: number;
  id: string;
  kind: 'string' | 'json';
  stages: Stage[];
}

export interface Ledger {
  format: 1;
  /** Vault version number → its Keyturn id and kind (only versions Vault still keeps). */
  versions: Record<string, LedgerVersion>;
  /** Stage → Vault version number. */
  stages: Partial<Record<Stage, number>>;
  /** The highest Vault version number the ledger accounts for. */
  last: number;
  claim: LedgerClaim | null;
  meta: SecretMetadata;
  /** Soft delete (Vault has no deleted state for a whole secret, nor a recovery window). */
  deleted: { at: number; purgeAfter: number } | null;
}

export function emptyLedger(): Ledger {
  return { format: 1, versions: {}, stages: {}, last: 0, claim: null, meta: { type: null, description: null, owner: null, tags: {} }, deleted: null };
}

/** The id Keyturn gives a version written by another Vault client. */
export function foreignId(n: number): string {
  return `vault-${n}`;
}

/** A ledger read back from Vault (a value that is not one gives null). */
export function parseLedger(data: unknown): Ledger | null {
  if (data === null || typeof data !== 'object') return null;
  const l = data as Partial<Ledger>;
  if (l.format !== 1 || typeof l.versions !== 'object' || typeof l.last !== 'number') return null;
  return { ...emptyLedger(), ...l, meta: { ...emptyLedger().meta, ...(l.meta ?? {}) } } as Ledger;
}

/** The version number holding `id`, or null. */
export function numberOf(ledger: Ledger, id: string): number | null {
  for (const [n, v] of Object.entries(ledger.versions)) if (v.id === id) return Number(n);
  return null;
}

/** The stages each version number holds. */
export function stagesByNumber(ledger: Ledger): Map<number, Stage[]> {
  const out = new Map<number, Stage[]>();
  for (const stage of ['current', 'pending', 'previous'] as const) {
    const n = ledger.stages[stage];
    if (n !== undefined) out.set(n, [...(out.get(n) ?? []), stage]);
  }
  return out;
}

/**
 * Moves `stage` to version `to` (null: off every version), with the side moves every store
 * makes: `current` leaving a version labels it `previous`, and clears `pending` from (and
 * `previous` off) the version it lands on.
 */
export function moveInLedger(ledger: Ledger, stage: Stage, to: number | null): Ledger {
  const stages = { ...ledger.stages };
  return moveStageIn(stages, stage, to) ? { ...ledger, stages } : ledger;
}

/** The ledger once a claim's version has landed in Vault: recorded, with its stages put on it. */
export function applyClaim(ledger: Ledger, claim: LedgerClaim): Ledger {
  let next: Ledger = { ...ledger, versions: { ...ledger.versions, [claim.number]: { id: claim.id, kind: claim.kind } }, last: Math.max(ledger.last, claim.number), claim: null };
  for (const stage of claim.stages) next = moveInLedger(next, stage, claim.number);
  return next;
}

/** The ledger with versions Vault no longer keeps (removed past max_versions, or destroyed) dropped, and stages on them cleared. */
export function keepOnly(ledger: Ledger, live: ReadonlySet<number>): Ledger {
  const versions = Object.fromEntries(Object.entries(ledger.versions).filter(([n]) => live.has(Number(n))));
  const stages = Object.fromEntries(Object.entries(ledger.stages).filter(([, n]) => live.has(n))) as Ledger['stages'];
  return { ...ledger, versions, stages };
}
