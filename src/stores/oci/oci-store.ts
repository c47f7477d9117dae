/**
 * The OCI Vault store: each Keyturn secret is one OCI secret in the configured vault (its name
 * from the path, see ./names.ts), each Keyturn version one OCI secret version (numbered 1..n by
 * OCI; its name is the Keyturn version id, with `_j` for a JSON value). Keyturn's stages are kept
 * in the secret's metadata (./record.ts) and OCI's own stages follow them where OCI can express
 * it: the version Keyturn makes current is OCI's CURRENT (a put with it, or UpdateSecret
 * `currentVersionNumber`), a version put without `current` is OCI's PENDING. Every write is an
 * UpdateSecret with the secret's ETag in `if-match` (OCI's compare-and-set); an ETag that moved
 * makes the write read again and decide again. Deletion is OCI's ScheduleSecretDeletion.
 *
 * @example
 * ```ts
 * const store = new OciStore(config, { clock, maxValueBytes: 65536, maxVersions: 100, retentionMs: 7 * DAY_MS, purgeProtection: true });
 * await store.put('prod/db/app', { username: 'app', password: 's3cret' });
 * ```
 */
import { createHash, randomUUID } from 'node:crypto';
import type { models as vaultModels } from 'oci-vault';
import { DAY_MS, type Clock } from '../../core/clock.js';
import { KeyturnError } from '../../core/errors.js';
import { assertValidPath, isValidPath, normalizePrefix, pathHasPrefix } from '../../core/paths.js';
import { STAGES, type SecretInfo, type SecretMetadata, type SecretValue, type Stage, type Version, type VersionInfo } from '../../core/types.js';
import { decodeValue, encodeValue, parseStage, printable } from '../../core/values.js';
import { MAX_RECOVERY_DAYS, MIN_RECOVERY_DAYS, DEFAULT_RECOVERY_DAYS, type ListOptions, type PutOptions, type SecretStore, type StoreCapabilities, type VersionSelector } from '../store.js';
import { ociStatus, openClients, storeError, type OciClients } from './clients.js';
import type { OciStoreConfig } from './config.js';
import { pathOf, secretName, versionName, versionOf } from './names.js';
import { readRecord, RECORD_KEY, withRecord, type KeyturnRecord } from './record.js';
import { checkMetadata } from '../../core/metadata.js';
import { checkPut } from '../put-input.js';
import { moveStageIn } from '../stage-moves.js';

export interface OciStoreOptions {
  clock: Clock;
  maxValueBytes: number;
  maxVersions: number;
  retentionMs: number;
  purgeProtection: boolean;
}

interface Ver {
  number: number;
  id: string;
  kind: 'string' | 'json';
  createdAt: number;
  native: string[];
}

interface Loaded {
  secret: vaultModels.Secret;
  etag: string;
  record: KeyturnRecord;
  versions: Ver[];
  deleted: boolean;
}

/** OCI's largest secret bundle (25 KB); a larger value is refused before it is sent. */
const OCI_MAX_BUNDLE_BYTES = 25 * 1024;
/** OCI keeps a deleted secret 1 to 30 days; a window asked past 30 days is held 30 days (less this margin for clock skew). */
const OCI_MAX_DELETION_DAYS = 30;
const SKEW_MS = 10 * 60_000;
const LIVE = new Set(['CREATING', 'ACTIVE', 'UPDATING', 'CANCELLING_DELETION']);
const DELETED = new Set(['SCHEDULING_DELETION', 'PENDING_DELETION']);
/** Writes that lost their if-match race read again and decide again, this many times at most. */
const MAX_ATTEMPTS = 8;

const ms = (t: Date | string | undefined): number => (t === undefined ? 0 : new Date(t).getTime());

export class OciStore implements SecretStore {
  readonly kind = 'oci';
  readonly capabilities: StoreCapabilities = Object.freeze({ versions: true, idempotentPut: true, compareAndSet: true });

  private clientsPromise: Promise<OciClients> | undefined;
  private readonly ids = new Map<string, string>();
  private readonly prefix: string;

  constructor(
    private readonly config: OciStoreConfig,
    private readonly options: OciStoreOptions,
  ) {
    this.prefix = config.prefix ?? '';
  }

  /** The SDK clients, made on first use; a failure to make them (credentials) is not kept, so a fixed file works on the next call. */
  private clients(): Promise<OciClients> {
    if (!this.clientsPromise) {
      const p = openClients(this.config);
      this.clientsPromise = p;
      p.catch(() => {
        if (this.clientsPromise === p) this.clientsPromise = undefined;
      });
    }
    return this.clientsPromise;
  }

