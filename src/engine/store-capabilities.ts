/**
 * The store guarantees safe rotation relies on, checked where the engine is built: a store that
 * lacks one is refused with KT_STORE_NOT_ROTATION_SAFE before any run starts. What the engine
 * does with each:
 *
 * - `versions`: it stores the pending value as a version of its own and reads it back by id when
 *   a run resumes (a store that keeps only the latest value would lose the working credential);
 * - `idempotentPut`: a resumed run puts its pending value again under the same version id and must
 *   get the same version, not a second one;
 * - `compareAndSet`: pending becomes current only if current is still the version the run started
 *   from, so a racing `secret put` or a second worker is never overwritten.
 *
 * @example
 * ```ts
 * assertRotationSafe(store); // throws KT_STORE_NOT_ROTATION_SAFE naming what is missing
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { SecretStore, StoreCapabilities } from '../stores/store.js';

/** Every capability rotation needs, in the order the message names them. */
export const ROTATION_NEEDS = ['versions', 'idempotentPut', 'compareAndSet'] as const satisfies ReadonlyArray<keyof StoreCapabilities>;

/** The capabilities rotation needs that `capabilities` lacks (none: the store is safe to rotate with). */
export function missingForRotation(capabilities: StoreCapabilities): Array<keyof StoreCapabilities> {
  return ROTATION_NEEDS.filter((c) => capabilities[c] !== true);
}

/** Throws KT_STORE_NOT_ROTATION_SAFE unless `store` has every capability rotation needs. */
export function assertRotationSafe(store: Pick<SecretStore, 'kind' | 'capabilities'>): void {
  const missing = missingForRotation(store.capabilities);
  if (missing.length === 0) return;
  throw new KeyturnError('KT_STORE_NOT_ROTATION_SAFE', `the ${store.kind} store cannot be rotated with safely: it lacks ${missing.join(', ')}`, { details: { store: store.kind, missing } });
}
