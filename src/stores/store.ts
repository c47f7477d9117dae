/**
 * The SecretStore interface: where secret values live. `embedded/` keeps them encrypted in the
 * state database; outside stores (Vault, AWS, Azure, GCP, OCI, Kubernetes) implement the same
 * interface in a folder of their own, get one entry in the store registry (`./registry.ts`) and
 * pass the same contract suite, `runStoreContract` (src/contracts/store-contract.ts).
 *
 * Semantics every store keeps:
 * - versions are immutable and have an id; `put` is idempotent on the version id;
 * - a put may be a compare-and-set on the current version number (`expectCurrentVersion`);
 * - a stage sits on at most one version; stages move by compare-and-set on version ids, and
 *   moving `current` away from a version labels that version `previous`;
 * - deleting is soft: a deleted secret is hidden, can be restored within its recovery window,
 *   and can be purged only when purge protection allows.
 *
 * @example
 * ```ts
 * const store: SecretStore = (await openKeyturn(loadSettings(process.env))).store;
 * const v1 = await store.put('prod/api/key', 'k1');                       // current
 * const v2 = await store.put('prod/api/key', 'k2', { stages: ['pending'] });
 * await store.moveStage('prod/api/key', 'current', v2.id, v1.id);         // v1 becomes previous
 * await store.put('prod/api/key', 'k3', { expectCurrentVersion: 2 });    // else KT_VERSION_MISMATCH
 * (await store.get('prod/api/key', { stage: 'previous' }))?.value;        // 'k2'
 * await store.remove('prod/api/key', { recoveryDays: 7 });                // soft delete; restore() undoes it
 * ```
 */
import type { Transaction } from 'kysely';
import type { SecretInfo, SecretMetadata, SecretValue, Stage, Version, VersionInfo } from '../core/types.js';
import type { Schema } from '../state/schema.js';

/**
 * What a store guarantees of the semantics above that rotation cannot do without; the engine
 * refuses a store that lacks one (src/engine/store-capabilities.ts, KT_STORE_NOT_ROTATION_SAFE).
 */
export interface StoreCapabilities {
  /** Versions are immutable and `get` reads any of them by id (a resumed run reads its pending version back by id). */
  readonly versions: boolean;
  /** `put` with a `versionId` that already holds the same value returns that version and writes nothing (a resumed run puts its pending value again). */
  readonly idempotentPut: boolean;
  /** `moveStage` is an atomic compare-and-set on version ids (a run promotes pending to current only if current is still where it started). */
  readonly compareAndSet: boolean;
}

/** Which version to read: a stage (default `current`), a version id, or a version number. */
export interface VersionSelector {
  stage?: Stage;
  versionId?: string;
  number?: number;
}

export interface PutOptions {
  /** Version id; retrying a put with the same id and value returns the same version. */
  versionId?: string;
  /** Stages to put on the new version (default `['current']`; `[]` for none). */
  stages?: Stage[];
  /** Metadata to set (merged; tags replace tags). Applied when creating, or updated when given. */
  metadata?: Partial<SecretMetadata>;
  /**
   * Compare-and-set: write only if the number of the version now staged `current` is this one;
   * `0` means the secret must not exist yet (create only). Checked in the write's own transaction,
   * so of two racing puts expecting the same number exactly one wins; the other gets
   * KT_VERSION_MISMATCH and nothing is written. A repeated put whose `versionId` already holds the
   * same value returns that version without the check (it writes nothing).
   */
  expectCurrentVersion?: number;
}

export interface ListOptions {
  /** List deleted secrets instead of live ones. */
  deleted?: boolean;
}

export interface SecretStore {
  readonly kind: string;
  readonly capabilities: StoreCapabilities;

  /**
   * Reads one version with its value. Null when the secret does not exist or the stage is not
   * set. Throws KT_VERSION_NOT_FOUND for an unknown version id or number, KT_SECRET_DELETED for a
   * deleted secret.
   */
  get(path: string, select?: VersionSelector): Promise<Version | null>;

