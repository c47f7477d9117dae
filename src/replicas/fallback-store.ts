/**
 * The primary store with its read-only fallback replicas (./fallback.ts): the same store, except
 * that a read (`get`, `versions`, `describe`) the primary answers with KT_STORE_UNAVAILABLE is
 * answered by a fallback replica of that secret when one holds it (a version it returns says so
 * in `servedBy`), and that a new value (`put` of a version id the primary does not hold yet)
 * waits until every fallback replica of the secret holds the current one: a copy is tried at
 * once, and a replica still behind refuses the put with KT_REPLICA_BEHIND (nothing written).
 *
 * Everything else goes to the primary unchanged: a stage move (a rollback, a rotation's finish)
 * is never held back, and writes while the primary is unreachable fail as they did.
 * `withoutReadAudit()` (the engine's, the replica sync's and the health checks' view) is the
 * primary alone: a rotation never reads a replica, and holds its new value back itself (its
 * create step, NotYet).
 *
 * @example
 * ```ts
 * const store = withReplicaFallback(primary, fallback);
 * (await store.get('app/db'))?.servedBy; // undefined; 'replica:vault-dr' while the primary is down
 * ```
 */
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { SecretValue, Version } from '../core/types.js';
import { canPutWithin, type ListOptions, type PutOptions, type SecretStore, type StoreCapabilities, type TransactionalPut, type VersionSelector } from '../stores/store.js';
import type { FallbackBlocker, ReplicaFallback } from './fallback.js';

/** The refusal of a new value while a fallback replica is behind (never a value in it). */
export function replicaBehindError(path: string, b: FallbackBlocker): KeyturnError {
  const holds = b.holds === null ? 'no version' : `version ${b.holds}`;
  const why = b.errorCode === null ? '' : ` (its last copy failed: ${b.errorCode})`;
  return new KeyturnError('KT_REPLICA_BEHIND', `${path}: the fallback replica ${b.replica} holds ${holds}, not the current version ${b.wants}${why}; a new value waits until it has caught up`, {
    details: { path, replica: b.replica, holds: b.holds, wants: b.wants },
  });
}

class FallbackStore implements SecretStore {
  readonly kind: string;
  readonly capabilities: StoreCapabilities;

  constructor(
    private readonly inner: SecretStore,
    private readonly fallback: ReplicaFallback,
  ) {
    this.kind = inner.kind;
    this.capabilities = inner.capabilities;
    // The optional members the primary has, the wrapper has (they go to the primary).
    const self = this as unknown as Record<string, unknown>;
    if (inner.assertPurgeable) self.assertPurgeable = (path: string) => inner.assertPurgeable!(path);
    if (inner.counts) self.counts = () => inner.counts!();
    if (inner.purgeVersion) self.purgeVersion = (path: string, id: string) => inner.purgeVersion!(path, id);
    if (inner.close) self.close = () => inner.close!();
    // The engine's and apply's transactional writes: the engine holds a new value back itself (its create step).
    if (canPutWithin(inner)) {
      const t = inner as SecretStore & TransactionalPut;
      self.putWithin = t.putWithin.bind(t);
      if (t.moveStageWithin) self.moveStageWithin = t.moveStageWithin.bind(t);
    }
  }

  /** The primary's own view, without read audit and without the fallback: the engine, the replica sync and health checks read the primary only. */
  withoutReadAudit(): SecretStore {
    return this.inner.withoutReadAudit?.() ?? this.inner;
  }

  /** `fn` on the primary; on KT_STORE_UNAVAILABLE, on a fallback replica of `path` (the primary's error when none answers). */
  private async orFallback<T>(path: string, fn: (s: SecretStore) => Promise<T>, mark: (result: T, replica: string) => T = (r) => r): Promise<T> {
    try {
      return await fn(this.inner);
    } catch (e) {
      if (!isKeyturnError(e, 'KT_STORE_UNAVAILABLE')) throw e;
      const served = await this.fallback.read(path, fn).catch(() => null);
      if (served === null) throw e;
      return mark(served.result, served.replica);
    }
  }

  get(path: string, select?: VersionSelector): Promise<Version | null> {
    return this.orFallback(
      path,
      (s) => s.get(path, select),
      (v, replica) => (v === null ? v : { ...v, servedBy: `replica:${replica}` }),
    );
  }

  versions(path: string) {
    return this.orFallback(path, (s) => s.versions(path));
  }

  describe(path: string) {
    return this.orFallback(path, (s) => s.describe(path));
  }

  async put(path: string, value: SecretValue, options?: PutOptions): Promise<Version> {
    const blocker = await this.fallback.blocker(path);
    // A put repeated under a version id the primary already holds writes nothing new: not held back.
    if (blocker !== null && !(options?.versionId !== undefined && (await this.holds(path, options.versionId)))) throw replicaBehindError(path, blocker);
    return this.inner.put(path, value, options);
  }

  private async holds(path: string, versionId: string): Promise<boolean> {
    return (await this.inner.versions(path)).some((v) => v.id === versionId);
  }

  moveStage(...args: Parameters<SecretStore['moveStage']>) {
    return this.inner.moveStage(...args);
  }
  setMetadata(...args: Parameters<SecretStore['setMetadata']>) {
    return this.inner.setMetadata(...args);
  }
  list(prefix: string, options?: ListOptions) {
    return this.inner.list(prefix, options);
  }
  remove(...args: Parameters<SecretStore['remove']>) {
    return this.inner.remove(...args);
  }
  restore(path: string) {
    return this.inner.restore(path);
  }
  purge(path: string) {
    return this.inner.purge(path);
  }
}

/**
 * `store` with the read-only fallback replicas `fallback` knows of.
 *
 * @example
 * ```ts
 * const store = withReplicaFallback(prepared.forAudit(), new ReplicaFallback({ state, sync, open, log }));
 * ```
 */
export function withReplicaFallback(store: SecretStore, fallback: ReplicaFallback): SecretStore {
  return new FallbackStore(store, fallback);
}
