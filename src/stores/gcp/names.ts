/**
 * How Keyturn paths become Secret Manager secret ids, and what Keyturn keeps in a secret's
 * annotations and labels.
 *
 * A secret id allows 1 to 255 of `[A-Za-z0-9_-]`; a Keyturn path allows `.` and `/` too and up to
 * 512 characters. The id is the prefix, then the path with `_` as an escape: `/` is `__`, `_` is
 * `_u`, `.` is `_d` (so `prod/db/app_user` is `prod__db__app_uuser`): one path, one id, and back.
 * A path whose id would pass 255 characters keeps what fits of it (whole escapes only) and ends
 * in `_h` and the SHA-256 of the path; the escape never makes `_h`, so the two forms cannot meet.
 * The path itself is also kept in the `keyturn-path` annotation, which is what Keyturn reads back.
 *
 * @example
 * ```ts
 * secretIdOf('kt-', 'prod/db/app_user'); // 'kt-prod__db__app_uuser'
 * pathOfId('kt-', 'kt-prod__db__app_uuser'); // 'prod/db/app_user'
 * ```
 */
import { createHash } from 'node:crypto';
import { underscoreEscape, underscoreUnescape } from '../underscore-escape.js';

const MAX_ID = 255;

/** Annotation and label names. */
export const PATH_ANNOTATION = 'keyturn-path';
export const MANAGED_LABEL = 'managed-by';
export const MANAGED_VALUE = 'keyturn';

/** `/`, `_` and `.` escaped with `_` (./underscore-escape.ts). */
const CODES = { '/': '_', _: 'u', '.': 'd' } as const;

function escapeChar(c: string): string {
  return underscoreEscape(c, CODES);
}

/** The secret id of `path` under `prefix`. */
export function secretIdOf(prefix: string, path: string): string {
  const pieces = [...path].map(escapeChar);
  const full = prefix + pieces.join('');
  if (full.length <= MAX_ID) return full;
  const hash = `_h${createHash('sha256').update(path, 'utf8').digest('hex')}`;
  let out = prefix;
  for (const piece of pieces) {
    if (out.length + piece.length + hash.length > MAX_ID) break;
    out += piece;
  }
  return out + hash;
}

/** The path a (non-hashed) secret id stands for, or null when it is not one of Keyturn's ids. */
export function pathOfId(prefix: string, id: string): string | null {
  if (!id.startsWith(prefix)) return null;
  return underscoreUnescape(id.slice(prefix.length), CODES);
}
