/**
 * The Azure Key Vault store: each Keyturn secret is one Key Vault secret (its name spelled from
 * the path, ./names.ts), each Keyturn version one Key Vault version tagged with its Keyturn id,
 * number and kind.
 *
 * Key Vault has no stages and no conditional write, so each secret's stage pointers, version
 * counter and metadata sit in one row of Keyturn's state database, changed only by
 * compare-and-set (./pointers.ts): that row, not the vault, decides races. A put claims its
 * number (and its stages) there first and writes the vault after; a retry with the same version
 * id finishes a claimed put that crashed before its write. Key Vault's own "current" is the newest
 * version, so after any write that leaves Keyturn's current older than the newest, the store
 * writes a copy of the current version's value on top (same Keyturn id and number, tag
 * `kt-copy`): apps reading the latest version read Keyturn's current.
 *
 * @example
 * ```ts
 * const store = new AzureStore(config, deps);          // DefaultAzureCredential
 * await store.put('prod/db/app', { username: 'app', password: 's3cret' });
 * ```
 */
import { SecretClient, type DeletedSecret, type SecretProperties } from '@azure/keyvault-secrets';
import { DAY_MS, type Clock } from '../../core/clock.js';
import { KeyturnError } from '../../core/errors.js';
import { assertValidPath, normalizePrefix, pathHasPrefix } from '../../core/paths.js';
import { STAGES, type SecretInfo, type SecretMetadata, type SecretValue, type Stage, type Version, type VersionInfo } from '../../core/types.js';
import { decodeValue, encodeValue, parseStage, printable } from '../../core/values.js';
import type { StoreDeps } from '../deps.js';
import { MAX_RECOVERY_DAYS, MIN_RECOVERY_DAYS, type ListOptions, type PutOptions, type SecretStore, type StoreCapabilities, type VersionSelector } from '../store.js';
import type { AzureStoreConfig } from './config.js';
import { defaultCredential, trustedCas } from './credential.js';
import { azureError, statusOf } from './errors.js';
import { pathOfTags, pathTags, secretName, TAG } from './names.js';
import { StagePointers, freshRecord, type PointerMetadata, type PointerRecord, type StagedVersion } from './pointers.js';
import { checkMetadata } from '../../core/metadata.js';
import { checkPut } from '../put-input.js';
import { moveStageIn } from '../stage-moves.js';

/** Key Vault's largest secret value: 25 KiB. */
export const KEY_VAULT_MAX_VALUE_BYTES = 25 * 1024;

/** The credential the SDK takes (a TokenCredential). */
export type AzureCredential = ConstructorParameters<typeof SecretClient>[1];

/** What a test (or an embedding program) may hand the store besides its config. */
export interface AzureStoreOptions {
  /** Default: DefaultAzureCredential with the config's tenant and client id hints. */
  credential?: AzureCredential;
  /** Extra CA certificates to trust besides Node's and `caCertFile`'s (a test server's self-signed one). */
  ca?: string;
  /** The SDK's retry settings (default: its own, 3 retries with backoff, Retry-After honoured). */
  retry?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

/** One Keyturn version as Key Vault holds it: the Key Vault versions carrying its id (the first is the original, the rest copies). */
interface Logical {
  id: string;
  n: number;
  kind: 'string' | 'json';
  createdAt: number;
  /** Key Vault version ids, oldest first. */
  azure: string[];
}

type VaultState = { state: 'live'; versions: Map<string, Logical>; props: SecretProperties[] } | { state: 'deleted'; deleted: DeletedSecret } | { state: 'absent' };

/**
 * The store (see the module comment for how it maps onto Key Vault).
 *
 * @example
 * ```ts
 * const store = new AzureStore(configSchema.parse(raw), deps, { credential });
 * await store.moveStage('prod/db', 'current', pendingId, currentId);
 * ```
 */
export class AzureStore implements SecretStore {
  readonly kind = 'azure';
  readonly capabilities: StoreCapabilities = Object.freeze({ versions: true, idempotentPut: true, compareAndSet: true });

  private client: SecretClient | undefined;
  private readonly pointers: StagePointers;
  private readonly clock: Clock;
  readonly maxValueBytes: number;
  readonly maxVersions: number;
  readonly retentionMs: number;

