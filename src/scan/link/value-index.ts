/**
 * The value index (`value_hmacs`, migration 0020): for every stored version, the keyed hash of its
 * value, and for a fields value the keyed hash of each top-level string field's value, each with the path and the
 * version id. `keyturn scan` links a found value to a managed secret by hashing the candidate under
 * every audit HMAC key and looking the hashes up here: one indexed query, no value opened.
 *
 * It is kept by the store's audit hook ({@link indexedValues}, wired in src/runtime/keyturn.ts):
 * a put's rows are written with its success event, in the put's transaction for the embedded store
 * (no event, no index row; no write, neither). The hashes are the ones audit events carry
 * (`valueHmac`), made with the same keys (src/audit/keys.ts), so the index holds nothing the audit
 * log does not already make searchable, plus the per-field hashes.
 *
 * @example
 * ```ts
 * const store = prepared.forAudit(indexedValues(storeAuditHook(audit, ctx), state, audit));
 * await store.put('prod/db', { username: 'app', password: 'hunter2' });
 * await lookupValueHmacs(state, audit.hashAll('hunter2')); // [{ path: 'prod/db', versionId: '…', field: 'password', … }]
 * ```
 */
import type { Kysely, Transaction } from 'kysely';
import type { SecretValue } from '../../core/types.js';
import type { StateDb } from '../../state/db.js';
import type { Schema } from '../../state/schema.js';
import type { StoreAuditEvent, StoreAuditHook } from '../../stores/audit-hook.js';

/** What hashes a value: the audit log (its active HMAC key). */
export interface ValueHasher {
  hash(value: string | Uint8Array): string;
}

/** One index row: the version whose value (or field `field`) has this keyed hash. */
export interface IndexedValue {
  readonly valueHmac: string;
  readonly path: string;
  readonly versionId: string;
  /** null: the whole value; else the field of a fields value. */
  readonly field: string | null;
  readonly createdAt: number;
}

/** Rows per lookup query (well under SQLite's and PostgreSQL's bound-parameter limits). */
const CHUNK = 500;

/**
 * A store audit hook that also keeps the value index: each successful put's whole-value hash and,
 * for a fields value, each non-empty field's hash, written where the put's event is (its
 * transaction, when it has one).
 *
 * @example
 * ```ts
 * new EmbeddedStore(state, ring, { audit: indexedValues(storeAuditHook(audit), state, audit) });
 * ```
 */
export function indexedValues(hook: StoreAuditHook, state: StateDb, hasher: ValueHasher): StoreAuditHook {
  return {
    hashValue: (value) => hook.hashValue(value),
    hashFields: (value: SecretValue) => {
      if (typeof value === 'string') return null;
      const out: Record<string, string> = {};
      for (const [name, v] of Object.entries(value)) if (typeof v === 'string' && v !== '') out[name] = hasher.hash(v);
      return out;
    },
    // Only a stored value is indexed: any other event (every read) is the inner hook's alone, without a promise of its own here.
    record: (trx, event) => (event.action === 'secret.put' && event.outcome === 'success' ? index(trx, event) : hook.record(trx, event)),
  };

  async function index(trx: Transaction<Schema> | null, event: StoreAuditEvent): Promise<void> {
    await hook.record(trx, event);
    if (!event.path || !event.versionId || !event.valueHmac) return;
    const now = Date.now();
    const rows = [{ value_hmac: event.valueHmac, path: event.path, version_id: event.versionId, field: '', created_at: now }];
    for (const [field, h] of Object.entries(event.fieldHmacs ?? {})) rows.push({ value_hmac: h, path: event.path, version_id: event.versionId, field, created_at: now });
    const db: Kysely<Schema> | Transaction<Schema> = trx ?? state.db;
    await db
      .insertInto('value_hmacs')
      .values(rows)
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/**
 * The index rows whose hash is one of `hashes` (each `hmac-sha256:<key id>:<base64>`), oldest first.
 *
 * @example
 * ```ts
 * const rows = await lookupValueHmacs(kt.state, kt.audit.hashAll(candidate));
 * ```
 */
export async function lookupValueHmacs(state: StateDb, hashes: readonly string[]): Promise<IndexedValue[]> {
  const unique = [...new Set(hashes)];
  const out: IndexedValue[] = [];
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await state.db
      .selectFrom('value_hmacs')
      .selectAll()
      .where('value_hmac', 'in', unique.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) out.push({ valueHmac: r.value_hmac, path: r.path, versionId: r.version_id, field: r.field === '' ? null : r.field, createdAt: Number(r.created_at) });
  }
  return out.sort((a, b) => a.createdAt - b.createdAt);
}
