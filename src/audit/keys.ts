/**
 * The audit log's own keys, kept in `audit_keys`, each sealed by the key ring (AAD: purpose
 * `audit-key` and the key's id), so the state database alone opens none of them:
 *
 * - the **signer**: the Ed25519 checkpoint key (C2SP signer key `PRIVATE+KEY+<origin>+...`),
 *   id `sk_<key id hex>`, with its verifier key in the `public` column;
 * - the **HMAC keys**: 32 random bytes each, id `hk_<8 hex>`, one active. Searchable fields are
 *   `hmac-sha256:<key id>:<base64>` under the active one; older keys stay to search older events;
 * - the **MAC key** (kind `mac`, id `mk_<8 hex>`, sealed with its own purpose `audit-mac-key`):
 *   32 random bytes that authenticate the unsigned rows (each leaf, the head; see mac.ts), so a
 *   database writer without the root key cannot forge what the next checkpoint will sign.
 *   Created with the others, or on first open of a log from before it (AuditLog.open).
 *
 * No key serves two purposes: the signing key is never used for HMACs, and no key ever appears in an event, a log or an error.
 *
 * @example
 * ```ts
 * const keys = await loadAuditKeys(state.db, ring);
 * valueHmac(keys.activeHmac, keys.hmac.get(keys.activeHmac)!, Buffer.from('hunter2'));
 * ```
 */
import { createHmac, randomBytes } from 'node:crypto';
import { secretKeyOf } from '../crypto/key-object.js';
import type { Kysely, Transaction } from 'kysely';
import { KeyturnError } from '../core/errors.js';
import type { KeyRing } from '../crypto/keyring.js';
import type { Schema } from '../state/schema.js';
import { generateNoteKey, hex8, parseSignerKey } from './note-key.js';
import type { NoteSigner } from './note-key.js';

type Db = Kysely<Schema> | Transaction<Schema>;

const PURPOSE = 'audit-key';
const MAC_PURPOSE = 'audit-mac-key';
const HMAC_KEY_BYTES = 32;

export interface AuditKeys {
  /** Opened (and checked against its stored verifier key) on first use. */
  readonly signer: NoteSigner;
  /** The checkpoint verifier key (C2SP vkey): safe to publish. */
  readonly verifierKey: string;
  /** HMAC keys by id, newest last. */
  readonly hmac: ReadonlyMap<string, Buffer>;
  readonly activeHmac: string;
  /** The row MAC key; null for a log from before it (AuditLog.open adds it). */
  readonly mac: Buffer | null;
}

/**
 * `hmac-sha256:<key id>:<base64>` of `bytes` under one HMAC key.
 *
 * @example
 * ```ts
 * valueHmac('hk_1a2b3c4d', key, Buffer.from('hunter2')); // 'hmac-sha256:hk_1a2b3c4d:…='
 * ```
 */
export function valueHmac(keyId: string, key: Buffer, bytes: Uint8Array): string {
  return `hmac-sha256:${keyId}:${createHmac('sha256', secretKeyOf(key)).update(bytes).digest('base64')}`;
}

/** Opens the audit keys; null when the log has none yet (a home from before the audit log). */
export async function loadAuditKeys(db: Db, ring: KeyRing): Promise<AuditKeys | null> {
  const rows = await db.selectFrom('audit_keys').selectAll().orderBy('created_at').orderBy('id').execute();
  const signerRow = rows.find((r) => r.kind === 'signer' && Number(r.active) === 1);
  if (signerRow === undefined) return null;
  // The signer is opened when a checkpoint is first signed: deriving an Ed25519 key costs a few
  // ms that a command which signs nothing (most reads) should not pay.
  let signer: NoteSigner | undefined;
  const openSigner = (): NoteSigner => {
    if (signer) return signer;
    const parsed = parseSignerKey(ring.openRecord(PURPOSE, signerRow.id, signerRow.data_key_id, signerRow.sealed).toString('utf8'));
    if (parsed.verifierKey !== signerRow.public) {
      throw new KeyturnError('KT_AUDIT_KEY_INVALID', `audit signing key ${signerRow.id} does not match its stored verifier key`);
    }
    return (signer = parsed);
  };
  const hmac = new Map<string, Buffer>();
  let activeHmac: string | undefined;
  let mac: Buffer | null = null;
  for (const row of rows) {
    if (row.kind === 'mac' && Number(row.active) === 1) mac = ring.openRecord(MAC_PURPOSE, row.id, row.data_key_id, row.sealed);
    if (row.kind !== 'hmac') continue;
    hmac.set(row.id, ring.openRecord(PURPOSE, row.id, row.data_key_id, row.sealed));
    if (Number(row.active) === 1) activeHmac = row.id;
  }
  if (activeHmac === undefined) throw new KeyturnError('KT_AUDIT_KEY_MISSING', 'the audit log has a signing key but no active HMAC key');
  return {
    get signer() {
      return openSigner();
    },
    verifierKey: signerRow.public ?? openSigner().verifierKey,
    hmac,
    activeHmac,
    mac,
  };
}

/** Creates the signer (named after the log's origin), the first HMAC key and the MAC key. */
export async function createAuditKeys(trx: Transaction<Schema>, ring: KeyRing, origin: string, now: number): Promise<void> {
  const { signerKey } = generateNoteKey(origin);
  const signer = parseSignerKey(signerKey);
  const id = `sk_${hex8(signer.keyId)}`;
  const { dataKeyId, sealed } = ring.sealRecord(PURPOSE, id, Buffer.from(signerKey, 'utf8'));
  await trx.insertInto('audit_keys').values({ id, kind: 'signer', public: signer.verifierKey, data_key_id: dataKeyId, sealed, active: 1, created_at: now }).execute();
  await addHmacKey(trx, ring, now);
  await addMacKey(trx, ring, now);
}

/** Adds the row MAC key (once: a log has one, for good); returns its id. */
export async function addMacKey(trx: Transaction<Schema>, ring: KeyRing, now: number): Promise<string> {
  const id = `mk_${randomBytes(4).toString('hex')}`;
  const { dataKeyId, sealed } = ring.sealRecord(MAC_PURPOSE, id, randomBytes(HMAC_KEY_BYTES));
  await trx.insertInto('audit_keys').values({ id, kind: 'mac', public: null, data_key_id: dataKeyId, sealed, active: 1, created_at: now }).execute();
  return id;
}

/** Adds a fresh HMAC key and makes it the active one; returns its id. */
export async function addHmacKey(trx: Transaction<Schema>, ring: KeyRing, now: number): Promise<string> {
  const id = `hk_${randomBytes(4).toString('hex')}`;
  const { dataKeyId, sealed } = ring.sealRecord(PURPOSE, id, randomBytes(HMAC_KEY_BYTES));
  await trx.updateTable('audit_keys').set({ active: 0 }).where('kind', '=', 'hmac').where('active', '=', 1).execute();
  await trx.insertInto('audit_keys').values({ id, kind: 'hmac', public: null, data_key_id: dataKeyId, sealed, active: 1, created_at: now }).execute();
  return id;
}