  async close(): Promise<void> {
    const p = this.clientsPromise;
    this.clientsPromise = undefined;
    if (p) (await p.catch(() => undefined))?.close();
  }

  private async call<T>(what: string, fn: (c: OciClients) => Promise<T>): Promise<T> {
    const c = await this.clients();
    try {
      return await fn(c);
    } catch (e) {
      throw storeError(e, what);
    }
  }

  // ── reading a secret ───────────────────────────────────────────────────

  /** The OCID of the live or deleted (not yet gone) secret at `path`, or null. */
  private async findId(path: string): Promise<string | null> {
    const cached = this.ids.get(path);
    if (cached !== undefined) return cached;
    const name = secretName(path, this.prefix);
    const items = await this.call('ListSecrets', async (c) => {
      const out: vaultModels.SecretSummary[] = [];
      for await (const s of c.vaults.listSecretsRecordIterator({ compartmentId: this.config.compartmentId, vaultId: this.config.vaultId, name })) out.push(s);
      return out;
    });
    const found = items.find((s) => LIVE.has(s.lifecycleState) || DELETED.has(s.lifecycleState));
    if (!found) return null;
    this.ids.set(path, found.id);
    return found.id;
  }

  private async load(path: string): Promise<Loaded | null> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const id = await this.findId(path);
      if (id === null) return null;
      const c = await this.clients();
      let got: { secret: vaultModels.Secret; etag: string | undefined };
      try {
        got = await c.vaults.getSecret({ secretId: id });
      } catch (e) {
        if (ociStatus(e).status === 404) {
          this.ids.delete(path);
          continue;
        }
        throw storeError(e, 'GetSecret');
      }
      const state = got.secret.lifecycleState;
      if (!LIVE.has(state) && !DELETED.has(state)) {
        this.ids.delete(path);
        continue;
      }
      const items = await this.call('ListSecretVersions', async (cl) => {
        const out: vaultModels.SecretVersionSummary[] = [];
        for await (const v of cl.vaults.listSecretVersionsRecordIterator({ secretId: id })) out.push(v);
        return out;
      });
      const versions = items
        .filter((v) => v.timeOfDeletion === undefined || v.timeOfDeletion === null)
        .map((v): Ver => ({ number: v.versionNumber, ...versionOf(v.name, v.versionNumber), createdAt: ms(v.timeCreated), native: v.stages ?? [] }))
        .sort((a, b) => b.number - a.number);
      const record = readRecord(got.secret.metadata, path, ms(got.secret.timeCreated));
      // A secret made outside Keyturn (no record yet): its stages are OCI's own until Keyturn writes.
      if (got.secret.metadata?.[RECORD_KEY] === undefined) {
        for (const st of STAGES) record.stages[st] = versions.find((v) => v.native.includes(st.toUpperCase()))?.id ?? null;
      }
      return { secret: got.secret, etag: got.etag ?? '', record, versions, deleted: DELETED.has(state) };
    }
    return null;
  }

  private stagesOf(record: KeyturnRecord, id: string): Stage[] {
    return STAGES.filter((s) => record.stages[s] === id);
  }

  private info(l: Loaded): SecretInfo {
    const current = l.versions.find((v) => v.id === l.record.stages.current);
    const timeOfDeletion = l.secret.timeOfDeletion === undefined || l.secret.timeOfDeletion === null ? null : ms(l.secret.timeOfDeletion);
    return {
      path: l.record.path,
      type: l.record.type,
      description: l.record.description,
      owner: l.record.owner,
      tags: l.record.tags,
      createdAt: ms(l.secret.timeCreated),
      updatedAt: l.record.updatedAt,
      versionCount: l.versions.length,
      currentVersion: current ? { id: current.id, number: current.number } : null,
      deletedAt: l.deleted ? (l.record.deletedAt ?? (timeOfDeletion ?? 0) - OCI_MAX_DELETION_DAYS * DAY_MS) : null,
      purgeAfter: l.deleted ? timeOfDeletion : null,
    };
  }

  private assertLive(l: Loaded): void {
    if (l.deleted) {
      const until = l.secret.timeOfDeletion ? new Date(l.secret.timeOfDeletion).toISOString() : 'its deletion date';
      throw new KeyturnError('KT_SECRET_DELETED', `${l.record.path} is deleted; it can be restored until ${until}`, { details: { path: l.record.path } });
    }
  }

  private async value(l: Loaded, v: Ver): Promise<SecretValue> {
    const bundle = await this.call('GetSecretBundle', (c) => c.secrets.getSecretBundle({ secretId: l.secret.id, versionNumber: v.number }));
    const content = bundle.secretBundle.secretBundleContent as { content?: string } | undefined;
    return decodeValue(v.kind, Buffer.from(content?.content ?? '', 'base64'));
  }

  // ── reads ──────────────────────────────────────────────────────────────

  async get(path: string, select: VersionSelector = {}): Promise<Version | null> {
    assertValidPath(path);
    const stage = select.stage === undefined ? undefined : parseStage(select.stage);
    const l = await this.load(path);
    if (!l) return null;
    this.assertLive(l);
    let v: Ver | undefined;
    if (select.versionId !== undefined || select.number !== undefined) {
      v = l.versions.find((x) => (select.versionId !== undefined ? x.id === select.versionId : x.number === select.number));
      if (!v) {
        const which = select.versionId !== undefined ? `id "${printable(select.versionId)}"` : `number ${select.number ?? '?'}`;
        throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with ${which}`);
      }
    } else {
      const id = l.record.stages[stage ?? 'current'];
      v = id === null ? undefined : l.versions.find((x) => x.id === id);
      if (!v) return null;
    }
    const value = await this.value(l, v);
    return { path, id: v.id, number: v.number, kind: v.kind, createdAt: v.createdAt, stages: this.stagesOf(l.record, v.id), value };
  }

  async versions(path: string): Promise<VersionInfo[]> {
    assertValidPath(path);
    const l = await this.load(path);
    if (!l) throw new KeyturnError('KT_SECRET_NOT_FOUND', `${path} does not exist`, { details: { path } });
    this.assertLive(l);
    return l.versions.map((v) => ({ id: v.id, number: v.number, kind: v.kind, createdAt: v.createdAt, stages: this.stagesOf(l.record, v.id) }));
  }

  async describe(path: string): Promise<SecretInfo | null> {
    assertValidPath(path);
    const l = await this.load(path);
    return l ? this.info(l) : null;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<string> {
    const base = normalizePrefix(prefix);
    const items = await this.call('ListSecrets', async (c) => {
      const out: vaultModels.SecretSummary[] = [];
      for await (const s of c.vaults.listSecretsRecordIterator({ compartmentId: this.config.compartmentId, vaultId: this.config.vaultId })) out.push(s);
      return out;
    });
    const want = options.deleted ? DELETED : LIVE;
    const paths: string[] = [];
    for (const s of items) {
      if (!want.has(s.lifecycleState)) continue;
      let path = pathOf(s.secretName, this.prefix);
      if (path === 'hashed') {
        const got = await this.call('GetSecret', (c) => c.vaults.getSecret({ secretId: s.id }));
        path = readRecord(got.secret.metadata, '', 0).path || null;
      }
      if (path !== null && isValidPath(path) && pathHasPrefix(path, base)) paths.push(path);
    }
    for (const p of paths.sort()) yield p;
  }

  // ── writes ─────────────────────────────────────────────────────────────

  async put(path: string, value: SecretValue, options: PutOptions = {}): Promise<Version> {
    assertValidPath(path);
    const { stages, versionId, expected, metadata } = checkPut(value, options, Math.min(this.options.maxValueBytes, OCI_MAX_BUNDLE_BYTES));
    const { kind, bytes } = encodeValue(value);

    // The same path and version id give the same retry token: a Keyturn that crashed after sending
    // the create and retries within OCI's 24 hours gets the first answer, not a second secret. The
    // version is then read back like any existing one (its value compared), so a replayed answer
    // to another request under the same id is a KT_VERSION_CONFLICT, never a silent success.
    let retryToken = createHash('sha256')
      .update(`${secretName(path, this.prefix)}\n${versionId}`)
      .digest('hex')
      .slice(0, 64);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const l = await this.load(path);
      if (!l) {
        if (expected !== undefined && expected !== 0) mismatch(path, expected, 0, false);
        // A token whose first answer is a secret deleted since then: create afresh under a new token.
        if ((await this.create(path, versionId, kind, bytes, stages, metadata, retryToken)) === 'dead') retryToken = randomUUID().replaceAll('-', '');
        continue;
      }
      this.assertLive(l);
      const existing = l.versions.find((v) => v.id === versionId);
      if (existing) {
        const stored = encodeValue(await this.value(l, existing));
        if (existing.kind !== kind || !stored.bytes.equals(bytes)) throw new KeyturnError('KT_VERSION_CONFLICT', `${path} already has version "${printable(versionId)}" with a different value`);
        return { path, id: existing.id, number: existing.number, kind, createdAt: existing.createdAt, stages: this.stagesOf(l.record, existing.id), value };
      }
      if (expected !== undefined) {
        const current = l.versions.find((v) => v.id === l.record.stages.current)?.number ?? null;
        if (current !== expected) mismatch(path, expected, current, true);
      }
      const record = { ...l.record, ...(metadata ?? {}), stages: { ...l.record.stages }, updatedAt: this.options.clock.now() };
      for (const s of stages) applyMove(record.stages, s, versionId);
      const native = stages.includes('current') ? 'CURRENT' : 'PENDING';
      const details: vaultModels.UpdateSecretDetails = {
        secretContent: { contentType: 'BASE64', content: bytes.toString('base64'), name: versionName(versionId, kind), stage: native } as vaultModels.Base64SecretContentDetails,
        metadata: withRecord(l.secret.metadata, record),
        ...(metadata?.description !== undefined ? { description: nativeDescription(metadata.description) } : {}),
      };
      const c = await this.clients();
      try {
        await c.vaults.updateSecret({ secretId: l.secret.id, ifMatch: l.etag, updateSecretDetails: details });
      } catch (e) {
        if (lostRace(e)) continue;
        throw storeError(e, 'UpdateSecret');
      }
      const after = await this.load(path);
      const mine = after?.versions.find((v) => v.id === versionId);
      if (!after || !mine) throw new KeyturnError('KT_STORE_FAILED', `OCI Vault UpdateSecret: the new version of ${path} is not listed`);
      await this.prune(after);
      return { path, id: versionId, number: mine.number, kind, createdAt: mine.createdAt, stages: this.stagesOf(record, versionId), value };
    }
    throw new KeyturnError('KT_STORE_UNAVAILABLE', `OCI Vault: ${path} kept changing under ${MAX_ATTEMPTS} attempts to write it`);
  }

  /** CreateSecret for the first version; `taken` when another writer created the secret first, `dead` when the token's first answer was deleted since. */
  private async create(
    path: string,
    versionId: string,
    kind: 'string' | 'json',
    bytes: Buffer,
    stages: Stage[],
    metadata: Partial<SecretMetadata> | undefined,
    opcRetryToken: string,
  ): Promise<'created' | 'dead' | 'taken'> {
    const now = this.options.clock.now();
    const record: KeyturnRecord = {
      path,
      type: metadata?.type ?? null,
      description: metadata?.description ?? null,
      owner: metadata?.owner ?? null,
      tags: metadata?.tags ?? {},
      stages: { current: null, pending: null, previous: null },
      updatedAt: now,
      deletedAt: null,
    };
    for (const s of stages) record.stages[s] = versionId;
    const name = secretName(path, this.prefix);
    const details: vaultModels.CreateSecretDetails = {
      compartmentId: this.config.compartmentId,
      vaultId: this.config.vaultId,
      keyId: this.config.keyId,
      secretName: name,
      ...(record.description !== null ? { description: nativeDescription(record.description) } : {}),
      freeformTags: path.length <= 256 ? { 'keyturn-path': path } : {},
      metadata: withRecord(undefined, record),
      secretContent: { contentType: 'BASE64', content: bytes.toString('base64'), name: versionName(versionId, kind), stage: 'CURRENT' } as vaultModels.Base64SecretContentDetails,
    };
    const c = await this.clients();
    try {
      const res = await c.vaults.createSecret({ createSecretDetails: details, opcRetryToken });
      if (!LIVE.has(res.secret.lifecycleState)) return 'dead';
      this.ids.set(path, res.secret.id);
      return 'created';
    } catch (e) {
      const { status, code } = ociStatus(e);
      if (status === 409 && code === 'Conflict') return 'taken';
      throw storeError(e, 'CreateSecret');
    }
  }

  async moveStage(path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void> {
    assertValidPath(path);
    const st = parseStage(stage);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const l = await this.load(path);
      if (!l) throw new KeyturnError('KT_SECRET_NOT_FOUND', `${path} does not exist`, { details: { path } });
      this.assertLive(l);
      const target = to === null ? undefined : l.versions.find((v) => v.id === to);
      if (to !== null && !target) throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with id "${printable(to)}"`);
      const held = l.record.stages[st];
      if (held !== expectFrom) throw new KeyturnError('KT_STAGE_CONFLICT', `stage ${st} of ${path} is not on the expected version`, { details: { stage: st, expected: expectFrom } });
      if (to === expectFrom) return;
      const record = { ...l.record, stages: { ...l.record.stages }, updatedAt: this.options.clock.now() };
      applyMove(record.stages, st, to);
      const nativeCurrent = l.versions.find((v) => v.native.includes('CURRENT'))?.number;
      const promote = st === 'current' && target !== undefined && target.number !== nativeCurrent ? { currentVersionNumber: target.number } : {};
      const c = await this.clients();
      try {
        await c.vaults.updateSecret({ secretId: l.secret.id, ifMatch: l.etag, updateSecretDetails: { metadata: withRecord(l.secret.metadata, record), ...promote } });
        return;
      } catch (e) {
        if (lostRace(e)) continue;
        throw storeError(e, 'UpdateSecret');
      }
    }
    throw new KeyturnError('KT_STAGE_CONFLICT', `stage ${st} of ${path} kept moving while it was being set`, { details: { stage: st, expected: expectFrom } });
  }

  async setMetadata(path: string, metadata: Partial<SecretMetadata>): Promise<SecretInfo> {
    assertValidPath(path);
    const m = checkMetadata(metadata);
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const l = await this.load(path);
      if (!l) throw new KeyturnError('KT_SECRET_NOT_FOUND', `${path} does not exist`, { details: { path } });
      this.assertLive(l);
      const record = { ...l.record, ...m, updatedAt: this.options.clock.now() };
      const c = await this.clients();
      try {
        await c.vaults.updateSecret({
          secretId: l.secret.id,
          ifMatch: l.etag,
          updateSecretDetails: { metadata: withRecord(l.secret.metadata, record), ...(m.description !== undefined ? { description: nativeDescription(m.description) } : {}) },
        });
        return this.info({ ...l, record });
      } catch (e) {
        if (lostRace(e)) continue;
        throw storeError(e, 'UpdateSecret');
      }
    }
    throw new KeyturnError('KT_STORE_UNAVAILABLE', `OCI Vault: ${path} kept changing under ${MAX_ATTEMPTS} attempts to write it`);
  }

  async remove(path: string, options: { recoveryDays?: number } = {}): Promise<SecretInfo> {
    assertValidPath(path);
    const days = options.recoveryDays ?? DEFAULT_RECOVERY_DAYS;
    if (!Number.isInteger(days) || days < MIN_RECOVERY_DAYS || days > MAX_RECOVERY_DAYS) {
      throw new KeyturnError('KT_RECOVERY_DAYS_INVALID', `the recovery window must be ${MIN_RECOVERY_DAYS} to ${MAX_RECOVERY_DAYS} days`);
    }
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const l = await this.load(path);
      if (!l) throw new KeyturnError('KT_SECRET_NOT_FOUND', `${path} does not exist`, { details: { path } });
      this.assertLive(l);
      const now = this.options.clock.now();
      const timeOfDeletion = days < OCI_MAX_DELETION_DAYS ? now + days * DAY_MS : now + OCI_MAX_DELETION_DAYS * DAY_MS - SKEW_MS;
      const record = { ...l.record, deletedAt: now };
      const c = await this.clients();
      try {
        const updated = await c.vaults.updateSecret({ secretId: l.secret.id, ifMatch: l.etag, updateSecretDetails: { metadata: withRecord(l.secret.metadata, record) } });
        await c.vaults.scheduleSecretDeletion({ secretId: l.secret.id, ifMatch: updated.etag, scheduleSecretDeletionDetails: { timeOfDeletion: new Date(timeOfDeletion) } });
      } catch (e) {
        if (lostRace(e)) continue;
        throw storeError(e, 'ScheduleSecretDeletion');
      }
      return this.info({ ...l, record, deleted: true, secret: { ...l.secret, timeOfDeletion: new Date(timeOfDeletion) } });
    }
    throw new KeyturnError('KT_STORE_UNAVAILABLE', `OCI Vault: ${path} kept changing under ${MAX_ATTEMPTS} attempts to delete it`);
  }

  async restore(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    const l = await this.load(path);
    if (!l) throw new KeyturnError('KT_SECRET_NOT_FOUND', `${path} does not exist`, { details: { path } });
    if (!l.deleted) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted`, { details: { path } });
    await this.call('CancelSecretDeletion', (c) => c.vaults.cancelSecretDeletion({ secretId: l.secret.id, ifMatch: l.etag }));
    return this.info({ ...l, deleted: false });
  }

  /** Throws what `purge` would throw now, changing nothing; the secret's info when a purge would go ahead. */
  async assertPurgeable(path: string): Promise<SecretInfo> {
    return this.info((await this.purgeable(path)).l);
  }

  private async purgeable(path: string): Promise<{ l: Loaded; now: number; purgeAfter: number }> {
    assertValidPath(path);
    const l = await this.load(path);
    if (!l) throw new KeyturnError('KT_SECRET_NOT_FOUND', `${path} does not exist`, { details: { path } });
    if (!l.deleted) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted; remove it first`, { details: { path } });
    const now = this.options.clock.now();
    const purgeAfter = ms(l.secret.timeOfDeletion);
    if (this.options.purgeProtection && now < purgeAfter) {
      throw new KeyturnError('KT_PURGE_PROTECTED', `${path} is held by purge protection until ${new Date(purgeAfter).toISOString()}`, { details: { path, purgeAfter } });
    }
    return { l, now, purgeAfter };
  }

  /**
   * OCI deletes a secret only at its scheduled time (1 to 30 days after scheduling) and has no
   * call to delete one sooner. Purge checks what Keyturn's purge checks, then moves OCI's
   * deletion to the earliest time OCI allows (a day from now) when it is later than that.
   */
  async purge(path: string): Promise<void> {
    const { l, now, purgeAfter } = await this.purgeable(path);
    const earliest = now + DAY_MS + SKEW_MS;
    if (purgeAfter <= earliest) return;
    const c = await this.clients();
    try {
      await c.vaults.cancelSecretDeletion({ secretId: l.secret.id, ifMatch: l.etag });
      await c.vaults.scheduleSecretDeletion({ secretId: l.secret.id, scheduleSecretDeletionDetails: { timeOfDeletion: new Date(earliest) } });
    } catch (e) {
      throw storeError(e, 'ScheduleSecretDeletion');
    }
  }

  /** Schedules the deletion of the oldest versions past `maxVersions` that hold no stage, are past the retention hold and that OCI marks DEPRECATED. */
  private async prune(l: Loaded): Promise<void> {
    let excess = l.versions.length - this.options.maxVersions;
    if (excess <= 0) return;
    const now = this.options.clock.now();
    for (const v of [...l.versions].reverse()) {
      if (excess <= 0) break;
      if (this.stagesOf(l.record, v.id).length > 0 || v.createdAt > now - this.options.retentionMs || !v.native.includes('DEPRECATED')) continue;
      await this.call('ScheduleSecretVersionDeletion', (c) =>
        c.vaults.scheduleSecretVersionDeletion({ secretId: l.secret.id, secretVersionNumber: v.number, scheduleSecretVersionDeletionDetails: { timeOfDeletion: new Date(now + DAY_MS + SKEW_MS) } }),
      );
      excess -= 1;
    }
  }
}

