/**
 * Object names of the kubernetes store. A path whose segments are all DNS-1123 labels (lower
 * case letters, digits and `-`, none starting with `kt-` or `kv-`) maps reversibly to the Secret
 * `seg1.seg2.seg3` (`prod/db/app` → `prod.db.app`), so applications can mount it by a name anyone
 * can work out; any other path maps to `kt-<readable part>-<hash>`. Each version lives in
 * `<index name>.kv-<hash of path and version id>`. The true path is always in the
 * `keyturn.dev/path` annotation and is checked on every read, so a collision is refused, never
 * mixed up.
 *
 * @example
 * ```ts
 * indexName('prod/db/app'); // 'prod.db.app'
 * indexName('Prod/DB_app'); // 'kt-prod-db-app-63c5db3d12'
 * ```
 */
import { createHash } from 'node:crypto';

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const hash = (text: string, chars: number) => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, chars);

/** The label value that finds every object of a path (a hash: label values are at most 63 characters). */
export function pathHash(path: string): string {
  return hash(path, 32);
}

/** The name of the path's index Secret: the one applications mount (it holds the current value). */
export function indexName(path: string): string {
  const segments = path.split('/');
  if (path.length <= 200 && segments.every((s) => s.length <= 63 && LABEL.test(s) && !s.startsWith('kt-') && !s.startsWith('kv-'))) return segments.join('.');
  const readable = path
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return `kt-${readable === '' ? 'x' : readable}-${hash(path, 10)}`;
}

/** The name of one version's Secret. */
export function versionName(path: string, versionId: string): string {
  return `${indexName(path)}.kv-${hash(`${path}\0${versionId}`, 16)}`;
}
