/**
 * The key ring: data keys kept in the state database, each wrapped by the root key, and the
 * envelope operations on values.
 *
 * Every value is sealed under the active data key with additional data that binds the secret
 * path and the version id, so a sealed value copied onto another row (another secret, another
 * version) fails to open with KT_DECRYPT_FAILED. Rotating the root key re-wraps the data keys in
 * one transaction and re-encrypts no value; afterwards the old root key opens nothing.
 *
 * @example
 * ```ts
 * const ring = await KeyRing.open(state, [rootKey]);
 * const { dataKeyId, sealed } = ring.sealValue('prod/db', versionId, bytes);
 * ring.openValue('prod/db', versionId, dataKeyId, sealed);
 * ```
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { KeyturnError } from '../core/errors.js';
import { systemClock, type Clock } from '../core/clock.js';
import type { StateDb } from '../state/db.js';
import { aad, KEY_BYTES, open, seal } from './aead.js';
import type { RootKey } from './root-key.js';

interface DataKey {
  id: string;
  key: Buffer;
}

function wrapAad(dataKeyId: string): Buffer {
  return aad('data-key', dataKeyId);
}

function valueAad(path: string, versionId: string): Buffer {
  return aad('value', path, versionId);
}

/** AAD of a sealed record that is not a secret value (an audit key, ...): its purpose and id. */
function recordAad(purpose: string, id: string): Buffer {
  return aad('record', purpose, id);
}

export class KeyRing {
  private constructor(
    private readonly state: StateDb,
    private root: RootKey,
    private readonly keys: Map<string, DataKey>,
    private active: DataKey,
    private readonly clock: Clock,
  ) {}

