/**
 * The local Vault server's KV version 2 engine: one mount's keys, their versions and metadata,
 * following Vault's published KV v2 API (developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2):
 * versions numbered from 1 per key, `options.cas` on data writes (0: create only), `cas_required`
 * (mount config or key metadata), `max_versions` (the oldest versions beyond it are removed; 0:
 * the mount's, whose 0 means 10), soft delete / undelete / destroy of versions, metadata with
 * `custom_metadata` checked against Vault's limits (64 keys, key 128 bytes, value 512 bytes), and
 * listing of a folder's immediate children (`folder/` for a folder).
 *
 * @example
 * ```ts
 * const kv = new KvEngine(clock);
 * kv.writeData('app/db', { password: 'x' }, 0); // { version: 1, ... }
 * ```
 */
import type { Clock } from '../../../src/core/clock.js';

/** A KV v2 error: the HTTP status and Vault's message (sent as {"errors": [message]}). */
export class KvError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** A 404 body's data (Vault returns a deleted or destroyed version's metadata with its 404). */
    readonly data?: unknown,
  ) {
    super(message);
  }
}

interface KvVersion {
  data: Record<string, unknown> | null;
  created: number;
  deleted: number | null;
  destroyed: boolean;
}

interface KvKey {
  created: number;
  updated: number;
  current: number;
  oldest: number;
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfter: string;
  customMetadata: Record<string, string> | null;
  versions: Map<number, KvVersion>;
}

/** What a version's metadata looks like in responses. */
export interface VersionMetadata {
  created_time: string;
  custom_metadata: Record<string, string> | null;
  deletion_time: string;
  destroyed: boolean;
  version: number;
}

const time = (ms: number): string => new Date(ms).toISOString().replace('Z', '000000Z');

export class KvEngine {
  private readonly keys = new Map<string, KvKey>();
  /** The mount's config (POST /config): default max_versions (0: 10) and cas_required. */
  config = { maxVersions: 0, casRequired: false, deleteVersionAfter: '0s' };

  constructor(private readonly clock: Clock) {}

  private versionMetadata(key: KvKey, n: number): VersionMetadata {
    const v = key.versions.get(n)!;
    return {
      created_time: time(v.created),
      custom_metadata: key.customMetadata,
      deletion_time: v.deleted === null ? '' : time(v.deleted),
      destroyed: v.destroyed,
      version: n,
    };
  }

  /** GET data: the version (0: the current one) with its data and metadata. */
  readData(path: string, version: number): { data: Record<string, unknown> | null; metadata: VersionMetadata } {
    const key = this.keys.get(path);
    if (!key) throw new KvError(404, '');
    const n = version === 0 ? key.current : version;
    const v = key.versions.get(n);
    if (!v) throw new KvError(404, '');
    const metadata = this.versionMetadata(key, n);
    if (v.deleted !== null || v.destroyed) throw new KvError(404, '', { data: null, metadata });
    return { data: v.data, metadata };
  }

  /** POST/PUT data: a new version, with the check-and-set Vault does. */
  writeData(path: string, data: unknown, cas: number | undefined): VersionMetadata {
    if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new KvError(400, 'no data provided');
    const existing = this.keys.get(path);
    const casRequired = this.config.casRequired || (existing?.casRequired ?? false);
    if (casRequired && cas === undefined) throw new KvError(400, 'check-and-set parameter required for this call');
    if (cas !== undefined && cas !== (existing?.current ?? 0)) throw new KvError(400, 'check-and-set parameter did not match the current version');
    const now = this.clock.now();
    const key: KvKey = existing ?? {
      created: now,
      updated: now,
      current: 0,
      oldest: 0,
      maxVersions: 0,
      casRequired: false,
      deleteVersionAfter: '0s',
      customMetadata: null,
      versions: new Map(),
    };
    this.keys.set(path, key);
    key.current += 1;
    key.updated = now;
    key.versions.set(key.current, { data: data as Record<string, unknown>, created: now, deleted: null, destroyed: false });
    const max = key.maxVersions || this.config.maxVersions || 10;
    const numbers = [...key.versions.keys()].sort((a, b) => a - b);
    while (numbers.length > max) key.versions.delete(numbers.shift()!);
    key.oldest = numbers[0] ?? 0;
    return this.versionMetadata(key, key.current);
  }

  /** Soft delete (DELETE data: the current version; POST delete/: the versions named). */
  deleteVersions(path: string, versions: number[] | 'current'): void {
    const key = this.keys.get(path);
    if (!key) return;
    const now = this.clock.now();
    for (const n of versions === 'current' ? [key.current] : versions) {
      const v = key.versions.get(n);
      if (v && !v.destroyed && v.deleted === null) v.deleted = now;
    }
    key.updated = now;
  }

