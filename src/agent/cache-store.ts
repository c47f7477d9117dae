/**
 * The agent's cache on disk: one file, `cache.sealed` in the cache folder, sealed with AES-256-GCM
 * (../crypto/aead.ts) under a 32-byte random key from a key file (`cache.key` beside it unless
 * agent.yaml names another), the additional data binding it to its purpose and its own path (a
 * sealed file moved or copied elsewhere does not open). Neither file ever holds a value in
 * plaintext: the cache file alone (a backup of the volume without the key, a support bundle, log
 * collection) reveals nothing.
 *
 * - The folder is created with mode 0700; the key file once, with 32 random bytes, mode 0600,
 *   atomically (a temp file linked into place, so two agents starting together never see half a
 *   key, and an existing key is never replaced).
 * - A folder or key file another user can write is refused (they could plant a key and a cache of
 *   their choosing): KT_AGENT_CACHE_UNAVAILABLE, and the caller keeps the cache in memory only.
 * - Writes are atomic (a temp file created O_EXCL|O_NOFOLLOW mode 0600, renamed over the cache):
 *   a reader or a killed agent sees the whole old cache or the whole new one. A `durable` save
 *   also fsyncs the file before the rename and the folder after it (against a power loss); the
 *   agent's hot path (a new version, before its file is rendered) skips that: the order of the
 *   two renames is what keeps the cache from falling behind the files, and the fsyncs would
 *   double the disk work of every change.
 * - A cache that is not one (wrong header, truncated, altered, another key, too large, not the
 *   expected JSON) is ignored with a log line and rewritten on the next save; it never stops the
 *   agent.
 *
 * @example
 * ```ts
 * const store = await openCacheStore({ dir: '/var/lib/keyturn-agent', keyFile: '/var/lib/keyturn-agent/cache.key', log });
 * const doc = await store.load(); // the JSON saved last, or null
 * await store.save({ version: 1, entries: [] });
 * ```
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, mkdir, open, readdir, realpath, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TEMP_FILE_FLAGS } from '../consumers/file/atomic-write.js';
import { unsafeDestination } from '../consumers/file/safe-path.js';
import { aad, KEY_BYTES, open as openSealed, seal } from '../crypto/aead.js';

/** The sealed file's name in the cache folder. */
export const CACHE_FILE = 'cache.sealed';
/** The key file's name in the cache folder when agent.yaml names none. */
export const KEY_FILE = 'cache.key';
/** What a cache file starts with, before the sealed bytes. */
const HEADER = Buffer.from('keyturn-agent-cache v1\n', 'utf8');
/** The largest cache file read (templates × 64 KiB values stay far below). */
const MAX_CACHE_BYTES = 64 * 1024 * 1024;
const GROUP_OR_OTHER_WRITE = 0o022;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

export interface CacheStore {
  /** The sealed file's absolute path. */
  readonly file: string;
  /** The JSON saved last, or null when there is none or it was ignored (said in the log). */
  load(): Promise<unknown>;
  /** Seals `doc` and replaces the cache file with it atomically (`durable`: with fsyncs). */
  save(doc: unknown, durable: boolean): Promise<void>;
}

const unavailable = (message: string, cause?: unknown): KeyturnError => new KeyturnError('KT_AGENT_CACHE_UNAVAILABLE', message, cause === undefined ? {} : { cause });
const errnoOf = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? 'error';

