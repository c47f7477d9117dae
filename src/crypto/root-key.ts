/**
 * The root key: 32 random bytes that wrap every data key. It lives in `root.key` in the Keyturn
 * home (base64, mode 0600) or comes from `KEYTURN_ROOT_KEY`. Only its fingerprint is ever stored
 * or printed.
 *
 * Root rotation writes the new key to `root.key.next` before touching the database and renames it
 * over `root.key` after, so a crash at any point leaves a key that opens the data keys:
 * {@link loadRootKeyCandidates} offers both and the key ring picks the one whose fingerprint matches.
 * Just before that rename the replaced key is copied to `root.key.old` (mode 0600), kept for the
 * operator (backups made under it) until they remove it; it is never offered to open the state.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KeyturnError } from '../core/errors.js';
import { KEY_BYTES } from './aead.js';

export const ROOT_KEY_FILE = 'root.key';
export const NEXT_ROOT_KEY_FILE = 'root.key.next';
/** The key a root rotation replaced; Keyturn writes it and never reads it to open anything. */
export const OLD_ROOT_KEY_FILE = 'root.key.old';

export interface RootKey {
  /** Fingerprint: names the key without revealing anything about it. */
  readonly id: string;
  readonly key: Buffer;
  /** Where it came from: `env`, or the file path. */
  readonly source: string;
}

export function generateRootKey(source = 'generated'): RootKey {
  return rootKeyFrom(randomBytes(KEY_BYTES), source);
}

export function rootKeyFrom(key: Buffer, source: string): RootKey {
  const id = `rk_${createHmac('sha256', key).update('keyturn root key id').digest('hex').slice(0, 16)}`;
  return Object.freeze({ id, key, source });
}

/** Parses base64 key text (whitespace ignored) into a root key. */
export function parseRootKey(text: string, source: string): RootKey {
  const clean = text.trim();
  const key = Buffer.from(clean, 'base64');
  if (key.length !== KEY_BYTES || key.toString('base64') !== clean) {
    throw new KeyturnError('KT_ROOT_KEY_INVALID', `the root key from ${source} is not 32 bytes of base64`);
  }
  return rootKeyFrom(key, source);
}

export function encodeRootKey(root: RootKey): string {
  return `${root.key.toString('base64')}\n`;
}

/** Reads a key file, refusing one that group or others can read. */
export function readRootKeyFile(file: string): RootKey {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new KeyturnError('KT_ROOT_KEY_FILE_MODE', `${file} has mode ${mode.toString(8)}; it must be 600`);
  }
  return parseRootKey(readFileSync(file, 'utf8'), file);
}

/** Writes a key file with mode 0600 atomically (temp file, fsync, rename). */
export function writeRootKeyFile(file: string, root: RootKey): void {
  const tmp = join(dirname(file), `.${ROOT_KEY_FILE}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, encodeRootKey(root));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  fsyncDir(dirname(file));
}

export function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic.
  }
}

/**
 * The keys that may open the state: `KEYTURN_ROOT_KEY` if set, else `root.key` and, after an
 * interrupted rotation, `root.key.next`. Never `root.key.old`: that key was replaced.
 */
export function loadRootKeyCandidates(home: string, envKey: string | undefined): RootKey[] {
  if (envKey !== undefined && envKey !== '') return [parseRootKey(envKey, 'KEYTURN_ROOT_KEY')];
  const candidates: RootKey[] = [];
  const main = join(home, ROOT_KEY_FILE);
  const next = join(home, NEXT_ROOT_KEY_FILE);
  if (existsSync(main)) candidates.push(readRootKeyFile(main));
  if (existsSync(next)) candidates.push(readRootKeyFile(next));
  if (candidates.length === 0) {
    const old = existsSync(join(home, OLD_ROOT_KEY_FILE)) ? ` (${OLD_ROOT_KEY_FILE} is the key a rotation replaced; it does not open the state)` : '';
    throw new KeyturnError('KT_ROOT_KEY_MISSING', `no ${ROOT_KEY_FILE} in ${home} and KEYTURN_ROOT_KEY is not set${old}`);
  }
  return candidates;
}

/**
 * Settles the key files once `active` is known to open the state. After a rotation's commit
 * (`active` is `root.key.next`): the replaced `root.key` is copied to `root.key.old`, then
 * `root.key.next` is renamed over `root.key`; each step is atomic, and a crash between them is
 * finished on the next open (a `root.key.old` holding the same key as `root.key` is that case).
 * A `root.key.old` holding some other key is not overwritten: KT_ROOT_KEY_OLD_EXISTS, with
 * nothing changed. Before the commit (`active` is `root.key`): `root.key.next` is deleted.
 */
export function settleRootKeyFiles(home: string, active: RootKey): void {
  const main = join(home, ROOT_KEY_FILE);
  const next = join(home, NEXT_ROOT_KEY_FILE);
  const old = join(home, OLD_ROOT_KEY_FILE);
  if (!existsSync(next)) return;
  if (active.source === next) {
    if (existsSync(main)) {
      const replaced = readRootKeyFile(main);
      if (!existsSync(old)) writeRootKeyFile(old, replaced);
      else if (readRootKeyFile(old).id !== replaced.id) {
        throw new KeyturnError('KT_ROOT_KEY_OLD_EXISTS', `${old} holds another key; ${main} (replaced by the last rotation) would be lost: move ${old} away so it can be kept there`);
      }
    }
    renameSync(next, main);
    fsyncDir(home);
  } else if (active.source === main) {
    unlinkSync(next);
  }
}
