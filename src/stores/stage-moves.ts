/**
 * The stage moves every store makes, on a store's own record of its stages (Vault's ledger, GCP's
 * aliases, OCI's and Azure's records, the Kubernetes index): `stage` lands on `to` (null: it is
 * taken off), and when `current` moves onto a version the version it left becomes `previous`, and
 * `pending` and `previous` leave the version it lands on. The embedded store makes the same moves
 * in SQL (src/stores/embedded/embedded-store.ts); the store contract checks them all alike.
 *
 * @example
 * ```ts
 * const stages: Partial<Record<Stage, number>> = { current: 1, pending: 2 };
 * moveStageIn(stages, 'current', 2); // true; stages is now { current: 2, previous: 1 }
 * ```
 */
import type { Stage } from '../core/types.js';

/**
 * Moves `stage` onto `to` in `stages` (changed in place); `same` compares two holders (default:
 * `===`; Azure's are objects compared by id). True when anything moved.
 */
export function moveStageIn<T>(stages: Partial<Record<Stage, T | null>>, stage: Stage, to: T | null, same: (a: T, b: T) => boolean = (a, b) => a === b): boolean {
  const is = (a: T | null | undefined, b: T | null): boolean => (a === null || a === undefined ? b === null : b !== null && same(a, b));
  const from = stages[stage] ?? null;
  if (is(from, to)) return false;
  if (to === null) delete stages[stage];
  else stages[stage] = to;
  if (stage === 'current' && to !== null) {
    if (from !== null) stages.previous = from;
    else if (is(stages.previous, to)) delete stages.previous;
    if (is(stages.pending, to)) delete stages.pending;
  }
  return true;
}
