/**
 * The Vault store: secrets in a HashiCorp Vault KV version 2 mount. Each Keyturn version is a
 * Vault version (same number); an object value is the version's data as it is (apps reading
 * `<mount>/data/<path>` get `{"username": ..., "password": ...}`), a string is `{"value": ...}`.
 *
 * What Vault has no place for (version ids, kinds, stages, metadata, soft delete with a recovery
 * window) lives in the secret's ledger (./ledger.ts), a KV entry beside it written only with
 * Vault's `cas`. A put is two-phase: it claims the next number in the ledger (cas), writes the
 * version with `cas` = that number − 1, then records it and moves its stages (cas). A claim is a
 * lock: other writers wait for it to land (or finish it for the claimer when its version is
 * there), so of two racing writers exactly one wins at Vault's own check. A crashed put's retry
 * (same version id) finds its claim and completes it. Stages are mirrored into the secret's
 * custom_metadata (`kt-current`, `kt-pending`, `kt-previous`: version numbers) for other readers.
 *
 * @example
 * ```ts
 * const store = new VaultStore(config, { clock, envVar, maxValueBytes: 65536, maxVersions: 100, retentionMs: 7 * DAY_MS, purgeProtection: true });
 * await store.put('prod/db/app', { username: 'app', password: 's3cret' });
 * ```
 */
import type { Clock } from '../../core/clock.js';
import { DAY_MS } from '../../core/clock.js';
import { KeyturnError } from '../../core/errors.js';
import { assertValidPath, normalizePrefix, pathHasPrefix, isValidPath } from '../../core/paths.js';
import { STAGES, type SecretInfo, type SecretMetadata, type SecretValue, type Stage, type Version, type VersionInfo } from '../../core/types.js';
import { encodeValue, parseStage, printable } from '../../core/values.js';
import { checkMetadata } from '../../core/metadata.js';
import {
  DEFAULT_RECOVERY_DAYS,
  MAX_RECOVERY_DAYS,
  MIN_RECOVERY_DAYS,
  type ListOptions,
  type PutOptions,
  type SecretStore,
  type StoreCapabilities,
  type VersionPurge,
  type VersionSelector,
} from '../store.js';
import { VaultClient } from './client.js';
import type { VaultStoreConfig } from './config.js';
import { KvApi, type KvMetadata } from './kv-api.js';
import { applyClaim, emptyLedger, foreignId, keepOnly, moveInLedger, numberOf, parseLedger, stagesByNumber, type Ledger, type LedgerClaim } from './ledger.js';
import { checkPut } from '../put-input.js';

export interface VaultStoreOptions {
  clock: Clock;
  envVar: (name: string) => string | undefined;
  maxValueBytes: number;
  maxVersions: number;
  retentionMs: number;
  purgeProtection: boolean;
}

/** Versions Vault keeps beyond Keyturn's maxVersions (Keyturn prunes; Vault's own default of 10 must not). */
const VAULT_HEADROOM = 100;

interface Loaded {
  ledger: Ledger | null;
  /** The ledger entry's KV version (the `cas` for writing it); 0 when there is none. */
  cas: number;
}

export class VaultStore implements SecretStore {
  readonly kind = 'vault';
  readonly capabilities: StoreCapabilities = Object.freeze({ versions: true, idempotentPut: true, compareAndSet: true });
  private readonly client: VaultClient;
  private readonly kv: KvApi;

