/**
 * Keyturn paths as Key Vault secret names, and what Keyturn keeps in a version's tags.
 *
 * Key Vault names are 1 to 127 characters of [0-9a-zA-Z-] and are case-insensitive, while a
 * Keyturn path is up to 512 characters of [A-Za-z0-9._-] and `/`, case-sensitive. A path is
 * spelled with `-` as the escape: `/` is `--`, `-` is `-d`, `_` is `-u`, `.` is `-p` and a capital
 * letter `X` is `-cx` (`prod/db/app` is `prod--db--app`). A path whose spelling would pass 127
 * characters is named `kt-h-` and a hash of it instead (no spelling can start so: `-h` is no
 * escape). Every version also carries the path itself in tags (`kt-path`, `kt-path2` past 256
 * characters), so listing never needs to decode a name.
 *
 * @example
 * ```ts
 * secretName('', 'prod/db/app');          // 'prod--db--app'
 * secretName('kt-', 'App_Key');           // 'kt--capp-u-ckey'
 * ```
 */
import { createHash } from 'node:crypto';

export const MAX_NAME_LENGTH = 127;
const TAG_VALUE_MAX = 256;

/**
 * The tags Keyturn puts on every version it writes.
 *
 * @example
 * ```ts
 * props.tags?.[TAG.id]; // the Keyturn version id
 * ```
 */
export const TAG = { path: 'kt-path', path2: 'kt-path2', id: 'kt-id', number: 'kt-n', kind: 'kt-kind', copy: 'kt-copy' } as const;

const ESCAPES: Record<string, string> = { '/': '--', '-': '-d', _: '-u', '.': '-p' };

/**
 * The Key Vault name of `path` under `prefix` (the path must be valid).
 *
 * @example
 * ```ts
 * secretName('kt-', 'prod/db/app'); // 'kt-prod--db--app'
 * ```
 */
export function secretName(prefix: string, path: string): string {
  let spelled = '';
  for (const ch of path) {
    if (/[a-z0-9]/.test(ch)) spelled += ch;
    else if (/[A-Z]/.test(ch)) spelled += `-c${ch.toLowerCase()}`;
    else spelled += ESCAPES[ch] ?? '';
  }
  const name = `${prefix}${spelled}`;
  if (name.length <= MAX_NAME_LENGTH) return name;
  return `${prefix}kt-h-${createHash('sha256').update(path).digest('hex').slice(0, 64)}`;
}

/**
 * The path tags of a version: `kt-path` and, past 256 characters, `kt-path2`.
 *
 * @example
 * ```ts
 * pathTags('prod/db'); // { 'kt-path': 'prod/db' }
 * ```
 */
export function pathTags(path: string): Record<string, string> {
  if (path.length <= TAG_VALUE_MAX) return { [TAG.path]: path };
  return { [TAG.path]: path.slice(0, TAG_VALUE_MAX), [TAG.path2]: path.slice(TAG_VALUE_MAX) };
}

/**
 * The path a version's tags name, or undefined when it is not a Keyturn version.
 *
 * @example
 * ```ts
 * pathOfTags(pathTags(longPath)) === longPath; // true
 * ```
 */
export function pathOfTags(tags: Record<string, string> | undefined): string | undefined {
  const first = tags?.[TAG.path];
  if (first === undefined) return undefined;
  return first + (tags?.[TAG.path2] ?? '');
}
