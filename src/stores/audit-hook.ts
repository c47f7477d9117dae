/**
 * What a store tells the audit log, and when. The store knows nothing of the log; it calls this
 * hook. The embedded store calls it itself, in its write transactions; any other store gets it
 * through the wrapper in ./audited-store.ts, after each operation. The embedded store calls it:
 *
 * - inside each write's transaction, after the write, with outcome `success`: the event commits
 *   with the write or not at all, and a hook that throws rolls the write back (fail closed);
 * - after a value read (`get`), outside any transaction: a hook that throws withholds the value;
 * - after a write or read that failed, outside the rolled-back transaction, with outcome
 *   `failure` and the error code (a hook failure there is ignored: the caller gets the first error).
 *
 * Never a value: the store passes the value only to `hashValue`, and records its result.
 *
 * @example
 * ```ts
 * // As src/runtime/keyturn.ts wires it: openAudit (src/audit/runtime.ts), storeAuditHook (src/audit/hooks.ts).
 * const audit = await openAudit(state, ring, settings.audit, { context });
 * const store = new EmbeddedStore(state, ring, { audit: storeAuditHook(audit, context) });
 * ```
 */
import type { Transaction } from 'kysely';
import type { SecretValue, Stage } from '../core/types.js';
import type { Schema } from '../state/schema.js';

export type StoreAuditAction =
  'secret.put' | 'secret.read' | 'secret.metadata' | 'secret.delete' | 'secret.restore' | 'secret.purge' | 'secret.version.purge' | 'secret.stage' | `secret.stage.${Stage}`;

export interface StoreAuditEvent {
  readonly action: StoreAuditAction;
  /** The secret path; null when the path given was not a valid one (it is never echoed). */
  readonly path: string | null;
  readonly outcome: 'success' | 'failure';
  readonly versionId?: string | null;
  readonly errorCode?: string | null;
  /** `hmac-sha256:<key id>:<base64>` of the value written, from {@link StoreAuditHook.hashValue}. */
  readonly valueHmac?: string | null;
  /** A read the primary could not answer, answered by a read-only fallback replica (`replica:<name>`): recorded in the source, `api via replica:<name>`. */
  readonly servedBy?: string;
  /**
   * A put of a fields value: each field's own keyed hash, by field name, from
   * {@link StoreAuditHook.hashFields}. Not an audit event field: the value index keeps them
   * (src/scan/link/value-index.ts), so a leaked password is linked to the fields secret holding it.
   */
  readonly fieldHmacs?: Readonly<Record<string, string>> | null;
}

export interface StoreAuditHook {
  /** Records one event: in `trx` (a write's transaction) or on its own (`null`). Throws when it cannot. */
  record(trx: Transaction<Schema> | null, event: StoreAuditEvent): Promise<void>;
  /** The searchable keyed hash of a value (a string's UTF-8, or a fields object's RFC 8785 JSON); never the value. */
  hashValue(value: SecretValue): string;
  /** A fields value's per-field keyed hashes (null for a string value); optional: without it, fields are indexed by the whole value only. */
  hashFields?(value: SecretValue): Readonly<Record<string, string>> | null;
}