  constructor(
    private readonly config: AzureStoreConfig,
    deps: StoreDeps,
    private readonly options: AzureStoreOptions = {},
  ) {
    this.pointers = new StagePointers(deps.state, new URL(config.vaultUrl).origin);
    this.clock = deps.clock;
    this.maxValueBytes = Math.min(deps.settings.maxValueBytes, KEY_VAULT_MAX_VALUE_BYTES);
    this.maxVersions = deps.settings.maxVersions;
    this.retentionMs = deps.settings.retentionDays * DAY_MS;
  }

  /** The SDK client, made on first use (no connection before). */
  private kv(): SecretClient {
    if (!this.client) {
      const tls = trustedCas(this.config, this.options.ca);
      const credential = this.options.credential ?? defaultCredential(this.config, tls);
      this.client = new SecretClient(this.config.vaultUrl, credential, {
        serviceVersion: '7.6',
        disableChallengeResourceVerification: this.config.disableChallengeResourceVerification,
        ...(tls ? { tlsOptions: tls } : {}),
        ...(this.options.retry ? { retryOptions: this.options.retry } : {}),
      });
    }
    return this.client;
  }

  private name(path: string): string {
    return secretName(this.config.prefix, path);
  }

  private async call<T>(what: string, path: string | null, fn: (kv: SecretClient) => Promise<T>): Promise<T> {
    try {
      return await fn(this.kv());
    } catch (e) {
      throw azureError(e, what, path);
    }
  }

  // ── reads ──────────────────────────────────────────────────────────────

