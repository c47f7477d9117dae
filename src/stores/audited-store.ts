/**
 * Store-operation auditing for any SecretStore: a wrapper that records the same events the
 * embedded store records itself (./audit-hook.ts), for a store that cannot record them inside its
 * own writes (Vault, a cloud secret manager). Each write's success event is recorded after the
 * store answers; each failure with its code (a failure to record that is ignored: the caller gets
 * the operation's own error); each value read before the value is returned, so a read whose event
 * cannot be recorded returns nothing (KT_AUDIT_WRITE_FAILED).
 *
 * Weaker than the embedded store's same-transaction path, by nature: a write the store made whose
 * event then cannot be recorded is reported to the caller as KT_AUDIT_WRITE_FAILED, but stays made.
 * The store registry (./registry.ts) wraps every store whose entry does not audit itself.
 *
 * @example
 * ```ts
 * const store = auditedStore(vaultStore, storeAuditHook(audit, context));
 * await store.put('prod/api/key', 'k1'); // secret.put success, with the value's HMAC
 * ```
 */
import { isKeyturnError } from '../core/errors.js';
import { assertValidPath } from '../core/paths.js';
import { STAGES, type SecretInfo, type SecretMetadata, type SecretValue, type Stage, type Version, type VersionInfo } from '../core/types.js';
import type { StoreAuditAction, StoreAuditEvent, StoreAuditHook } from './audit-hook.js';
import type { ListOptions, PutOptions, SecretStore, StoreCapabilities, StoreCounts, VersionPurge, VersionSelector } from './store.js';

/** The path as recorded: null when it is not a valid path (it is never echoed). */
function recordedPath(path: string): string | null {
  try {
    return assertValidPath(path);
  } catch {
    return null;
  }
}

class AuditedStore implements SecretStore {
  readonly kind: string;
  readonly capabilities: StoreCapabilities;
  readonly assertPurgeable?: (path: string) => Promise<SecretInfo>;
  readonly counts?: () => Promise<StoreCounts>;

  constructor(
    private readonly inner: SecretStore,
    private readonly hook: StoreAuditHook,
    private readonly auditReads: boolean,
  ) {
    this.kind = inner.kind;
    this.capabilities = inner.capabilities;
    // What the inner store offers of the optional members, it offers through the wrapper (they record nothing).
    if (inner.assertPurgeable) this.assertPurgeable = (path) => inner.assertPurgeable!(path);
    if (inner.counts) this.counts = () => inner.counts!();
  }

  /** Runs `fn`; records its success (with what `details` gives, which may make it a failure) or its failure, then returns or rethrows. */
  private async audited<T>(
    action: StoreAuditAction,
    path: string,
    fn: () => Promise<T>,
    details: (result: T) => Partial<StoreAuditEvent> | Promise<Partial<StoreAuditEvent>> = () => ({}),
  ): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      if (!isKeyturnError(e, 'KT_AUDIT_WRITE_FAILED')) {
        const event: StoreAuditEvent = { action, path: recordedPath(path), outcome: 'failure', errorCode: isKeyturnError(e) ? e.code : 'KT_INTERNAL' };
        await this.hook.record(null, event).catch(() => undefined);
      }
      throw e;
    }
    await this.hook.record(null, { action, path, outcome: 'success', ...(await details(result)) });
    return result;
  }

  async get(path: string, select?: VersionSelector): Promise<Version | null> {
    if (!this.auditReads) return this.inner.get(path, select);
    // Nothing to return is a failed read, as the embedded store records it: no secret, or no version at that stage.
    return this.audited(
      'secret.read',
      path,
      () => this.inner.get(path, select),
      async (v) =>
        v !== null
          ? { versionId: v.id, ...(v.servedBy === undefined ? {} : { servedBy: v.servedBy }) }
          : { outcome: 'failure', errorCode: (await this.inner.describe(path)) === null ? 'KT_SECRET_NOT_FOUND' : 'KT_STAGE_NOT_SET' },
    );
  }

  async put(path: string, value: SecretValue, options?: PutOptions): Promise<Version> {
    return this.audited(
      'secret.put',
      path,
      () => this.inner.put(path, value, options),
      (v) => ({ versionId: v.id, valueHmac: this.hook.hashValue(value), fieldHmacs: this.hook.hashFields?.(value) ?? null }),
    );
  }

  async moveStage(path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void> {
    const action: StoreAuditAction = STAGES.includes(stage) ? `secret.stage.${stage}` : 'secret.stage';
    await this.audited(
      action,
      path,
      () => this.inner.moveStage(path, stage, to, expectFrom),
      () => ({ versionId: to }),
    );
  }

  versions(path: string): Promise<VersionInfo[]> {
    return this.inner.versions(path);
  }

  describe(path: string): Promise<SecretInfo | null> {
    return this.inner.describe(path);
  }

  setMetadata(path: string, metadata: Partial<SecretMetadata>): Promise<SecretInfo> {
    return this.audited('secret.metadata', path, () => this.inner.setMetadata(path, metadata));
  }

  list(prefix: string, options?: ListOptions): AsyncIterable<string> {
    return this.inner.list(prefix, options);
  }

  remove(path: string, options?: { recoveryDays?: number }): Promise<SecretInfo> {
    return this.audited('secret.delete', path, () => this.inner.remove(path, options));
  }

  restore(path: string): Promise<SecretInfo> {
    return this.audited('secret.restore', path, () => this.inner.restore(path));
  }

  purge(path: string): Promise<void> {
    return this.audited('secret.purge', path, () => this.inner.purge(path));
  }

  /** Only when the inner store has it (a store without it keeps its versions by its own rules). */
  get purgeVersion(): ((path: string, versionId: string) => Promise<VersionPurge>) | undefined {
    const inner = this.inner;
    if (!inner.purgeVersion) return undefined;
    return async (path, versionId) => {
      const r = await inner.purgeVersion!(path, versionId);
      if (r.outcome === 'purged') await this.hook.record(null, { action: 'secret.version.purge', path, outcome: 'success', versionId });
      return r;
    };
  }

  withoutReadAudit(): SecretStore {
    return new AuditedStore(this.inner.withoutReadAudit?.() ?? this.inner, this.hook, false);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/**
 * `store` with every operation audited through `hook` (reads too, unless `auditReads` is false).
 *
 * @example
 * ```ts
 * const store = auditedStore(inner, storeAuditHook(audit, ctx));
 * const engineView = store.withoutReadAudit?.() ?? store;
 * ```
 */
export function auditedStore(store: SecretStore, hook: StoreAuditHook, options: { auditReads?: boolean } = {}): SecretStore {
  return new AuditedStore(store, hook, options.auditReads ?? true);
}