  constructor(
    private readonly config: VaultStoreConfig,
    private readonly options: VaultStoreOptions,
  ) {
    this.client = new VaultClient(config, { envVar: options.envVar, clock: options.clock });
    this.kv = new KvApi(this.client, config.mount);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  // ── reads ──────────────────────────────────────────────────────────────

  async get(path: string, select: VersionSelector = {}): Promise<Version | null> {
    assertValidPath(path);
    const stage = select.stage === undefined ? undefined : parseStage(select.stage);
    const { ledger } = await this.view(path);
    if (!ledger) return null;
    assertLive(path, ledger);
    let n: number | null;
    if (select.versionId !== undefined) n = numberOf(ledger, select.versionId);
    else if (select.number !== undefined) n = ledger.versions[select.number] ? select.number : null;
    else {
      n = ledger.stages[stage ?? 'current'] ?? null;
      if (n === null) return null;
    }
    if (n === null) throw versionNotFound(path, select);
    const read = await this.kv.readData(path, n);
    if (!read) throw versionNotFound(path, select);
    const v = ledger.versions[n]!;
    return { path, id: v.id, number: n, kind: v.kind, createdAt: read.created, stages: stagesByNumber(ledger).get(n) ?? [], value: decode(path, v.kind, read.data) };
  }

  async versions(path: string): Promise<VersionInfo[]> {
    assertValidPath(path);
    const { ledger, meta } = await this.view(path, true);
    if (!ledger) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    assertLive(path, ledger);
    return this.infos(ledger, meta);
  }

  async describe(path: string): Promise<SecretInfo | null> {
    assertValidPath(path);
    const { ledger, meta } = await this.view(path, true);
    return ledger ? this.info(path, ledger, meta) : null;
  }

  async *list(prefix: string, options: ListOptions = {}): AsyncIterable<string> {
    const base = normalizePrefix(prefix);
    const found: string[] = [];
    const folder = this.config.ledgerFolder;
    // Deleted secrets all have a ledger; live ones are the secrets of the mount (another client's too).
    const root = options.deleted ? `${folder}/` : '';
    const walk = async (dir: string): Promise<void> => {
      for (const key of await this.kv.list(dir)) {
        const full = `${dir}${key}`;
        const rel = full.slice(root.length);
        if (!options.deleted && dir === '' && key === `${folder}/`) continue;
        if (key.endsWith('/')) {
          const sub = rel.slice(0, -1);
          // A folder Keyturn could not name (a character outside its path set) holds nothing it can list.
          if (isValidPath(sub) && (base === '' || pathHasPrefix(sub, base) || base.startsWith(`${sub}/`))) await walk(full);
        } else if (isValidPath(rel) && pathHasPrefix(rel, base)) found.push(rel);
      }
    };
    await walk(root);
    for (const path of found.sort()) {
      const { ledger } = await this.load(path);
      const deleted = ledger?.deleted != null;
      if (deleted === (options.deleted === true)) yield path;
    }
  }

  // ── writes ─────────────────────────────────────────────────────────────

  async put(path: string, value: SecretValue, options: PutOptions = {}): Promise<Version> {
    assertValidPath(path);
    const { stages, versionId: id, expected, metadata } = checkPut(value, options, this.options.maxValueBytes);
    const { kind } = encodeValue(value);
    const data = kind === 'string' ? { value } : (value as Record<string, unknown>);

    for (let waited = 0; ;) {
      const { ledger: found, cas } = await this.loadOrAdopt(path);
      const ledger = found ?? emptyLedger();
      assertLive(path, ledger);
      const claim = ledger.claim;
      if (claim && claim.id !== id) {
        waited = await this.settle(path, ledger, cas, waited);
        continue;
      }
      const existing = numberOf(ledger, id);
      if (existing !== null) return this.repeated(path, ledger, existing, id, value);
      let mine: LedgerClaim;
      if (claim) {
        // Our own claim (a crashed attempt of this put): finish it with this value.
        if (claim.kind !== kind) throw new KeyturnError('KT_VERSION_CONFLICT', `${path} already has version "${printable(id)}" with a different value`);
        mine = claim;
      } else {
        if (expected !== undefined) assertCurrentVersion(path, found === null || ledger.last === 0, ledger.stages.current ?? null, expected);
        mine = { number: ledger.last + 1, id, kind, stages };
        const claimed: Ledger = { ...ledger, claim: mine, meta: metadata ? mergeMeta(ledger.meta, metadata) : ledger.meta };
        if (!(await this.writeLedger(path, claimed, cas))) continue;
      }
      const written = await this.kv.writeData(path, data, mine.number - 1).catch(async (e: unknown) => {
        // Nothing landed (or Vault cannot say): give the claim up, so that no writer waits on it.
        await this.dropClaim(path, mine).catch(() => undefined);
        throw e;
      });
      if (written === 'cas-mismatch') {
        const meta = await this.kv.readMetadata(path);
        if (meta && meta.current >= mine.number && claim) {
          // Our crashed attempt's version is there: check it holds this value, then finish.
          await this.finish(path, mine);
          return this.repeated(path, (await this.load(path)).ledger!, mine.number, id, value);
        }
        // Another client wrote to the secret: adopt its versions, give up the claim, start again.
        await this.adoptForeign(path, mine);
        continue;
      }
      const recorded = await this.finish(path, mine);
      await this.afterWrite(path, recorded);
      return { path, id, number: mine.number, kind, createdAt: written.created, stages: STAGES.filter((s) => recorded.stages[s] === mine.number), value };
    }
  }

  async moveStage(path: string, stage: Stage, to: string | null, expectFrom: string | null): Promise<void> {
    assertValidPath(path);
    const st = parseStage(stage);
    for (;;) {
      const { ledger, cas } = await this.settledLedger(path);
      const target = to === null ? null : numberOf(ledger, to);
      if (to !== null && target === null) throw new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with id "${printable(to)}"`);
      const heldNumber = ledger.stages[st];
      const holder = heldNumber === undefined ? null : (ledger.versions[heldNumber]?.id ?? null);
      if (holder !== expectFrom) {
        throw new KeyturnError('KT_STAGE_CONFLICT', `stage ${st} of ${path} is on ${holder ?? 'no version'}, not ${expectFrom ?? 'no version'}`, {
          details: { path, stage: st, expected: expectFrom, actual: holder },
        });
      }
      if (holder === to) return;
      const next = moveInLedger(ledger, st, target);
      if (await this.writeLedger(path, next, cas)) {
        await this.mirror(path, next);
        return;
      }
    }
  }

  async setMetadata(path: string, metadata: Partial<SecretMetadata>): Promise<SecretInfo> {
    assertValidPath(path);
    const patch = checkMetadata(metadata);
    for (;;) {
      const { ledger, cas } = await this.settledLedger(path);
      if (await this.writeLedger(path, { ...ledger, meta: mergeMeta(ledger.meta, patch) }, cas)) return (await this.describe(path))!;
    }
  }

  async remove(path: string, options: { recoveryDays?: number } = {}): Promise<SecretInfo> {
    assertValidPath(path);
    const days = options.recoveryDays ?? DEFAULT_RECOVERY_DAYS;
    if (!Number.isInteger(days) || days < MIN_RECOVERY_DAYS || days > MAX_RECOVERY_DAYS) {
      throw new KeyturnError('KT_RECOVERY_DAYS_INVALID', `recovery window of ${days} days is outside ${MIN_RECOVERY_DAYS} to ${MAX_RECOVERY_DAYS}`);
    }
    for (;;) {
      const { ledger, cas } = await this.settledLedger(path);
      // Vault first (apps reading the secret get nothing from now on), then the mark: a crash between leaves a retry to finish.
      await this.kv.versionsOp('delete', path, Object.keys(ledger.versions).map(Number));
      const now = this.options.clock.now();
      const next: Ledger = { ...ledger, deleted: { at: now, purgeAfter: now + days * DAY_MS } };
      if (await this.writeLedger(path, next, cas)) {
        await this.mirror(path, next);
        return (await this.describe(path))!;
      }
    }
  }

  async restore(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    for (;;) {
      const { ledger, cas } = await this.load(path);
      if (!ledger) {
        if (await this.kv.readMetadata(path)) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted`);
        throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      }
      if (!ledger.deleted) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted`);
      await this.kv.versionsOp('undelete', path, Object.keys(ledger.versions).map(Number));
      const next: Ledger = { ...ledger, deleted: null };
      if (await this.writeLedger(path, next, cas)) {
        await this.mirror(path, next);
        return (await this.describe(path))!;
      }
    }
  }

  async purge(path: string): Promise<void> {
    await this.assertPurgeable(path);
    // The secret first: a crash between leaves the ledger's mark, and purging again finishes.
    await this.kv.deleteMetadata(path);
    await this.kv.deleteMetadata(this.ledgerPath(path));
  }

  async assertPurgeable(path: string): Promise<SecretInfo> {
    assertValidPath(path);
    const { ledger, meta } = await this.view(path, true);
    if (!ledger) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
    if (!ledger.deleted) throw new KeyturnError('KT_SECRET_NOT_DELETED', `${path} is not deleted; delete it before purging`);
    const purgeAfter = ledger.deleted.purgeAfter;
    if (this.options.purgeProtection && this.options.clock.now() < purgeAfter) {
      throw new KeyturnError('KT_PURGE_PROTECTED', `${path} can be purged from ${new Date(purgeAfter).toISOString()}`, {
        details: { path, purgeAfter: new Date(purgeAfter).toISOString() },
      });
    }
    return this.info(path, ledger, meta);
  }

  async purgeVersion(path: string, versionId: string): Promise<VersionPurge> {
    assertValidPath(path);
    for (let waited = 0; ;) {
      const { ledger, cas } = await this.load(path);
      if (!ledger || ledger.deleted) return { outcome: 'gone' };
      if (ledger.claim) {
        waited = await this.settle(path, ledger, cas, waited);
        continue;
      }
      const n = numberOf(ledger, versionId);
      if (n === null) return { outcome: 'gone' };
      const stages = stagesByNumber(ledger).get(n) ?? [];
      if (stages.length > 0) return { outcome: 'staged', stages };
      const meta = await this.kv.readMetadata(path);
      const until = (meta?.versions.get(n)?.created ?? 0) + this.options.retentionMs;
      if (until > this.options.clock.now()) return { outcome: 'held', until };
      const live = new Set(
        Object.keys(ledger.versions)
          .map(Number)
          .filter((v) => v !== n),
      );
      if (!(await this.writeLedger(path, keepOnly(ledger, live), cas))) continue;
      await this.kv.versionsOp('destroy', path, [n]);
      return { outcome: 'purged' };
    }
  }

  // ── the ledger ─────────────────────────────────────────────────────────

  private ledgerPath(path: string): string {
    return `${this.config.ledgerFolder}/${path}`;
  }

  private async load(path: string): Promise<Loaded> {
    const read = await this.kv.readData(this.ledgerPath(path));
    if (read) return { ledger: parseLedger(read.data), cas: read.version };
    // No readable ledger: a new secret, or one whose newest ledger version was deleted by hand.
    const meta = await this.kv.readMetadata(this.ledgerPath(path));
    return { ledger: null, cas: meta?.current ?? 0 };
  }

  /** The ledger, or for a secret another client made (no ledger yet), what adopting it would record; with Vault's metadata when asked. */
  private async view(path: string, withMeta = false): Promise<{ ledger: Ledger | null; meta: KvMetadata | null }> {
    const { ledger } = await this.load(path);
    if (ledger && !withMeta) return { ledger, meta: null };
    const meta = await this.kv.readMetadata(path);
    if (ledger) return { ledger, meta };
    return { ledger: meta ? adopted(meta) : null, meta };
  }

  /** The ledger; a secret another client made gets one first (its versions `vault-<n>`, its newest live one current). */
  private async loadOrAdopt(path: string): Promise<Loaded> {
    const loaded = await this.load(path);
    if (loaded.ledger) return loaded;
    const meta = await this.kv.readMetadata(path);
    if (!meta || meta.versions.size === 0) return loaded;
    await this.writeLedger(path, adopted(meta), loaded.cas);
    return this.load(path);
  }

  /** Writes the ledger with `cas`; false when another writer changed it first. */
  private async writeLedger(path: string, ledger: Ledger, cas: number): Promise<boolean> {
    const res = await this.kv.writeData(this.ledgerPath(path), ledger as unknown as Record<string, unknown>, cas);
    return res !== 'cas-mismatch';
  }

  /**
   * Another writer's claim stands in the ledger: when its version is in Vault, finish the claim
   * for it; else wait a little. Once the waits add up to `claimWaitMs`, take it for a crashed
   * writer's and drop it (a version that writer writes later is kept without stages). Returns the
   * time waited on this claim so far (0: settled, look again at once).
   */
  /** The live secret's ledger with no put under way (waiting out, finishing or dropping a claim first); KT_SECRET_NOT_FOUND, KT_SECRET_DELETED. */
  private async settledLedger(path: string): Promise<{ ledger: Ledger; cas: number }> {
    for (let waited = 0; ;) {
      const { ledger, cas } = await this.loadOrAdopt(path);
      if (!ledger) throw new KeyturnError('KT_SECRET_NOT_FOUND', `no secret at ${path}`);
      assertLive(path, ledger);
      if (!ledger.claim) return { ledger, cas };
      waited = await this.settle(path, ledger, cas, waited);
    }
  }

  private async settle(path: string, ledger: Ledger, cas: number, waited: number): Promise<number> {
    const claim = ledger.claim!;
    const meta = await this.kv.readMetadata(path);
    if (meta && meta.current >= claim.number) {
      await this.writeLedger(path, applyClaim(ledger, claim), cas);
      return 0;
    }
    if (waited >= this.config.claimWaitMs) {
      await this.writeLedger(path, { ...ledger, claim: null }, cas);
      return 0;
    }
    const delay = Math.min(Math.max(5, waited), 250, this.config.claimWaitMs - waited);
    await new Promise((resolve) => setTimeout(resolve, delay));
    return waited + delay;
  }

  /** Records a landed claim (the claimer, or whoever finished it first); returns the ledger as recorded. */
  private async finish(path: string, claim: LedgerClaim): Promise<Ledger> {
    for (;;) {
      const { ledger, cas } = await this.load(path);
      if (!ledger) throw new KeyturnError('KT_STORE_FAILED', `the ledger of ${path} went away during a put`);
      if (ledger.claim?.id === claim.id && ledger.claim.number === claim.number) {
        const next = applyClaim(ledger, claim);
        if (await this.writeLedger(path, next, cas)) return next;
        continue;
      }
      if (ledger.versions[claim.number]?.id === claim.id) return ledger;
      // The claim was dropped (this put took longer than other writers wait): keep the version, without stages.
      const next: Ledger = { ...ledger, versions: { ...ledger.versions, [claim.number]: { id: claim.id, kind: claim.kind } }, last: Math.max(ledger.last, claim.number) };
      if (await this.writeLedger(path, next, cas)) {
        throw new KeyturnError('KT_STORE_UNAVAILABLE', `the put to ${path} took so long that other writers took it for a crashed one; its version ${claim.number} is kept without stages`, {
          details: { path, number: claim.number },
        });
      }
    }
  }

  /** Removes this put's claim from the ledger when it is still there and its version is not in Vault. */
  private async dropClaim(path: string, mine: LedgerClaim): Promise<void> {
    for (;;) {
      const { ledger, cas } = await this.load(path);
      if (ledger?.claim?.id !== mine.id) return;
      const meta = await this.kv.readMetadata(path);
      if ((meta?.current ?? 0) >= mine.number) return;
      if (await this.writeLedger(path, { ...ledger, claim: null }, cas)) return;
    }
  }

  /** Vault is ahead of the ledger (another client wrote): record its versions as foreign ones and drop our claim. */
  private async adoptForeign(path: string, mine: LedgerClaim): Promise<void> {
    for (;;) {
      const { ledger, cas } = await this.load(path);
      if (!ledger) return;
      const meta = await this.kv.readMetadata(path);
      const versions = { ...ledger.versions };
      let last = ledger.last;
      for (const [n, v] of meta?.versions ?? []) {
        if (n > ledger.last && !v.destroyed && !versions[n]) versions[n] = { id: foreignId(n), kind: 'json' };
        last = Math.max(last, n);
      }
      const claim = ledger.claim?.id === mine.id ? null : ledger.claim;
      if (await this.writeLedger(path, { ...ledger, versions, last, claim }, cas)) return;
    }
  }

  /** A put's version id already holds a version: the same value returns it, another is a conflict. */
  private async repeated(path: string, ledger: Ledger, n: number, id: string, value: SecretValue): Promise<Version> {
    const v = ledger.versions[n]!;
    const read = await this.kv.readData(path, n);
    const { kind } = encodeValue(value);
    if (!read || v.kind !== kind || stable(decode(path, v.kind, read.data)) !== stable(value)) {
      throw new KeyturnError('KT_VERSION_CONFLICT', `${path} already has version "${printable(id)}" with a different value`);
    }
    return { path, id, number: n, kind, createdAt: read.created, stages: stagesByNumber(ledger).get(n) ?? [], value };
  }

  /** After a new version: prune past maxVersions, and mirror stages and Vault's max_versions into the metadata. */
  private async afterWrite(path: string, ledger: Ledger): Promise<void> {
    let current = ledger;
    if (Object.keys(ledger.versions).length > this.options.maxVersions) current = await this.prune(path);
    await this.mirror(path, current, true);
  }

  /** Destroys the oldest unstaged versions past maxVersions that are out of the retention hold (Vault's own max_versions would take staged ones too). */
  private async prune(path: string): Promise<Ledger> {
    for (;;) {
      const { ledger, cas } = await this.load(path);
      if (!ledger || ledger.claim) return ledger ?? emptyLedger();
      const meta = await this.kv.readMetadata(path);
      const staged = stagesByNumber(ledger);
      const numbers = Object.keys(ledger.versions)
        .map(Number)
        .sort((a, b) => a - b);
      let excess = numbers.length - this.options.maxVersions;
      const drop: number[] = [];
      const now = this.options.clock.now();
      for (const n of numbers) {
        if (excess <= 0) break;
        if (staged.has(n) || (meta?.versions.get(n)?.created ?? now) > now - this.options.retentionMs) continue;
        drop.push(n);
        excess -= 1;
      }
      if (drop.length === 0) return ledger;
      const next = keepOnly(ledger, new Set(numbers.filter((n) => !drop.includes(n))));
      if (await this.writeLedger(path, next, cas)) {
        await this.kv.versionsOp('destroy', path, drop);
        return next;
      }
    }
  }

  /** Stages and the deletion mark as the secret's custom_metadata, for other Vault readers; best effort (the ledger is the record). */
  private async mirror(path: string, ledger: Ledger, withMax = false): Promise<void> {
    const custom: Record<string, string | null> = {};
    for (const stage of STAGES) custom[`kt-${stage}`] = ledger.stages[stage] === undefined ? null : String(ledger.stages[stage]);
    custom['kt-deleted-at'] = ledger.deleted ? new Date(ledger.deleted.at).toISOString() : null;
    custom['kt-purge-after'] = ledger.deleted ? new Date(ledger.deleted.purgeAfter).toISOString() : null;
    const patch: Record<string, unknown> = { custom_metadata: custom };
    if (withMax) patch.max_versions = this.options.maxVersions + VAULT_HEADROOM;
    await this.kv.patchMetadata(path, patch).catch(() => undefined);
  }

  private infos(ledger: Ledger, meta: KvMetadata | null): VersionInfo[] {
    const staged = stagesByNumber(ledger);
    return Object.entries(ledger.versions)
      .map(([n, v]) => ({ n: Number(n), v, state: meta?.versions.get(Number(n)) }))
      .filter((e) => e.state !== undefined && !e.state.destroyed)
      .sort((a, b) => b.n - a.n)
      .map((e) => ({ id: e.v.id, number: e.n, kind: e.v.kind, createdAt: e.state!.created, stages: staged.get(e.n) ?? [] }));
  }

  private info(path: string, ledger: Ledger, meta: KvMetadata | null): SecretInfo {
    const versions = this.infos(ledger, meta);
    const current = versions.find((v) => v.stages.includes('current'));
    return {
      path,
      ...ledger.meta,
      tags: { ...ledger.meta.tags },
      createdAt: meta?.created ?? 0,
      updatedAt: meta?.updated ?? 0,
      versionCount: versions.length,
      currentVersion: current ? { id: current.id, number: current.number } : null,
      deletedAt: ledger.deleted?.at ?? null,
      purgeAfter: ledger.deleted?.purgeAfter ?? null,
    };
  }
}

/** What a ledger records for a secret another client made: every kept version as `vault-<n>` (JSON), the newest live one current. */
function adopted(meta: KvMetadata): Ledger {
  const ledger = emptyLedger();
  for (const [n, v] of meta.versions) if (!v.destroyed) ledger.versions[n] = { id: foreignId(n), kind: 'json' };
  ledger.last = meta.current;
  const newest = meta.versions.get(meta.current);
  if (newest && !newest.deleted && !newest.destroyed) ledger.stages.current = meta.current;
  return ledger;
}

function mergeMeta(meta: SecretMetadata, patch: Partial<SecretMetadata>): SecretMetadata {
  return { ...meta, ...patch, tags: patch.tags !== undefined ? { ...patch.tags } : meta.tags };
}

function decode(path: string, kind: 'string' | 'json', data: Record<string, unknown>): SecretValue {
  if (kind === 'json') return data as SecretValue;
  if (typeof data.value !== 'string') throw new KeyturnError('KT_STORE_FAILED', `a string version of ${path} has no "value" field in Vault`, { details: { path } });
  return data.value;
}

/** JSON text with object keys sorted (Vault may return an object's fields in another order). */
function stable(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function assertLive(path: string, ledger: Ledger): void {
  if (ledger.deleted) {
    throw new KeyturnError('KT_SECRET_DELETED', `${path} is deleted; it can be restored until ${new Date(ledger.deleted.purgeAfter).toISOString()}`, { details: { path } });
  }
}

function versionNotFound(path: string, select: VersionSelector): KeyturnError {
  const which = select.versionId !== undefined ? `id "${printable(select.versionId)}"` : select.number !== undefined ? `number ${select.number}` : `stage ${select.stage ?? 'current'}`;
  return new KeyturnError('KT_VERSION_NOT_FOUND', `${path} has no version with ${which}`);
}

/** The compare-and-set of a put, as the embedded store words it: the version staged current must be number `expected` (0: no secret yet). */
function assertCurrentVersion(path: string, absent: boolean, actual: number | null, expected: number): void {
  const have = absent ? 0 : actual;
  if (have === expected) return;
  const want = expected === 0 ? 'no secret there yet (expected version 0)' : `current version ${expected}`;
  const found = absent ? 'it does not exist' : have === null ? 'it exists with no current version' : `its current version is ${have}`;
  throw new KeyturnError('KT_VERSION_MISMATCH', `${path}: expected ${want}, but ${found}; nothing was written`, {
    details: { path, expected, actual: have, exists: !absent },
  });
}
