/**
 * What a store's factory gets from the runtime: the state database and key ring (the embedded
 * store keeps its values there), the clock, the store settings and, when the audit log is open,
 * its store hook. A store from outside (Vault, a cloud) takes what it needs of these.
 *
 * @example
 * ```ts
 * const deps: StoreDeps = { state, ring, clock, settings, audit: storeAuditHook(audit, context) };
 * ```
 */
import type { Clock } from '../core/clock.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { Settings } from '../config/settings.js';
import type { StateDb } from '../state/db.js';
import type { StoreAuditHook } from './audit-hook.js';

export interface StoreDeps {
  readonly state: StateDb;
  readonly ring: KeyRing;
  readonly clock: Clock;
  /** The store settings (limits, retention, purge protection), from KEYTURN_* variables. */
  readonly settings: Pick<Settings, 'maxValueBytes' | 'maxVersions' | 'retentionDays' | 'purgeProtection'> & Partial<Pick<Settings, 'valueCacheMs'>>;
  /** Where store operations are audited (absent: not audited). */
  readonly audit?: StoreAuditHook;
}