  /** Whether the state database has any data key yet (i.e. was initialized). */
  static async isInitialized(state: StateDb): Promise<boolean> {
    const row = await state.db.selectFrom('data_keys').select('id').limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** Creates the first data key under `root`. Refuses an initialized database. */
  static async initialize(state: StateDb, root: RootKey, clock: Clock = systemClock): Promise<KeyRing> {
    if (await KeyRing.isInitialized(state)) {
      throw new KeyturnError('KT_ALREADY_INITIALIZED', `the state database at ${state.location} already has keys`);
    }
    const dk: DataKey = { id: `dk_${randomUUID()}`, key: randomBytes(KEY_BYTES) };
    await state.db
      .insertInto('data_keys')
      .values({ id: dk.id, wrapped: seal(root.key, dk.key, wrapAad(dk.id)).toString('base64'), root_key_id: root.id, active: 1, created_at: clock.now() })
      .execute();
    return new KeyRing(state, root, new Map([[dk.id, dk]]), dk, clock);
  }

  /**
   * Opens the ring with whichever candidate root key wrapped the data keys.
   * Returns the ring; `ring.rootKey` tells which candidate it was.
   */
  static async open(state: StateDb, candidates: readonly RootKey[], clock: Clock = systemClock): Promise<KeyRing> {
    const rows = await state.db.selectFrom('data_keys').selectAll().orderBy('created_at').execute();
    if (rows.length === 0) throw new KeyturnError('KT_NOT_INITIALIZED', `the state database at ${state.location} has no keys yet`);
    const wrappedBy = rows[0]!.root_key_id;
    const root = candidates.find((c) => c.id === wrappedBy);
    if (!root) {
      throw new KeyturnError('KT_ROOT_KEY_MISMATCH', `the data keys are wrapped by root key ${wrappedBy}; the key given is ${candidates.map((c) => c.id).join(', ')}`);
    }
    const keys = new Map<string, DataKey>();
    let active: DataKey | undefined;
    for (const row of rows) {
      if (row.root_key_id !== root.id) {
        throw new KeyturnError('KT_ROOT_KEY_MISMATCH', `data key ${row.id} is wrapped by ${row.root_key_id}, not ${root.id}`);
      }
      const dk = { id: row.id, key: open(root.key, Buffer.from(row.wrapped, 'base64'), wrapAad(row.id), `data key ${row.id}`) };
      keys.set(dk.id, dk);
      if (Number(row.active) === 1) active = dk;
    }
    return new KeyRing(state, root, keys, active ?? [...keys.values()].at(-1)!, clock);
  }

  /** The root key currently wrapping the data keys. */
  get rootKey(): RootKey {
    return this.root;
  }

  get dataKeyCount(): number {
    return this.keys.size;
  }

  get activeDataKeyId(): string {
    return this.active.id;
  }

  sealValue(path: string, versionId: string, plaintext: Buffer): { dataKeyId: string; sealed: string } {
    return { dataKeyId: this.active.id, sealed: seal(this.active.key, plaintext, valueAad(path, versionId)).toString('base64') };
  }

  openValue(path: string, versionId: string, dataKeyId: string, sealed: string): Buffer {
    const dk = this.keys.get(dataKeyId);
    if (!dk) throw new KeyturnError('KT_DATA_KEY_MISSING', `data key ${dataKeyId} of ${path} version ${versionId} is not in the key ring`);
    return open(dk.key, Buffer.from(sealed, 'base64'), valueAad(path, versionId), `the value of ${path} version ${versionId}`);
  }

  /**
   * Seals a record that is not a secret value (e.g. an audit signing key) under the active data
   * key, bound to `purpose` and `id`: opened under any other purpose or id, it fails.
   *
   * @example
   * ```ts
   * const { dataKeyId, sealed } = ring.sealRecord('audit-key', 'hk_1a2b', keyBytes);
   * ring.openRecord('audit-key', 'hk_1a2b', dataKeyId, sealed).equals(keyBytes); // true
   * ```
   */
  sealRecord(purpose: string, id: string, plaintext: Buffer): { dataKeyId: string; sealed: string } {
    return { dataKeyId: this.active.id, sealed: seal(this.active.key, plaintext, recordAad(purpose, id)).toString('base64') };
  }

  /** Opens a record sealed by {@link sealRecord}; KT_DECRYPT_FAILED when purpose, id or bytes differ. */
  openRecord(purpose: string, id: string, dataKeyId: string, sealed: string): Buffer {
    const dk = this.keys.get(dataKeyId);
    if (!dk) throw new KeyturnError('KT_DATA_KEY_MISSING', `data key ${dataKeyId} of ${purpose} ${id} is not in the key ring`);
    return open(dk.key, Buffer.from(sealed, 'base64'), recordAad(purpose, id), `${purpose} ${id}`);
  }

  /**
   * Re-wraps every data key under `next` in one transaction (compare-and-set on the old root key
   * id). Values are not touched. Returns how many data keys were re-wrapped.
   */
  async rotateRoot(next: RootKey): Promise<number> {
    const previous = this.root;
    const count = await this.state.db.transaction().execute(async (trx) => {
      let n = 0;
      for (const dk of this.keys.values()) {
        const res = await trx
          .updateTable('data_keys')
          .set({ wrapped: seal(next.key, dk.key, wrapAad(dk.id)).toString('base64'), root_key_id: next.id })
          .where('id', '=', dk.id)
          .where('root_key_id', '=', previous.id)
          .executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) {
          throw new KeyturnError('KT_ROOT_KEY_MISMATCH', `data key ${dk.id} was re-wrapped by another process; nothing was changed`);
        }
        n += 1;
      }
      return n;
    });
    this.root = next;
    return count;
  }

  /** Makes a fresh data key the active one; older keys stay to open older values. */
  async rotateDataKey(): Promise<string> {
    const dk: DataKey = { id: `dk_${randomUUID()}`, key: randomBytes(KEY_BYTES) };
    await this.state.db.transaction().execute(async (trx) => {
      await trx.updateTable('data_keys').set({ active: 0 }).where('active', '=', 1).execute();
      await trx
        .insertInto('data_keys')
        .values({ id: dk.id, wrapped: seal(this.root.key, dk.key, wrapAad(dk.id)).toString('base64'), root_key_id: this.root.id, active: 1, created_at: this.clock.now() })
        .execute();
    });
    this.keys.set(dk.id, dk);
    this.active = dk;
    return dk.id;
  }
}
