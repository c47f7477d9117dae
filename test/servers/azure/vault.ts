/**
 * The local Key Vault's state: secrets with their versions (value, content type, tags, enabled,
 * created and updated times), soft-deleted secrets with their purge dates, and the vault-level
 * settings (recoverable days, purge protection). It speaks in Key Vault's wire shapes
 * (SecretBundle, SecretItem, DeletedSecretBundle; times in Unix seconds) and knows nothing of HTTP.
 *
 * Deletion and recovery are asynchronous in Key Vault: a secret being deleted or recovered is
 * invisible (404) to the next `lag` reads of its name, then shows in its new state, so a client
 * must poll as the SDK's pollers do.
 *
 * @example
 * ```ts
 * const vault = new LocalVault({ base: 'https://127.0.0.1:1234', clock, recoverableDays: 7, purgeProtection: true, lag: 1 });
 * vault.set('app', { value: 'v1' });
 * ```
 */
import { randomBytes } from 'node:crypto';

export interface VaultClock {
  now(): number;
}

export interface StoredVersion {
  version: string;
  value: string;
  contentType?: string;
  tags: Record<string, string>;
  enabled: boolean;
  created: number;
  updated: number;
}

interface StoredSecret {
  name: string;
  versions: StoredVersion[];
  /** Set while deleted: when, and when the vault may purge it. */
  deleted?: { at: number; purgeAt: number };
  /** Reads of this name still to answer 404 while a deletion or recovery completes. */
  settling: number;
}

export class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly inner?: string,
  ) {
    super(message);
  }
}

export interface LocalVaultOptions {
  /** The vault URL ids start with: the one the request named (its Host), as Key Vault answers with its own DNS name. */
  base: string;
  clock: VaultClock;
  recoverableDays: number;
  purgeProtection: boolean;
  lag: number;
}

const NAME = /^[0-9a-zA-Z-]{1,127}$/;
const DAY_MS = 86_400_000;

/**
 * The vault's secrets and settings.
 *
 * @example
 * ```ts
 * vault.set('app', { value: 'v1', tags: { env: 'prod' } });
 * vault.get('app', ''); // the latest version's bundle
 * ```
 */
export class LocalVault {
  private readonly secrets = new Map<string, StoredSecret>();

  constructor(private readonly o: LocalVaultOptions) {}

  /** Sets the vault URL the ids of the next answers start with (the one the request named). */
  at(base: string): this {
    this.o.base = base;
    return this;
  }

  get recoveryLevel(): string {
    const custom = this.o.recoverableDays < 90 ? 'CustomizedRecoverable' : 'Recoverable';
    return this.o.purgeProtection ? custom : `${custom}+Purgeable`;
  }

  private key(name: string): string {
    if (!NAME.test(name)) throw new VaultError(400, 'BadParameter', `The request URI contains an invalid name: ${name.slice(0, 140)}`);
    return name.toLowerCase();
  }

  /** The secret when it is live and visible; counts a read of a settling one. */
  private live(name: string): StoredSecret | undefined {
    const s = this.secrets.get(this.key(name));
    if (!s) return undefined;
    if (s.settling > 0) {
      s.settling -= 1;
      return undefined;
    }
    return s.deleted ? undefined : s;
  }

  private deletedOne(name: string): StoredSecret | undefined {
    const s = this.secrets.get(this.key(name));
    if (!s) return undefined;
    if (s.settling > 0) {
      s.settling -= 1;
      return undefined;
    }
    return s.deleted ? s : undefined;
  }

  private notFound(name: string): VaultError {
    return new VaultError(404, 'SecretNotFound', `A secret with (name/id) ${name} was not found in this key vault.`);
  }

  private seconds(ms: number): number {
    return Math.floor(ms / 1000);
  }

  private attributes(v: StoredVersion): Record<string, unknown> {
    return { enabled: v.enabled, created: this.seconds(v.created), updated: this.seconds(v.updated), recoveryLevel: this.recoveryLevel, recoverableDays: this.o.recoverableDays };
  }

  private bundle(s: StoredSecret, v: StoredVersion, withValue: boolean): Record<string, unknown> {
    return {
      ...(withValue ? { value: v.value } : {}),
      id: `${this.o.base}/secrets/${s.name}/${v.version}`,
      ...(v.contentType !== undefined ? { contentType: v.contentType } : {}),
      attributes: this.attributes(v),
      tags: v.tags,
    };
  }

  private deletedBundle(s: StoredSecret): Record<string, unknown> {
    const latest = s.versions.at(-1)!;
    return {
      ...this.bundle(s, latest, false),
      id: `${this.o.base}/secrets/${s.name}/${latest.version}`,
      recoveryId: `${this.o.base}/deletedsecrets/${s.name}`,
      deletedDate: this.seconds(s.deleted!.at),
      scheduledPurgeDate: this.seconds(s.deleted!.purgeAt),
    };
  }