  /** Adds a version (creating the secret if needed). Idempotent on `versionId`. */
  put(path: string, value: SecretValue, options?: PutOptions): Promise<Version>;

  /**
   * Moves `stage` to version `to` (or removes it when `to` is null) if it is now on
   * `expectFrom` (null: on no version); else throws KT_STAGE_CONFLICT. Moving `current` labels
   * the version it left `previous` and clears `pending` from the version it lands on.
   */
  moveStage(path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void>;

  /** Versions, newest first, without values. */
  versions(path: string): Promise<VersionInfo[]>;

  /** The secret's metadata and state, without values; null when there is none (deleted ones included). */
  describe(path: string): Promise<SecretInfo | null>;

  /** Updates metadata (tags replace tags). */
  setMetadata(path: string, metadata: Partial<SecretMetadata>): Promise<SecretInfo>;

  /** Paths at or below `prefix` (`''` for all), sorted. */
  list(prefix: string, options?: ListOptions): AsyncIterable<string>;

  /** Soft delete with a recovery window of 7 to 90 days. */
  remove(path: string, options?: { recoveryDays?: number }): Promise<SecretInfo>;

  /** Undoes a soft delete. */
  restore(path: string): Promise<SecretInfo>;

  /** Deletes a soft-deleted secret for good; refused while purge protection holds it. */
  purge(path: string): Promise<void>;

  /** Optional: the same store with value reads not audited (the engine's view: its run events cover them). */
  withoutReadAudit?(): SecretStore;

  /** Optional: throws what `purge(path)` would throw now, changing nothing; the secret's info when a purge would go ahead. */
  assertPurgeable?(path: string): Promise<SecretInfo>;

  /** Optional: how many secrets (live and deleted) and versions the store holds (`keyturn status`). */
  counts?(): Promise<StoreCounts>;

  /**
   * Optional: drops one version for good (a rotation's cleanup, past `retainPrevious`), only when
   * it holds no stage and is past the store's retention hold; says why not otherwise. A store
   * without it keeps its versions by its own rules (the cleanup records `unsupported`).
   */
  purgeVersion?(path: string, versionId: string): Promise<VersionPurge>;

  close?(): Promise<void>;
}

/** What `purgeVersion` did: purged, already gone (or the secret deleted), still staged, or inside the retention hold until a time. */
export type VersionPurge =
  { readonly outcome: 'purged' } | { readonly outcome: 'gone' } | { readonly outcome: 'staged'; readonly stages: readonly Stage[] } | { readonly outcome: 'held'; readonly until: number };

export interface StoreCounts {
  secrets: number;
  deleted: number;
  versions: number;
}

/**
 * A store that keeps its values in the state database can add a version inside the caller's
 * transaction, so that the put and the caller's other writes (`keyturn apply`: policies, targets,
 * audit events) commit or roll back together. A store outside the database (Vault, a cloud) cannot.
 */
export interface TransactionalPut {
  /**
   * `put` within `trx`: same checks, same success audit event (in `trx`); on failure the caller's
   * transaction is rolled back, so no failure event is recorded here.
   */
  putWithin(trx: Transaction<Schema>, path: string, value: SecretValue, options?: PutOptions): Promise<Version>;
  /** `moveStage` within `trx`, its success audit event too (the engine's finish commits it with its journal rows). */
  moveStageWithin?(trx: Transaction<Schema>, path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void>;
}

/**
 * True when the store can put inside a state-database transaction.
 *
 * @example
 * ```ts
 * if (canPutWithin(store)) await state.db.transaction().execute((trx) => store.putWithin(trx, path, value));
 * ```
 */
export function canPutWithin(store: SecretStore): store is SecretStore & TransactionalPut {
  return typeof (store as Partial<TransactionalPut>).putWithin === 'function';
}

export const DEFAULT_RECOVERY_DAYS = 30;
export const MIN_RECOVERY_DAYS = 7;
export const MAX_RECOVERY_DAYS = 90;
