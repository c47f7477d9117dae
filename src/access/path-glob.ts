/**
 * Path globs of access rules, matched against secret paths (segments separated by `/`):
 *
 * - a literal segment matches itself;
 * - `*` inside a segment matches any characters but `/` (`prod/db/*`, `prod/app-*`);
 * - a segment that is exactly `**` matches one or more whole segments at the end (`prod/**`: every
 *   path under prod/), zero or more at the start or in the middle (`**` then `/root`: root,
 *   prod/root, prod/x/root), and any path alone (`**`).
 *
 * Globs are checked once (no empty segment, no other special characters) and compiled to an
 * anchored regular expression without backtracking traps: each `*` is `[^/]*` within a segment.
 *
 * @example
 * ```ts
 * compileGlob('prod/db/*').test('prod/db/app'); // true
 * compileGlob('prod/**').test('prod/db/app');   // true
 * compileGlob('prod/**').test('prod');          // false
 * ```
 */

const SEGMENT = /^[A-Za-z0-9._*-]+$/;

/** Why a glob is not valid, or null. */
export function globProblem(glob: string): string | null {
  if (glob.length === 0 || glob.length > 512) return 'must be 1 to 512 characters';
  const segments = glob.split('/');
  let prev = '';
  for (const s of segments) {
    if (s === '') return 'has an empty segment (a leading, trailing or doubled "/")';
    if (s !== '**' && s.includes('**')) return `segment "${s}": "**" must be a whole segment`;
    if (s === '**' && prev === '**') return 'has "**" twice in a row';
    prev = s;
    if (!SEGMENT.test(s)) return `segment "${s}" may hold only letters, digits, ".", "_", "-" and "*"`;
  }
  return null;
}

const escape = (s: string): string => s.replace(/[.-]/g, (c) => `\\${c}`);

/** The glob as an anchored regular expression (throws on a glob with a problem: check first). */
export function compileGlob(glob: string): RegExp {
  const problem = globProblem(glob);
  if (problem) throw new Error(`path glob "${glob}" ${problem}`);
  const segments = glob.split('/');
  if (segments.length === 1 && segments[0] === '**') return /^.+$/;
  let re = '';
  // After a leading "**", the next segment follows its own "/" (part of the "**" pattern).
  let sep = false;
  segments.forEach((s, i) => {
    const last = i === segments.length - 1;
    if (s === '**') {
      if (i === 0) re += '(?:[^/]+/)*';
      else re += last ? '(?:/[^/]+)+' : '(?:/[^/]+)*';
      sep = i > 0;
      return;
    }
    re += (sep ? '/' : '') + escape(s).replace(/\*/g, '[^/]*');
    sep = true;
  });
  return new RegExp(`^${re}$`);
}
