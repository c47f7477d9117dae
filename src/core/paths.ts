/**
 * Secret path validation.
 *
 * A path is one or more segments of `[A-Za-z0-9._-]` joined by single `/`, at most 512
 * characters, with no `.` or `..` segment. Each way of getting it wrong has its own code,
 * so a user (or a script) knows exactly what to change.
 *
 * @example
 * ```ts
 * assertValidPath('prod/db/app_user');   // ok
 * assertValidPath('/prod');              // throws KT_PATH_LEADING_SLASH
 * ```
 */
import { KeyturnError } from './errors.js';

export const MAX_PATH_LENGTH = 512;
const SEGMENT = /^[A-Za-z0-9._-]+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Throws a `KT_PATH_*` error unless `path` is a valid secret path; returns it unchanged. */
export function assertValidPath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) throw new KeyturnError('KT_PATH_EMPTY');
  if (CONTROL.test(path)) throw new KeyturnError('KT_PATH_CONTROL_CHAR', 'the secret path contains a control character');
  if (path.length > MAX_PATH_LENGTH) {
    throw new KeyturnError('KT_PATH_TOO_LONG', `the secret path has ${path.length} characters; at most ${MAX_PATH_LENGTH} are allowed`);
  }
  if (path.startsWith('/')) throw new KeyturnError('KT_PATH_LEADING_SLASH', `the secret path "${path}" starts with "/"`);
  for (const segment of path.split('/')) {
    if (segment === '') throw new KeyturnError('KT_PATH_EMPTY_SEGMENT', `the secret path "${path}" has an empty segment`);
    if (segment === '.' || segment === '..') {
      throw new KeyturnError('KT_PATH_DOT_SEGMENT', `the secret path "${path}" has a "${segment}" segment`);
    }
    if (!SEGMENT.test(segment)) {
      throw new KeyturnError('KT_PATH_INVALID_CHAR', `the secret path segment "${segment}" has a character outside [A-Za-z0-9._-]`);
    }
  }
  return path;
}

/**
 * Whether `path` is a valid secret path (as {@link assertValidPath} checks, without the error).
 *
 * @example
 * ```ts
 * isValidPath('prod/db'); // true
 * isValidPath('pasted value with spaces'); // false
 * ```
 */
export function isValidPath(path: unknown): path is string {
  try {
    assertValidPath(path as string);
    return true;
  } catch {
    return false;
  }
}

/**
 * Validates a listing prefix: empty (everything), or a path, optionally ending in `/`.
 * Returns the prefix without a trailing slash-free ambiguity: `prod` matches `prod` and `prod/...`
 * but not `production`; `prod/` matches only below `prod`.
 */
export function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined || prefix === '') return '';
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  assertValidPath(trimmed);
  return trimmed;
}

/** True when `path` is `prefix` itself or lies below it. An empty prefix matches everything. */
export function pathHasPrefix(path: string, prefix: string): boolean {
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`);
}
