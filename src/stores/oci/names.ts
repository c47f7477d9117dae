/**
 * Keyturn names onto OCI names, both ways. OCI secret and version names take only letters,
 * digits, `-`, `_` and `.`, so `_` is the escape: a path's `/` becomes `__` and its `_` becomes
 * `_u`; a version id's `:` becomes `_c`; a version name ending in `_j` holds a JSON value
 * (OCI keeps nothing else per version). A path whose name would pass OCI's 255 characters gets a
 * hashed name (`kt-h-<sha256>`); its path is then read from the secret's metadata.
 *
 * @example
 * ```ts
 * secretName('prod/db/app_user', 'kt-'); // 'kt-prod__db__app_uuser'
 * pathOf('kt-prod__db__app_uuser', 'kt-'); // 'prod/db/app_user'
 * versionName('run:1', 'json'); // 'run_c1_j'
 * ```
 */
import { createHash } from 'node:crypto';
import { underscoreEscape, underscoreUnescape } from '../underscore-escape.js';

const MAX_NAME = 255;
const HASHED = 'kt-h-';
/** A path's `/` and `_`, and a version id's `_` and `:`, escaped with `_` (../underscore-escape.ts). */
const PATH_CODES = { '/': '_', _: 'u' } as const;
const ID_CODES = { _: 'u', ':': 'c' } as const;

/** The OCI secret name of a path. */
export function secretName(path: string, prefix: string): string {
  const name = prefix + underscoreEscape(path, PATH_CODES);
  return name.length <= MAX_NAME ? name : `${prefix}${HASHED}${createHash('sha256').update(path).digest('hex')}`;
}

/** The path an OCI secret name stands for; null for a name Keyturn did not make, `hashed` for a hashed one. */
export function pathOf(name: string, prefix: string): string | null | 'hashed' {
  if (!name.startsWith(prefix)) return null;
  const body = name.slice(prefix.length);
  if (body.startsWith(HASHED)) return 'hashed';
  return underscoreUnescape(body, PATH_CODES);
}

/** The OCI version name of a Keyturn version id and kind. */
export function versionName(id: string, kind: 'string' | 'json'): string {
  return underscoreEscape(id, ID_CODES) + (kind === 'json' ? '_j' : '');
}

/** The version id and kind an OCI version name stands for; a version without a name (made outside Keyturn) is `oci.<number>`. */
export function versionOf(name: string | undefined, number: number): { id: string; kind: 'string' | 'json' } {
  if (name === undefined || name === '') return { id: `oci.${number}`, kind: 'string' };
  const json = name.endsWith('_j') && underscoreUnescape(name.slice(0, -2), ID_CODES) !== null;
  const id = underscoreUnescape(json ? name.slice(0, -2) : name, ID_CODES);
  return id === null ? { id: name, kind: 'string' } : { id, kind: json ? 'json' : 'string' };
}