  async get(path: string, select: VersionSelector = {}): Promise<Version | null> {
    assertValidPath(path);
    const stage = select.stage === undefined ? undefined : parseStage(select.stage);
    const name = this.name(path);
    const vault = await this.vaultState(name, path);
    if (vault.state === 'absent') return null;
    if (vault.state === 'deleted') throw deletedError(path, vault.deleted);
    const record = adopt(await this.pointers.read(name), vault);
    let logical: Logical | undefined;
    if (select.versionId !== undefined || select.number !== undefined) {
      logical = select.versionId !== undefined ? vault.versions.get(select.versionId) : [...vault.versions.values()].find((v) => v.n === select.number);
      if (!logical) {
        const which = select.versionId !== undefined ? `id "${printable(select.versionId)}"` : `number ${select.number ?? '?'}`;
        throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with ${which}`);
      }
    } else {
      const staged = visible(record, vault.versions)[stage ?? 'current'];
      if (!staged) return null;
      logical = vault.versions.get(staged.id)!;
    }
    const value = await this.readValue(name, path, logical);
    return { path, id: logical.id, number: logical.n, kind: logical.kind, createdAt: logical.createdAt, stages: stagesOf(visible(record, vault.versions), logical.id), value };
  }

  private async readValue(name: string, path: string, logical: Logical): Promise<SecretValue> {
    const secret = await this.call('read a version', path, (kv) => kv.getSecret(name, { version: logical.azure[0]! }));
    return decodeValue(logical.kind, Buffer.from(secret.value ?? '', 'utf8'));
  }

  async versions(path: string): Promise<VersionInfo[]> {
    assertValidPath(path);
    const name = this.name(path);
    const vault = await this.vaultState(name, path);
    if (vault.state === 'absent') throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    if (vault.state === 'deleted') throw deletedError(path, vault.deleted);
    const record = adopt(await this.pointers.read(name), vault);
    const stages = visible(record, vault.versions);
    return newestFirst(vault.versions).map((v) => ({ id: v.id, number: v.n, kind: v.kind, createdAt: v.createdAt, stages: stagesOf(stages, v.id) }));
  }

  async describe(path: string): Promise<SecretInfo | null> {
    assertValidPath(path);
    const name = this.name(path);
    const vault = await this.vaultState(name, path);
    if (vault.state === 'absent') return null;
    const record = adopt(await this.pointers.read(name), vault);
    if (vault.state === 'deleted') {
      const p = vault.deleted.properties;
      return {
        path,
        ...record.meta,
        createdAt: ms(p.createdOn),
        updatedAt: ms(p.updatedOn),
        versionCount: record.next - 1,
        currentVersion: record.stages.current ? { id: record.stages.current.id, number: record.stages.current.n } : null,
        deletedAt: ms(p.deletedOn),
        purgeAfter: ms(p.scheduledPurgeDate),
      };
    }
    const current = visible(record, vault.versions).current;
    return {
      path,
      ...record.meta,
      createdAt: Math.min(...vault.props.map((p) => ms(p.createdOn))),
      updatedAt: Math.max(...vault.props.map((p) => ms(p.updatedOn))),
      versionCount: vault.versions.size,
      currentVersion: current ? { id: current.id, number: current.n } : null,
      deletedAt: null,
      purgeAfter: null,
    };
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<string> {
    const base = normalizePrefix(prefix);
    const wanted = this.config.prefix.toLowerCase();
    const paths = await this.call('list secrets', null, async (kv) => {
      const out = new Set<string>();
      const items = options.deleted ? kv.listDeletedSecrets() : kv.listPropertiesOfSecrets();
      for await (const item of items) {
        const props: SecretProperties = 'properties' in item ? (item as DeletedSecret).properties : (item as SecretProperties);
        if (!props.name.toLowerCase().startsWith(wanted)) continue;
        const path = pathOfTags(props.tags);
        if (path !== undefined && this.name(path).toLowerCase() === props.name.toLowerCase() && pathHasPrefix(path, base)) out.add(path);
      }
      return out;
    });
    for (const path of [...paths].sort()) yield path;
  }

  // ── writes ─────────────────────────────────────────────────────────────

  async put(path: string, value: SecretValue, options: PutOptions = {}): Promise<Version> {
    assertValidPath(path);
    const { stages, versionId, expected, metadata } = checkPut(value, options, this.maxValueBytes);
    const { kind, bytes } = encodeValue(value);
    const text = bytes.toString('utf8');
    const name = this.name(path);

    for (;;) {
      const vault = await this.vaultState(name, path);
      if (vault.state === 'deleted') throw deletedError(path, vault.deleted);
      const live = vault.state === 'live' ? vault.versions : new Map<string, Logical>();
      const existing = live.get(versionId);
      if (existing) {
        const stored = await this.readValue(name, path, existing);
        if (existing.kind !== kind || encodeValue(stored).bytes.toString('utf8') !== text) {
          throw new KeyturnError('KT_VERSION_CONFLICT', `${path} already has version "${printable(versionId)}" with a different value`);
        }
        // A put that crashed after its write and before clearing its claim: clear it now.
        const record = await this.pointers.update(name, (r) => {
          if (!(versionId in r.claims)) return null;
          delete r.claims[versionId];
          return r;
        });
        return { path, id: existing.id, number: existing.n, kind, createdAt: existing.createdAt, stages: stagesOf(record, existing.id), value };
      }
      const read = await this.pointers.read(name);
      // A row whose secret is gone from the vault (purged by the vault, or outside Keyturn) starts over.
      const stale = read.raw !== null && live.size === 0 && Object.keys(read.record.claims).length === 0;
      // The vault was listed before the row was read: a put that wrote its version and cleared its
      // claim in between would look gone. Only a vault listed after the row can tell (else two
      // creating puts could both win).
      if (stale) {
        const again = await this.vaultState(name, path);
        if (again.state === 'deleted' || (again.state === 'live' && again.versions.size > 0)) continue;
      }
      const record = stale ? freshRecord() : adopt(read, vault);
      let number = record.claims[versionId]?.n;
      if (number === undefined) {
        // The compare-and-set: the claim below wins only over the row read here.
        const exists = live.size > 0 || record.next > 1;
        if (expected !== undefined) assertCurrentVersion(path, exists, record.stages.current?.n ?? null, expected);
        number = record.next;
        const next = structuredClone(record);
        next.next += 1;
        if (metadata) next.meta = { ...next.meta, ...metadata } as PointerMetadata;
        for (const stage of stages) applyMove(next, stage, { id: versionId, n: number });
        next.claims[versionId] = { n: number, prior: record.stages };
        if (!(await this.pointers.swap(name, read.raw, next))) continue;
      }
      const written = await this.call('write a version', path, async (kv) => {
        try {
          return await kv.setSecret(name, text, {
            contentType: kind === 'json' ? 'application/json' : 'text/plain',
            tags: { ...pathTags(path), [TAG.id]: versionId, [TAG.number]: String(number), [TAG.kind]: kind },
          });
        } catch (e) {
          // Deleted between the check above and this write: the claim stays for a retry after restore.
          if (statusOf(e) === 409) throw new KeyturnError('KT_SECRET_DELETED', `${path} is deleted`, { details: { path } });
          throw e;
        }
      });
      const after = await this.pointers.update(name, (r) => {
        if (!(versionId in r.claims)) return null;
        delete r.claims[versionId];
        return r;
      });
      await this.keepCurrentNewest(name, path);
      if (number > this.maxVersions) await this.prune(name, path);
      return { path, id: versionId, number, kind, createdAt: ms(written.properties.createdOn), stages: stagesOf(after, versionId), value };
    }
  }

  async moveStage(path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void> {
    assertValidPath(path);
    const st = parseStage(stage);
    const name = this.name(path);
    const vault = await this.vaultState(name, path);
    if (vault.state === 'absent') throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    if (vault.state === 'deleted') throw deletedError(path, vault.deleted);
    const target = to === null ? null : vault.versions.get(to);
    if (target === undefined) throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with id "${printable(to ?? '')}"`);
    let moved = false;
    await this.pointers.update(name, (current, exists) => {
      const record = exists ? current : adopt({ raw: null, record: current }, vault);
      const holder = record.stages[st]?.id ?? null;
      if (holder !== expectFrom) {
        throw new KeyturnError('KT_STAGE_CONFLICT', `stage ${st} of ${path} is on ${holder ?? 'no version'}, not ${expectFrom ?? 'no version'}`, {
          details: { path, stage: st, expected: expectFrom, actual: holder },
        });
      }
      if (holder === to) return null;
      applyMove(record, st, target === null ? null : { id: target.id, n: target.n });
      moved = true;
      return record;
    });
    if (moved && st === 'current') await this.keepCurrentNewest(name, path);
  }

  async setMetadata(path: string, metadata: Partial<SecretMetadata>): Promise<SecretInfo> {
    assertValidPath(path);
    const patch = checkMetadata(metadata);
    const name = this.name(path);
    const vault = await this.requireLive(name, path);
    await this.pointers.update(name, (current, exists) => {
      const record = exists ? current : adopt({ raw: null, record: current }, vault);
      return { ...record, meta: { ...record.meta, ...patch } as PointerMetadata };
    });
    return (await this.describe(path))!;
  }

  async remove(path: string, options: { recoveryDays?: number } = {}): Promise<SecretInfo> {
    assertValidPath(path);
    const days = options.recoveryDays;
    if (days !== undefined && (!Number.isInteger(days) || days < MIN_RECOVERY_DAYS || days > MAX_RECOVERY_DAYS)) {
      throw new KeyturnError('KT_RECOVERY_DAYS_INVALID', `recovery window of ${days} days is outside ${MIN_RECOVERY_DAYS} to ${MAX_RECOVERY_DAYS}`);
    }
    const name = this.name(path);
    const vault = await this.requireLive(name, path);
    // The recovery window is the vault's (a vault setting, 7 to 90 days), the same for every secret.
    const vaultDays = vault.props.find((p) => p.recoverableDays !== undefined)?.recoverableDays;
    if (days !== undefined && vaultDays !== undefined && days !== vaultDays) {
      throw new KeyturnError('KT_RECOVERY_DAYS_INVALID', `the vault keeps deleted secrets for ${vaultDays} days (a setting of the vault, not of a secret); give ${vaultDays} days or none`, {
        details: { path, requested: days, vaultRecoverableDays: vaultDays },
      });
    }
    await this.call('delete the secret', path, async (kv) => {
      const poller = await kv.beginDeleteSecret(name, { intervalInMs: this.config.pollIntervalMs });
      await poller.pollUntilDone();
    });
    return (await this.describe(path))!;
  }

  async restore(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    const name = this.name(path);
    const vault = await this.vaultState(name, path);
    if (vault.state === 'absent') throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    if (vault.state === 'live') throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted`);
    // Recovery is asynchronous in Key Vault: the poller reads the secret until it is back.
    await this.call('recover the secret', path, async (kv) => {
      const poller = await kv.beginRecoverDeletedSecret(name, { intervalInMs: this.config.pollIntervalMs });
      await poller.pollUntilDone();
    });
    return (await this.describe(path))!;
  }

  async purge(path: string): Promise<void> {
    assertValidPath(path);
    const name = this.name(path);
    const deleted = await this.assertPurgeableDeleted(name, path);
    try {
      await this.kv().purgeDeletedSecret(name);
    } catch (e) {
      if (statusOf(e) === 403 && purgeProtected(deleted)) throw protectedError(path, deleted);
      if (statusOf(e) === 404) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      throw azureError(e, 'purge the secret', path);
    }
    for (;;) {
      const { raw } = await this.pointers.read(name);
      if (raw === null || (await this.pointers.swap(name, raw, null))) break;
    }
  }

  async assertPurgeable(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    await this.assertPurgeableDeleted(this.name(path), path);
    return (await this.describe(path))!;
  }

  async close(): Promise<void> {
    this.client = undefined;
  }

  // ── internals ──────────────────────────────────────────────────────────

  /** The deleted secret, when purging it would go ahead now; else what purge would throw. */
  private async assertPurgeableDeleted(name: string, path: string): Promise<DeletedSecret> {
    const vault = await this.vaultState(name, path);
    if (vault.state === 'absent') throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    if (vault.state === 'live') throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted; delete it before purging`);
    const until = vault.deleted.properties.scheduledPurgeDate;
    if (purgeProtected(vault.deleted) && until !== undefined && this.clock.now() < until.getTime()) throw protectedError(path, vault.deleted);
    return vault.deleted;
  }