/** A write that lost to another writer: the ETag moved (412), or a version name another writer just used (409 Conflict). */
function lostRace(e: unknown): boolean {
  const { status, code } = ociStatus(e);
  return status === 412 || (status === 409 && (code === 'Conflict' || code === 'IncorrectState'));
}

/** Moves `stage` onto `to` with Keyturn's side moves (./stage-moves.ts); the record keeps every stage, null when on no version. */
function applyMove(stages: Record<Stage, string | null>, stage: Stage, to: string | null): void {
  moveStageIn(stages, stage, to);
  for (const s of STAGES) stages[s] ??= null;
}

function mismatch(path: string, expected: number, actual: number | null, exists: boolean): never {
  const want = expected === 0 ? 'no secret there yet (expected version 0)' : `current version ${expected}`;
  const found = !exists ? 'it does not exist' : actual === null ? 'it exists with no current version' : `its current version is ${actual}`;
  throw new KeyturnError('KT_VERSION_MISMATCH', `${path}: expected ${want}, but ${found}; nothing was written`, {
    details: { path, expected, actual: exists ? actual : 0, exists },
  });
}

/** OCI's description field takes at most 400 characters; Keyturn's whole description is in the record. */
function nativeDescription(d: string | null): string {
  return (d ?? '').slice(0, 400);
}
