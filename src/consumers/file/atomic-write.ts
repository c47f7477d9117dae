/**
 * Atomic file replacement: write a temp file in the same folder, fsync it, rename it over the
 * target, fsync the folder. A reader sees the old content or the new, never a partial file, and
 * a crash leaves one of the two.
 *
 * The temp file is created with O_CREAT|O_EXCL|O_NOFOLLOW and the final mode, so it is never
 * readable more widely than the target will be (the umask can only narrow it; an fchmod then
 * sets the exact bits, still before any byte is written). When the target already holds exactly
 * these bytes with this mode, nothing is written and its mtime stays as it was.
 *
 * Renaming replaces a symlink at the target path with a regular file; it does not write through it.
 *
 * @example
 * ```ts
 * await writeFileAtomic('/etc/app/db.env', Buffer.from('PASSWORD=...\n'), 0o600); // 'written' or 'unchanged'
 * ```
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Flags of the temp file: create it, fail if it exists, never follow a planted symlink. */
export const TEMP_FILE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Numeric owner and group for the file (chown); -1 leaves that one as the writer's. */
export interface FileOwner {
  readonly uid: number;
  readonly gid: number;
}

/** Replaces `path` with `data` (mode `mode`, and `owner` when given) atomically, unless it already holds exactly that. */
export async function writeFileAtomic(path: string, data: Buffer, mode: number, owner?: FileOwner): Promise<'written' | 'unchanged'> {
  if (await holdsExactly(path, data, mode, owner)) return 'unchanged';
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString('hex')}.keyturn-tmp`);
  const handle = await open(temp, TEMP_FILE_FLAGS, mode);
  let renamed = false;
  try {
    try {
      // Owner before mode (a chown may clear set-id bits), both before any byte is written.
      if (owner !== undefined) await handle.chown(owner.uid, owner.gid);
      await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    renamed = true;
  } finally {
    if (!renamed) await rm(temp, { force: true }).catch(() => undefined);
  }
  await syncFolder(dir);
  return 'written';
}

/** True when `path` is a regular file with exactly these permission bits, bytes and (when given) owner. */
export async function holdsExactly(path: string, data: Buffer, mode: number, owner?: FileOwner): Promise<boolean> {
  try {
    const st = await lstat(path);
    if (!st.isFile() || (st.mode & 0o7777) !== mode || st.size !== data.length) return false;
    if (owner !== undefined && ((owner.uid !== -1 && st.uid !== owner.uid) || (owner.gid !== -1 && st.gid !== owner.gid))) return false;
    // Never blocks: a FIFO swapped in after the lstat opens at once and fails the fstat check.
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
    try {
      const opened = await handle.stat();
      if (!opened.isFile() || opened.size !== data.length) return false;
      return (await handle.readFile()).equals(data);
    } finally {
      await handle.close();
    }
  } catch {
    return false;
  }
}

async function syncFolder(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NONBLOCK);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