  private async requireLive(name: string, path: string): Promise<Extract<VaultState, { state: 'live' }>> {
    const vault = await this.vaultState(name, path);
    if (vault.state === 'absent') throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    if (vault.state === 'deleted') throw deletedError(path, vault.deleted);
    return vault;
  }

  /** The secret's Keyturn versions (enabled Key Vault versions carrying Keyturn tags), or that it is deleted or absent. */
  private async vaultState(name: string, path: string): Promise<VaultState> {
    try {
      const props: SecretProperties[] = [];
      for await (const p of this.kv().listPropertiesOfSecretVersions(name)) props.push(p);
      if (props.length === 0) return this.deletedOrAbsent(name, path);
      return { state: 'live', versions: logicalVersions(props, path), props };
    } catch (e) {
      if (statusOf(e) === 404) return this.deletedOrAbsent(name, path);
      throw azureError(e, 'list versions', path);
    }
  }

  private async deletedOrAbsent(name: string, path: string): Promise<VaultState> {
    try {
      return { state: 'deleted', deleted: await this.kv().getDeletedSecret(name) };
    } catch (e) {
      if (statusOf(e) === 404) return { state: 'absent' };
      throw azureError(e, 'read the deleted secret', path);
    }
  }

  /**
   * Makes Key Vault's newest version (what apps reading the secret get) hold Keyturn's current
   * value: when it does not, writes a copy of the current version on top. Checks again after
   * each copy, so a current that moved meanwhile gets its own copy.
   */
  private async keepCurrentNewest(name: string, path: string): Promise<void> {
    for (let round = 0; round < 5; round++) {
      const { record } = await this.pointers.read(name);
      const current = record.stages.current;
      if (!current) return;
      const latest = await this.call('read the secret', path, (kv) => kv.getSecret(name));
      if (latest.properties.tags?.[TAG.id] === current.id) return;
      const vault = await this.vaultState(name, path);
      const logical = vault.state === 'live' ? vault.versions.get(current.id) : undefined;
      if (!logical) return;
      const source = await this.call('read a version', path, (kv) => kv.getSecret(name, { version: logical.azure[0]! }));
      await this.call('write a version', path, (kv) =>
        kv.setSecret(name, source.value ?? '', {
          ...(source.properties.contentType ? { contentType: source.properties.contentType } : {}),
          tags: { ...source.properties.tags, [TAG.copy]: 'true' },
        }),
      );
    }
  }