/** Opens (creating when missing) the cache folder and its key; KT_AGENT_CACHE_UNAVAILABLE when it cannot be used safely. */
export async function openCacheStore(o: { dir: string; keyFile: string; log: Logger }): Promise<CacheStore> {
  const file = join(o.dir, CACHE_FILE);
  try {
    await mkdir(o.dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw unavailable(`cannot create the cache folder ${o.dir} (${errnoOf(e)})`, e);
  }
  const unsafe = await unsafeDestination(file);
  if (unsafe !== null) throw unavailable(`refusing the cache at ${file}: ${unsafe}`);
  await removeLeftovers(o.dir);
  const key = await keyOf(await safeKeyPath(o.keyFile));
  const additional = aad('agent-cache', 'v1', file);

  return {
    file,
    load: async () => {
      let bytes: Buffer;
      try {
        bytes = await readRegular(file, MAX_CACHE_BYTES);
      } catch (e) {
        if (errnoOf(e) === 'ENOENT') return null;
        o.log.warn(
          { file, code: isKeyturnError(e) ? e.code : errnoOf(e), message: isKeyturnError(e) ? e.message : undefined },
          'agent: the cache cannot be read; ignored (it is written again from the servers)',
        );
        return null;
      }
      try {
        if (!bytes.subarray(0, HEADER.length).equals(HEADER)) throw new KeyturnError('KT_DECRYPT_FAILED', `${file} is not a keyturn agent cache`);
        const plain = openSealed(key, bytes.subarray(HEADER.length), additional, `the agent cache ${file}`);
        return JSON.parse(plain.toString('utf8')) as unknown;
      } catch (e) {
        const code = isKeyturnError(e) ? e.code : 'KT_DECRYPT_FAILED';
        const message = isKeyturnError(e) ? e.message : `${file} does not hold JSON`;
        o.log.warn({ file, code, message }, 'agent: the cache is corrupted or sealed under another key; ignored (it is written again from the servers)');
        return null;
      }
    },
    save: async (doc, durable) => {
      const sealed = seal(key, Buffer.from(JSON.stringify(doc), 'utf8'), additional);
      try {
        await replaceFile(file, Buffer.concat([HEADER, sealed]), durable);
      } catch (e) {
        throw unavailable(`cannot write the cache ${file} (${errnoOf(e)})`, e);
      }
    },
  };
}

/**
 * The path to read the key from: `keyFile`, or where it points when it is a symlink (a Kubernetes
 * Secret volume links each file into place); every folder on the way, as written and as resolved,
 * must be writable by no other user.
 */
async function safeKeyPath(keyFile: string): Promise<string> {
  const st = await lstat(keyFile).catch(() => null);
  let path = keyFile;
  if (st?.isSymbolicLink() === true) {
    const onTheWay = await unsafeDestination(join(dirname(keyFile), '.keyturn-key-check'));
    if (onTheWay !== null) throw unavailable(`refusing the cache key file ${keyFile}: ${onTheWay}`);
    path = await realpath(keyFile).catch((e: unknown) => {
      throw unavailable(`cannot resolve the cache key file ${keyFile} (${errnoOf(e)})`, e);
    });
  }
  const unsafe = await unsafeDestination(path);
  if (unsafe !== null) throw unavailable(`refusing the cache key file ${keyFile}: ${unsafe}`);
  return path;
}

/** Writes `data` to a temp file beside `file` (mode 0600) and renames it over `file`; fsyncs both when `durable`. */
async function replaceFile(file: string, data: Buffer, durable: boolean): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${randomBytes(6).toString('hex')}.keyturn-tmp`);
  let renamed = false;
  try {
    const handle = await open(temp, TEMP_FILE_FLAGS, 0o600);
    try {
      await handle.chmod(0o600);
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    renamed = true;
  } finally {
    if (!renamed) await rm(temp, { force: true }).catch(() => undefined);
  }
  if (durable) await syncFolder(dir);
}

async function syncFolder(dir: string): Promise<void> {
  const folder = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** The key in `keyFile`, created (32 random bytes, mode 0600) when there is none. */
async function keyOf(keyFile: string): Promise<Buffer> {
  for (let attempt = 0; attempt < 2; attempt += 1) {
    let bytes: Buffer;
    try {
      bytes = await readRegular(keyFile, KEY_BYTES + 1, true);
    } catch (e) {
      if (isKeyturnError(e)) throw e;
      if (errnoOf(e) !== 'ENOENT') throw unavailable(`cannot read the cache key file ${keyFile} (${errnoOf(e)})`, e);
      await createKey(keyFile);
      continue;
    }
    if (bytes.length !== KEY_BYTES) throw unavailable(`the cache key file ${keyFile} does not hold ${KEY_BYTES} bytes; remove it (and the cache beside it) to make a new one`);
    return bytes;
  }
  throw unavailable(`the cache key file ${keyFile} could not be created`);
}

/** Writes a fresh key to a temp file and links it into place: never half a key, never over an existing one. */
async function createKey(keyFile: string): Promise<void> {
  const dir = dirname(keyFile);
  const temp = join(dir, `.${basename(keyFile)}.${randomBytes(6).toString('hex')}.keyturn-tmp`);
  try {
    const handle = await open(temp, TEMP_FILE_FLAGS, 0o600);
    try {
      await handle.chmod(0o600);
      await handle.writeFile(randomBytes(KEY_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await link(temp, keyFile).catch((e: unknown) => {
      // Another agent made it first: theirs is used.
      if (errnoOf(e) !== 'EEXIST') throw e;
    });
    await syncFolder(dir);
  } catch (e) {
    throw unavailable(`cannot create the cache key file ${keyFile} (${errnoOf(e)})`, e);
  } finally {
    await rm(temp, { force: true }).catch(() => undefined);
  }
}

/** A regular file's bytes (at most `max`); a file others can write is refused when `ownOnly`. */
async function readRegular(path: string, max: number, ownOnly = false): Promise<Buffer> {
  const handle = await open(path, READ_FLAGS);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw unavailable(`${path} is not a regular file`);
    if (ownOnly && (st.mode & GROUP_OR_OTHER_WRITE) !== 0) throw unavailable(`${path} can be written by group or others (mode 0${(st.mode & 0o777).toString(8)}); run \`chmod 600 ${path}\``);
    if (st.size > max) throw new KeyturnError('KT_DECRYPT_FAILED', `${path} is larger than ${max} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Removes the temp files a kill -9 left in the cache folder (only this module's: `.cache.*` and `.key*`). */
async function removeLeftovers(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.endsWith('.keyturn-tmp') || !(name.startsWith(`.${CACHE_FILE}.`) || name.startsWith(`.${KEY_FILE}.`))) continue;
    const st = await lstat(join(dir, name)).catch(() => null);
    if (st?.isFile() === true) await rm(join(dir, name), { force: true }).catch(() => undefined);
  }
}
