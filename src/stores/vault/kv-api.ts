/**
 * The KV version 2 calls the Vault store makes, typed: data read and `cas` write, metadata read,
 * patch and delete, version delete / undelete / destroy, and folder listing (`GET ?list=true`,
 * which Vault serves as LIST). Paths are Keyturn paths (URL-safe by their character set).
 *
 * @example
 * ```ts
 * const kv = new KvApi(client, 'secret');
 * const written = await kv.writeData('app/db', { password: 'x' }, 0); // { version: 1, created } or 'cas-mismatch'
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import type { VaultAnswer, VaultClient } from './client.js';

export interface KvVersionState {
  created: number;
  deleted: boolean;
  destroyed: boolean;
}

export interface KvMetadata {
  current: number;
  created: number;
  updated: number;
  versions: Map<number, KvVersionState>;
  customMetadata: Record<string, string>;
}

/** Vault's RFC 3339 time (nanoseconds) in epoch milliseconds. */
export function vaultTime(text: unknown): number {
  if (typeof text !== 'string' || text === '') return 0;
  return Date.parse(text.replace(/(\.\d{3})\d+/, '$1'));
}

export class KvApi {
  constructor(
    private readonly client: VaultClient,
    private readonly mount: string,
  ) {}

  /** One version's data (0: the newest) and its KV version; null when there is none to read (missing, deleted, destroyed). */
  async readData(path: string, version = 0): Promise<{ data: Record<string, unknown>; version: number; created: number } | null> {
    const res = await this.client.call('GET', `${this.mount}/data/${path}${version > 0 ? `?version=${version}` : ''}`);
    if (res.status === 404) return null;
    const body = this.ok(res, 'GET', path) as { data?: Record<string, unknown> | null; metadata?: { version?: number; created_time?: string } } | null;
    if (!body?.data) return null;
    return { data: body.data, version: Number(body.metadata?.version ?? 0), created: vaultTime(body.metadata?.created_time) };
  }

  /** A write with check-and-set `cas` (0: create only); 'cas-mismatch' when Vault's current version is not `cas`. */
  async writeData(path: string, data: Record<string, unknown>, cas: number): Promise<{ version: number; created: number } | 'cas-mismatch'> {
    const res = await this.client.call('POST', `${this.mount}/data/${path}`, { options: { cas }, data });
    if (res.status === 400 && res.errors.some((e) => e.includes('check-and-set'))) return 'cas-mismatch';
    const body = this.ok(res, 'POST', path) as { version?: number; created_time?: string };
    return { version: Number(body.version), created: vaultTime(body.created_time) };
  }

  async readMetadata(path: string): Promise<KvMetadata | null> {
    const res = await this.client.call('GET', `${this.mount}/metadata/${path}`);
    if (res.status === 404) return null;
    const body = this.ok(res, 'GET', `metadata/${path}`) as {
      current_version?: number;
      created_time?: string;
      updated_time?: string;
      custom_metadata?: Record<string, string> | null;
      versions?: Record<string, { created_time?: string; deletion_time?: string; destroyed?: boolean }>;
    };
    const versions = new Map<number, KvVersionState>();
    for (const [n, v] of Object.entries(body.versions ?? {})) {
      versions.set(Number(n), { created: vaultTime(v.created_time), deleted: typeof v.deletion_time === 'string' && v.deletion_time !== '', destroyed: v.destroyed === true });
    }
    return { current: Number(body.current_version ?? 0), created: vaultTime(body.created_time), updated: vaultTime(body.updated_time), versions, customMetadata: body.custom_metadata ?? {} };
  }

  /** A JSON merge patch of the metadata (custom_metadata keys set to null are removed). */
  async patchMetadata(path: string, patch: Record<string, unknown>): Promise<void> {
    const res = await this.client.call('PATCH', `${this.mount}/metadata/${path}`, patch);
    if (res.status !== 404) this.ok(res, 'PATCH', `metadata/${path}`);
  }

  /** Deletes the entry and every version, for good. */
  async deleteMetadata(path: string): Promise<void> {
    const res = await this.client.call('DELETE', `${this.mount}/metadata/${path}`);
    if (res.status !== 404) this.ok(res, 'DELETE', `metadata/${path}`);
  }

  /** `delete`, `undelete` or `destroy` of versions. */
  async versionsOp(op: 'delete' | 'undelete' | 'destroy', path: string, versions: number[]): Promise<void> {
    if (versions.length === 0) return;
    const res = await this.client.call(op === 'destroy' ? 'PUT' : 'POST', `${this.mount}/${op}/${path}`, { versions });
    if (res.status !== 404) this.ok(res, op, path);
  }

  /** A folder's immediate children (`''`: the mount's root); folders end in `/`. */
  async list(folder: string): Promise<string[]> {
    const res = await this.client.call('GET', `${this.mount}/metadata/${folder}?list=true`);
    if (res.status === 404) return [];
    const body = this.ok(res, 'LIST', folder) as { keys?: unknown };
    return Array.isArray(body?.keys) ? body.keys.filter((k): k is string => typeof k === 'string') : [];
  }

  private ok(res: VaultAnswer, op: string, path: string): unknown {
    if (res.status >= 200 && res.status < 300) return res.data;
    throw new KeyturnError('KT_STORE_FAILED', `Vault answered ${res.status} to ${op} ${this.mount}/${path}: ${res.errors.join('; ').slice(0, 300) || 'no error text'}`, {
      details: { status: res.status },
    });
  }
}
