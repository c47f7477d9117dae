/**
 * What Keyturn keeps in a Secret Manager secret's annotations, read and written as one record:
 * the path, metadata, each version's Keyturn id, kind and creation time (`kt-v<n>`: a version has
 * no metadata of its own), the put in flight (`kt-put`), and the soft-delete marks. Stages are
 * not here: they are the secret's version aliases `current`, `pending` and `previous`.
 *
 * @example
 * ```ts
 * const rec = readRecord(secret.annotations ?? {});
 * rec.versions.get(3); // { id: 'run-7', kind: 'json', createdAt: 1767225600000 }
 * ```
 */
import type { SecretMetadata } from '../../core/types.js';
import { PATH_ANNOTATION } from './names.js';

export interface VersionRecord {
  id: string;
  kind: 'string' | 'json';
  createdAt: number;
}

/** A put between its claim and its record: its owner's token, and the version id and kind it adds. */
export interface PutIntent {
  token: string;
  id: string;
  kind: 'string' | 'json';
}

export interface SecretRecord {
  path: string | null;
  metadata: SecretMetadata;
  updatedAt: number | null;
  deletedAt: number | null;
  purgeAfter: number | null;
  /** Version numbers the soft delete disabled (restore enables them again). */
  disabled: number[];
  /** Keyturn's versions by their Secret Manager number. */
  versions: Map<number, VersionRecord>;
  intent: PutIntent | null;
}

const VERSION_KEY = /^kt-v([1-9][0-9]*)$/;
const KIND = { s: 'string', j: 'json' } as const;

function num(text: string | undefined): number | null {
  if (text === undefined || !/^[0-9]+$/.test(text)) return null;
  return Number(text);
}

export function readRecord(annotations: Record<string, string>): SecretRecord {
  const versions = new Map<number, VersionRecord>();
  for (const [key, value] of Object.entries(annotations)) {
    const m = VERSION_KEY.exec(key);
    const v = m ? /^([sj]):([0-9]+):(.+)$/.exec(value) : null;
    if (m && v) versions.set(Number(m[1]), { kind: KIND[v[1] as 's' | 'j'], createdAt: Number(v[2]), id: v[3]! });
  }
  let tags: Record<string, string> = {};
  try {
    const parsed: unknown = JSON.parse(annotations['kt-tags'] ?? '{}');
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) tags = parsed as Record<string, string>;
  } catch {
    tags = {};
  }
  const intentMatch = /^([A-Za-z0-9-]+):([sj]):(.+)$/.exec(annotations['kt-put'] ?? '');
  return {
    path: annotations[PATH_ANNOTATION] ?? null,
    metadata: { type: annotations['kt-type'] ?? null, description: annotations['kt-description'] ?? null, owner: annotations['kt-owner'] ?? null, tags },
    updatedAt: num(annotations['kt-updated-at']),
    deletedAt: num(annotations['kt-deleted-at']),
    purgeAfter: num(annotations['kt-purge-after']),
    disabled: (annotations['kt-disabled'] ?? '')
      .split(',')
      .filter((x) => /^[0-9]+$/.test(x))
      .map(Number),
    versions,
    intent: intentMatch ? { token: intentMatch[1]!, kind: KIND[intentMatch[2] as 's' | 'j'], id: intentMatch[3]! } : null,
  };
}

/** Annotations with `patch` applied: a string sets a key, null removes it. */
export function patchAnnotations(annotations: Record<string, string>, patch: Record<string, string | null>): Record<string, string> {
  const out = { ...annotations };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

export function versionKey(number: number): string {
  return `kt-v${number}`;
}

export function versionValue(v: VersionRecord): string {
  return `${v.kind === 'json' ? 'j' : 's'}:${v.createdAt}:${v.id}`;
}

export function intentValue(i: PutIntent): string {
  return `${i.token}:${i.kind === 'json' ? 'j' : 's'}:${i.id}`;
}

/** The annotation patch for metadata (absent keys untouched; null clears). */
export function metadataPatch(m: Partial<SecretMetadata>): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  if (m.type !== undefined) out['kt-type'] = m.type;
  if (m.description !== undefined) out['kt-description'] = m.description;
  if (m.owner !== undefined) out['kt-owner'] = m.owner;
  if (m.tags !== undefined) out['kt-tags'] = JSON.stringify(m.tags);
  return out;
}
