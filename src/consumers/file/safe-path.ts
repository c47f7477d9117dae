/**
 * Whether a file consumer's destination is safe to write, in the manner of OpenSSH's StrictModes:
 * another user who can write to a folder on the way can swap a subfolder for a symlink and make
 * Keyturn write a secret somewhere else (or replace another folder's file).
 *
 * Refused, with the reason:
 * - a folder on the way (each parent up to /, as written and as resolved) that group or others
 *   can write, unless it has the sticky bit (like /tmp) and is not the file's own folder;
 * - a symlink on the way that sits in a folder group or others can write, sticky or not (a
 *   symlink is never followed out of /tmp);
 * - a destination that is a symlink, or exists and is not a regular file.
 *
 * @example
 * ```ts
 * await unsafeDestination('/etc/app/db.env'); // null, or 'the folder /etc/app is writable by others (mode 0777)'
 * ```
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, join, sep } from 'node:path';

const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;

const octal = (m: number) => `0${(m & 0o7777).toString(8).padStart(3, '0')}`;

function writableBy(st: Stats): string {
  const who = [(st.mode & 0o020) !== 0 ? 'group' : null, (st.mode & 0o002) !== 0 ? 'others' : null].filter((w) => w !== null);
  return who.join(' and ');
}

/** Each folder from / down to `dir` (absolute, normalized). */
function chain(dir: string): string[] {
  const parts = dir.split(sep).filter((p) => p !== '');
  const out: string[] = [sep];
  for (const p of parts) out.push(join(out[out.length - 1]!, p));
  return out;
}

/** Why writing `path` is unsafe, or null when it is safe. ENOENT and similar errors are left to the write itself. */
export async function unsafeDestination(path: string): Promise<string | null> {
  const folder = dirname(path);
  const folders = chain(folder);
  // As written: a symlink must not sit in a folder others can write; each real folder is checked.
  for (const [i, f] of folders.entries()) {
    const st = await lstat(f).catch(() => null);
    if (st === null) return null;
    if (st.isSymbolicLink()) {
      const parent = await stat(folders[i - 1] ?? sep);
      if ((parent.mode & GROUP_OR_OTHER_WRITE) !== 0) return `${f} is a symlink in ${folders[i - 1]}, a folder ${writableBy(parent)} can write (mode ${octal(parent.mode)}); use the real path`;
      continue;
    }
    const problem = folderProblem(f, st, f === folder);
    if (problem) return problem;
  }
  // As resolved: the folders the file really lands in.
  const real = await realpath(folder).catch(() => null);
  if (real === null) return null;
  const resolved = chain(real);
  for (const f of resolved) {
    const st = await lstat(f).catch(() => null);
    if (st === null) return null;
    const problem = folderProblem(f, st, f === real);
    if (problem) return problem;
  }
  const target = await lstat(path).catch(() => null);
  if (target?.isSymbolicLink()) return `${path} is a symlink; point the consumer at the real file (Keyturn never writes through a symlink)`;
  if (target && !target.isFile()) return `${path} exists and is not a regular file`;
  return null;
}

function folderProblem(f: string, st: Stats, own: boolean): string | null {
  if (!st.isDirectory()) return null; // ENOTDIR follows from the write
  if ((st.mode & GROUP_OR_OTHER_WRITE) === 0) return null;
  if ((st.mode & STICKY) !== 0 && !own) return null;
  const what = own ? 'the folder of the file' : 'a folder on the way';
  return `${what}, ${f}, is writable by ${writableBy(st)} (mode ${octal(st.mode)}); run \`chmod go-w ${f}\` or write the file elsewhere`;
}