  undeleteVersions(path: string, versions: number[]): void {
    const key = this.keys.get(path);
    if (!key) return;
    for (const n of versions) {
      const v = key.versions.get(n);
      if (v && !v.destroyed) v.deleted = null;
    }
    key.updated = this.clock.now();
  }

  destroyVersions(path: string, versions: number[]): void {
    const key = this.keys.get(path);
    if (!key) return;
    for (const n of versions) {
      const v = key.versions.get(n);
      if (v) {
        v.destroyed = true;
        v.data = null;
      }
    }
    key.updated = this.clock.now();
  }

  readMetadata(path: string): Record<string, unknown> {
    const key = this.keys.get(path);
    if (!key) throw new KvError(404, '');
    const versions: Record<string, unknown> = {};
    for (const [n, v] of key.versions) {
      versions[String(n)] = { created_time: time(v.created), deletion_time: v.deleted === null ? '' : time(v.deleted), destroyed: v.destroyed };
    }
    return {
      cas_required: key.casRequired,
      created_time: time(key.created),
      current_version: key.current,
      custom_metadata: key.customMetadata,
      delete_version_after: key.deleteVersionAfter,
      max_versions: key.maxVersions,
      oldest_version: key.oldest,
      updated_time: time(key.updated),
      versions,
    };
  }

  /** POST metadata: sets the fields given (custom_metadata replaced whole); creates the key if missing. */
  writeMetadata(path: string, body: Record<string, unknown>, patch = false): void {
    const custom = body.custom_metadata;
    if (custom !== undefined && custom !== null) checkCustomMetadata(custom);
    const now = this.clock.now();
    const key = this.keys.get(path) ?? {
      created: now,
      updated: now,
      current: 0,
      oldest: 0,
      maxVersions: 0,
      casRequired: false,
      deleteVersionAfter: '0s',
      customMetadata: null,
      versions: new Map<number, KvVersion>(),
    };
    if (typeof body.max_versions === 'number') key.maxVersions = body.max_versions;
    if (typeof body.cas_required === 'boolean') key.casRequired = body.cas_required;
    if (typeof body.delete_version_after === 'string') key.deleteVersionAfter = body.delete_version_after;
    if (custom !== undefined) {
      const next = patch ? { ...(key.customMetadata ?? {}), ...(custom as Record<string, string | null>) } : (custom as Record<string, string> | null);
      if (next) for (const [k, v] of Object.entries(next)) if (v === null) delete next[k];
      if (next) checkCustomMetadata(next);
      key.customMetadata = next as Record<string, string> | null;
    }
    key.updated = now;
    this.keys.set(path, key);
  }

  /** DELETE metadata: the key and every version, for good. */
  deleteMetadata(path: string): void {
    this.keys.delete(path);
  }

  /** LIST: the immediate children of a folder (`''`: the root), folders ending in `/`. */
  list(folder: string): string[] {
    const prefix = folder === '' || folder.endsWith('/') ? folder : `${folder}/`;
    const out = new Set<string>();
    for (const path of this.keys.keys()) {
      if (!path.startsWith(prefix)) continue;
      const rest = path.slice(prefix.length);
      const slash = rest.indexOf('/');
      out.add(slash === -1 ? rest : rest.slice(0, slash + 1));
    }
    if (out.size === 0) throw new KvError(404, '');
    return [...out].sort();
  }

  /** How many keys the mount holds (tests). */
  get size(): number {
    return this.keys.size;
  }
}

function checkCustomMetadata(custom: unknown): void {
  if (typeof custom !== 'object' || custom === null || Array.isArray(custom)) throw new KvError(400, 'custom_metadata must be a map of strings');
  const entries = Object.entries(custom as Record<string, unknown>);
  const problems: string[] = [];
  if (entries.length > 64) problems.push(`payload must contain at most 64 keys, provided: ${entries.length}`);
  for (const [k, v] of entries) {
    if (Buffer.byteLength(k) > 128) problems.push(`length of key "${k}" is ${Buffer.byteLength(k)} but max is 128`);
    if (v !== null && typeof v !== 'string') problems.push(`value of key "${k}" is not a string`);
    if (typeof v === 'string' && Buffer.byteLength(v) > 512) problems.push(`length of value for key "${k}" is ${Buffer.byteLength(v)} but max is 512`);
  }
  if (problems.length > 0) throw new KvError(400, `custom_metadata validation failed: ${problems.join('; ')}`);
}