  set(name: string, body: { value?: unknown; contentType?: unknown; tags?: unknown; attributes?: { enabled?: unknown } }): Record<string, unknown> {
    const key = this.key(name);
    if (typeof body.value !== 'string') throw new VaultError(400, 'BadParameter', 'Property value is required.');
    if (body.value.length > 25 * 1024) throw new VaultError(400, 'BadParameter', 'Secret value is too large.');
    const tags = (body.tags ?? {}) as Record<string, string>;
    if (Object.keys(tags).length > 15) throw new VaultError(400, 'BadParameter', 'Too many tags: at most 15 are allowed.');
    for (const [k, v] of Object.entries(tags)) {
      if (k.length > 512 || typeof v !== 'string' || v.length > 256) throw new VaultError(400, 'BadParameter', 'A tag name is at most 512 characters and a value at most 256.');
    }
    let s = this.secrets.get(key);
    if (s?.deleted || (s && s.settling > 0)) {
      throw new VaultError(
        409,
        'Conflict',
        `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
        'ObjectIsDeletedButRecoverable',
      );
    }
    if (!s) {
      s = { name, versions: [], settling: 0 };
      this.secrets.set(key, s);
    }
    const now = this.o.clock.now();
    const v: StoredVersion = {
      version: randomBytes(16).toString('hex'),
      value: body.value,
      ...(typeof body.contentType === 'string' ? { contentType: body.contentType } : {}),
      tags: { ...tags },
      enabled: body.attributes?.enabled !== false,
      created: now,
      updated: now,
    };
    s.versions.push(v);
    return this.bundle(s, v, true);
  }

  get(name: string, version: string): Record<string, unknown> {
    const s = this.live(name);
    if (!s) throw this.notFound(name);
    const v = version === '' ? s.versions.at(-1) : s.versions.find((x) => x.version === version);
    if (!v) throw new VaultError(404, 'SecretNotFound', `A secret with (name/id) ${name}/${version} was not found in this key vault.`);
    if (!v.enabled) throw new VaultError(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.', 'SecretDisabled');
    return this.bundle(s, v, true);
  }

  update(name: string, version: string, body: { contentType?: unknown; tags?: unknown; attributes?: { enabled?: unknown } }): Record<string, unknown> {
    const s = this.live(name);
    const v = version === '' ? s?.versions.at(-1) : s?.versions.find((x) => x.version === version);
    if (!s || !v) throw this.notFound(name);
    if (typeof body.contentType === 'string') v.contentType = body.contentType;
    if (body.tags !== undefined) v.tags = { ...(body.tags as Record<string, string>) };
    if (typeof body.attributes?.enabled === 'boolean') v.enabled = body.attributes.enabled;
    v.updated = this.o.clock.now();
    return this.bundle(s, v, false);
  }

  /** Items of live secrets (their latest version's attributes and tags), by name. */
  list(): Record<string, unknown>[] {
    const out = [];
    for (const s of [...this.secrets.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (s.deleted || s.settling > 0) continue;
      const v = s.versions.at(-1)!;
      out.push({ id: `${this.o.base}/secrets/${s.name}`, attributes: this.attributes(v), tags: v.tags, ...(v.contentType ? { contentType: v.contentType } : {}) });
    }
    return out;
  }

  versions(name: string): Record<string, unknown>[] {
    const s = this.live(name);
    if (!s) throw this.notFound(name);
    return s.versions.map((v) => ({ id: `${this.o.base}/secrets/${s.name}/${v.version}`, attributes: this.attributes(v), tags: v.tags, ...(v.contentType ? { contentType: v.contentType } : {}) }));
  }

  delete(name: string): Record<string, unknown> {
    const s = this.live(name);
    if (!s) throw this.notFound(name);
    const now = this.o.clock.now();
    s.deleted = { at: now, purgeAt: now + this.o.recoverableDays * DAY_MS };
    const out = this.deletedBundle(s);
    s.settling = this.o.lag;
    return out;
  }

  getDeleted(name: string): Record<string, unknown> {
    const s = this.deletedOne(name);
    if (!s) throw new VaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
    return this.deletedBundle(s);
  }

  listDeleted(): Record<string, unknown>[] {
    const out = [];
    for (const s of [...this.secrets.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      if (!s.deleted || s.settling > 0) continue;
      const { value: _value, ...item } = this.deletedBundle(s);
      out.push({ ...item, id: `${this.o.base}/secrets/${s.name}` });
    }
    return out;
  }

  recover(name: string): Record<string, unknown> {
    const s = this.deletedOne(name);
    if (!s) throw new VaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
    delete s.deleted;
    s.settling = this.o.lag;
    return this.bundle(s, s.versions.at(-1)!, false);
  }

  purge(name: string): void {
    const s = this.deletedOne(name);
    if (!s) throw new VaultError(404, 'SecretNotFound', `Deleted Secret not found: ${name}`);
    // With purge protection only the vault's own purge, at the scheduled date, removes a secret.
    if (this.o.purgeProtection && this.o.clock.now() < s.deleted!.purgeAt) {
      throw new VaultError(403, 'Forbidden', "Operation 'purge' is not enabled for this vault (purge protection).", 'ForbiddenByPolicy');
    }
    this.secrets.delete(this.key(name));
  }

  /** Every stored version of a name (for tests that look at what an app reading the vault sees). */
  rawVersions(name: string): readonly StoredVersion[] {
    return this.secrets.get(name.toLowerCase())?.versions ?? [];
  }
}