  /**
   * Key Vault cannot delete one version, so pruning disables the oldest unstaged versions past
   * `maxVersions` (never one inside the retention hold): a disabled version cannot be read, and
   * Keyturn no longer lists it. The versions go with the secret when it is purged.
   */
  private async prune(name: string, path: string): Promise<void> {
    const vault = await this.requireLive(name, path);
    const { record } = await this.pointers.read(name);
    const now = this.clock.now();
    const all = newestFirst(vault.versions);
    let excess = all.length - this.maxVersions;
    for (const v of [...all].reverse()) {
      if (excess <= 0) break;
      if (stagesOf(record, v.id).length > 0 || v.id in record.claims || v.createdAt > now - this.retentionMs) continue;
      for (const version of v.azure) await this.call('disable a version', path, (kv) => kv.updateSecretProperties(name, version, { enabled: false }));
      excess -= 1;
    }
  }
}

function ms(d: Date | undefined): number {
  return d === undefined ? 0 : d.getTime();
}

function logicalVersions(props: SecretProperties[], path: string): Map<string, Logical> {
  const out = new Map<string, Logical>();
  const sorted = [...props].sort((a, b) => ms(a.createdOn) - ms(b.createdOn));
  for (const p of sorted) {
    const tags = p.tags ?? {};
    const id = tags[TAG.id];
    const n = Number(tags[TAG.number]);
    if (p.enabled === false || id === undefined || !Number.isSafeInteger(n) || pathOfTags(tags) !== path) continue;
    const seen = out.get(id);
    if (seen) seen.azure.push(p.version!);
    else out.set(id, { id, n, kind: tags[TAG.kind] === 'json' ? 'json' : 'string', createdAt: ms(p.createdOn), azure: [p.version!] });
  }
  return out;
}

/**
 * The record to go by: the row, or, when there is none for a secret the vault holds Keyturn
 * versions of (a new state database, or one restored from an older backup), one made from the
 * vault: numbering goes on after the highest number there, and `current` is the version apps
 * read (the newest).
 */
function adopt(read: { raw: string | null; record: PointerRecord }, vault: VaultState): PointerRecord {
  if (read.raw !== null || vault.state !== 'live' || vault.versions.size === 0) return read.record;
  const record = freshRecord();
  record.next = Math.max(...[...vault.versions.values()].map((v) => v.n)) + 1;
  // Newest first; versions written in the same second go by their Keyturn number.
  const newest = [...vault.props]
    .filter((p) => p.enabled !== false && p.tags?.[TAG.id] !== undefined)
    .sort((a, b) => ms(b.createdOn) - ms(a.createdOn) || Number(b.tags?.[TAG.number]) - Number(a.tags?.[TAG.number]))[0];
  const id = newest?.tags?.[TAG.id];
  const current = id === undefined ? undefined : vault.versions.get(id);
  if (current) record.stages.current = { id: current.id, n: current.n };
  return record;
}

function newestFirst(versions: Map<string, Logical>): Logical[] {
  return [...versions.values()].sort((a, b) => b.n - a.n);
}

function stagesOf(record: PointerRecord | PointerRecord['stages'], id: string): Stage[] {
  const stages = 'stages' in record ? record.stages : record;
  return STAGES.filter((st) => (stages as PointerRecord['stages'])[st]?.id === id);
}

/**
 * The stages as readers see them: a stage whose version a put has claimed but not yet written
 * is still on the version it was on before that claim (or on none, when that one is gone too).
 */
function visible(record: PointerRecord, versions: Map<string, Logical>): PointerRecord['stages'] {
  const out: PointerRecord['stages'] = {};
  for (const st of STAGES) {
    let holder = record.stages[st];
    for (let hops = 0; holder !== undefined && !versions.has(holder.id) && hops < 16; hops++) holder = record.claims[holder.id]?.prior[st];
    if (holder !== undefined && versions.has(holder.id)) out[st] = holder;
  }
  return out;
}

/** Moves a stage in the record, with the side moves every store makes (current's old version becomes previous; pending leaves the new current). */
function applyMove(record: PointerRecord, stage: Stage, to: StagedVersion | null): void {
  moveStageIn(record.stages, stage, to, (a, b) => a.id === b.id);
}

function assertCurrentVersion(path: string, exists: boolean, current: number | null, expected: number): void {
  const have = exists ? current : 0;
  if (have === expected) return;
  const want = expected === 0 ? 'no secret there yet (expected version 0)' : `current version ${expected}`;
  const found = !exists ? 'it does not exist' : have === null ? 'it exists with no current version' : `its current version is ${have}`;
  throw new KeyturnError('KT_VERSION_MISMATCH', `${path}: expected ${want}, but ${found}; nothing was written`, { details: { path, expected, actual: have, exists } });
}

function purgeProtected(deleted: DeletedSecret): boolean {
  return !(deleted.properties.recoveryLevel ?? '').includes('Purgeable');
}

function protectedError(path: string, deleted: DeletedSecret): KeyturnError {
  const until = deleted.properties.scheduledPurgeDate;
  const when = until ? until.toISOString() : 'the end of its recovery window';
  return new KeyturnError('KT_PURGE_PROTECTED', `${path} can be purged from ${when} (the vault has purge protection)`, { details: { path, purgeAfter: until ? until.toISOString() : null } });
}

function deletedError(path: string, deleted: DeletedSecret): KeyturnError {
  const until = deleted.properties.scheduledPurgeDate;
  return new KeyturnError('KT_SECRET_DELETED', `${path} is deleted; it can be restored until ${until ? until.toISOString() : 'the vault purges it'}`, { details: { path } });
}
