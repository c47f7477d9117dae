/**
 * Encrypted backup and restore of a Keyturn home: `createBackup` dumps the state database and
 * the root key (./dump.ts) and encrypts them (./envelope.ts) to a passphrase or an X25519
 * recipient key; `verifyBackup` opens a backup and checks everything in it without writing
 * anything (it loads it into an in-memory SQLite database, opens every value and verifies the
 * audit log); `restoreBackup` rebuilds a home from one, into an empty home only.
 *
 * @example
 * ```ts
 * const made = await createBackup(settings, { passphrase }, '/backups/kt.ktbk');
 * const check = await verifyBackup(readFileSync('/backups/kt.ktbk'), { passphrase }, settings);
 * await restoreBackup(newSettings, readFileSync('/backups/kt.ktbk'), { passphrase });
 * ```
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { sql } from 'kysely';
import { KeyturnError } from '../core/errors.js';
import type { Settings } from '../config/settings.js';
import { KeyRing } from '../crypto/keyring.js';
import { fsyncDir, generateRootKey, loadRootKeyCandidates, parseRootKey, ROOT_KEY_FILE, writeRootKeyFile, type RootKey } from '../crypto/root-key.js';
import { openState, type StateDb } from '../state/db.js';
import { assertHomeSafe } from '../runtime/home-safety.js';
import { openAudit } from '../audit/runtime.js';
import { defaultContext, type AuditContext } from '../audit/context.js';
import { verifyStoredLog } from '../audit/stored-verify.js';
import { checkSchema, dumpRootKey, dumpState, loadState, usedTables, parseDump, summarize, type StateDump } from './dump.js';
import { openBackup, readHeader, recipientFingerprint, sealBackup } from './envelope.js';

export type SealKey = { passphrase: string } | { recipient: KeyObject };
export type OpenKey = { passphrase: string } | { identity: KeyObject };

export type BackupSummary = ReturnType<typeof summarize>;

export interface CreateResult {
  file: string;
  bytes: number;
  /** passphrase (scrypt) or recipient (X25519), with the recipient's fingerprint. */
  encryption: string;
  recipient: string | null;
  rootKeyId: string;
  source: { dialect: string; location: string };
  createdAt: string;
  summary: BackupSummary;
}

/** KT_BACKUP_FOLDER_UNUSABLE for a file system error (no such folder, no permission, disk full), naming its errno code. */
function folderError(file: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code !== 'string' || e instanceof KeyturnError) return e;
  return new KeyturnError('KT_BACKUP_FOLDER_UNUSABLE', `the backup cannot be written to ${dirname(file)} (${code})`, { details: { folder: dirname(file), errno: code }, cause: e });
}

/** Writes `data` to `file` through a temporary file in the same folder (mode 0600, fsync, rename); refuses an existing file. */
function writeNewFile(file: string, data: Buffer): void {
  if (existsSync(file)) throw new KeyturnError('KT_USAGE', `${file} already exists; give another --out or move it away`);
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'wx', 0o600);
  } catch (e) {
    throw folderError(file, e);
  }
  try {
    writeSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
    fsyncDir(dirname(file));
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // Already closed.
    }
    rmSync(tmp, { force: true });
    throw folderError(file, e);
  }
}

async function openHomeState(settings: Settings): Promise<StateDb> {
  if (settings.databaseUrl) return openState({ url: settings.databaseUrl });
  if (!existsSync(settings.sqliteFile)) throw new KeyturnError('KT_NOT_INITIALIZED', `no state database at ${settings.sqliteFile}`);
  return openState({ sqliteFile: settings.sqliteFile });
}

/**
 * Backs up the home of `settings` into `out` (a new file, mode 0600). Reads the state in one
 * transaction; writes to the home only the audit events `backup.create` (intent, then success
 * or failure).
 */
export async function createBackup(
  settings: Settings,
  key: SealKey,
  out: string,
  options: { scrypt?: { N: number; r: number; p: number }; audit?: AuditContext; clock?: Clock } = {},
): Promise<CreateResult> {
  assertHomeSafe(settings.home, { rootKeyFiles: !settings.rootKeyFromEnv });
  if (existsSync(out)) throw new KeyturnError('KT_USAGE', `${out} already exists; give another --out or move it away`);
  const state = await openHomeState(settings);
  try {
    // The key ring picks, of the root keys on offer, the one that opens the state (and fails when none does).
    const ring = await KeyRing.open(state, loadRootKeyCandidates(settings.home, settings.rootKeyFromEnv));
    const root = ring.rootKey;
    // A backup carries every sealed value and the root key: the log records it, the intent before
    // the snapshot (so the backup holds its own intent), the outcome after the file is written.
    const log = await openAudit(state, ring, settings.audit, { context: options.audit ?? defaultContext(), ...(options.clock ? { clock: options.clock } : {}) });
    await log.append({ action: 'backup.create', outcome: 'intent' });
    let file: Buffer;
    let dump: StateDump;
    try {
      const made = await dumpState(state, root, options.clock ? () => options.clock!.now() : undefined);
      dump = made.dump;
      file = sealBackup(made.payload, key, options);
      writeNewFile(out, file);
    } catch (e) {
      await log.append({ action: 'backup.create', outcome: 'failure', errorCode: e instanceof KeyturnError ? e.code : 'KT_INTERNAL' }).catch(() => undefined);
      throw e;
    }
    await log.append({ action: 'backup.create', outcome: 'success' });
    return {
      file: out,
      bytes: file.length,
      encryption: 'passphrase' in key ? 'passphrase' : 'recipient',
      recipient: 'recipient' in key ? recipientFingerprint(key.recipient) : null,
      rootKeyId: root.id,
      source: dump.source,
      createdAt: new Date(dump.createdAt).toISOString(),
      summary: summarize(dump),
    };
  } finally {
    await state.close();
  }
}

export interface VerifyResult {
  ok: true;
  encryption: string;
  recipient: string | null;
  rootKeyId: string;
  source: { dialect: string; location: string };
  createdAt: string;
  migrations: number;
  summary: BackupSummary;
  /** Values opened (every version of every secret) and data keys unwrapped. */
  valuesOpened: number;
  dataKeys: number;
  audit: { size: number; verifiedSize: number; verifierKey: string; origin: string };
}

/** Decrypts a backup and checks its shape (no database). */
function decode(file: Buffer, key: OpenKey): StateDump {
  return parseDump(openBackup(file, key));
}

/**
 * Opens every value of a loaded dump with its data key and verifies the audit log; throws
 * KT_BACKUP_CORRUPT naming what failed.
 */
async function checkLoaded(state: StateDb, dump: StateDump, settings: Settings): Promise<Pick<VerifyResult, 'valuesOpened' | 'dataKeys' | 'audit'>> {
  let ring: KeyRing;
  try {
    ring = await KeyRing.open(state, [dumpRootKey(dump)]);
  } catch (e) {
    throw new KeyturnError('KT_BACKUP_CORRUPT', `the backup's root key does not open its data keys (${(e as KeyturnError).code ?? 'error'})`, { cause: e });
  }
  const versions = (
    await sql<{ path: string; id: string; data_key_id: string; sealed: string }>`SELECT s.path, v.id, v.data_key_id, v.sealed FROM secret_versions v JOIN secrets s ON s.id = v.secret_id`.execute(
      state.db,
    )
  ).rows;
  for (const v of versions) {
    try {
      ring.openValue(v.path, v.id, v.data_key_id, v.sealed).fill(0);
    } catch (e) {
      throw new KeyturnError('KT_BACKUP_CORRUPT', `version ${v.id} of ${v.path} in the backup does not open (${(e as KeyturnError).code ?? 'error'})`, { cause: e });
    }
  }
  const size = dump.tables.find((t) => t.name === 'audit_leaves')?.rows.length ?? 0;
  // Opening an initialized log reads it and writes nothing.
  const log = await openAudit(state, ring, settings.audit, { context: { actor: 'system:backup', source: 'cli', correlationId: null } });
  const result = await verifyStoredLog(log);
  if (result.problems.length > 0) {
    const p = result.problems[0]!;
    throw new KeyturnError('KT_BACKUP_CORRUPT', `the audit log in the backup does not verify: ${p.code} (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'})`);
  }
  return { valuesOpened: versions.length, dataKeys: ring.dataKeyCount, audit: { size, verifiedSize: Math.min(size, result.verifiedSize), verifierKey: log.verifierKey, origin: log.origin } };
}

/**
 * Checks a backup completely and writes nothing: decrypts every chunk, loads the dump into an
 * in-memory SQLite database of the current schema, opens every value and verifies the audit log.
 */
export async function verifyBackup(file: Buffer, key: OpenKey, settings: Settings): Promise<VerifyResult> {
  const { header } = readHeader(file);
  const dump = decode(file, key);
  const state = await openState({ sqliteFile: ':memory:' });
  try {
    await checkSchema(state, dump);
    await loadState(state, dump);
    const checked = await checkLoaded(state, dump, settings);
    return {
      ok: true,
      encryption: header.mode,
      recipient: header.mode === 'recipient' ? header.rcpt : null,
      rootKeyId: dump.rootKeyId,
      source: dump.source,
      createdAt: new Date(dump.createdAt).toISOString(),
      migrations: dump.migrations.length,
      summary: summarize(dump),
      ...checked,
    };
  } finally {
    await state.close();
  }
}

export interface RestoreResult {
  home: string;
  state: string;
  dialect: string;
  /** The root key of the restored home, where it is, and whether the data keys were re-wrapped under it. */
  rootKeyId: string;
  rootKeySource: string;
  rewrapped: boolean;
  backupRootKeyId: string;
  createdAt: string;
  summary: BackupSummary;
}

export interface RestoreOptions {
  /** Re-wrap the data keys under a freshly made root key instead of keeping the backup's. */
  newRootKey?: boolean;
}

/** Whether a folder has anything in it (a missing one has not). */
function folderEntries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/**
 * Rebuilds a home from a backup: the whole file is decrypted and checked first; then the home
 * (which must be missing or an empty folder; with PostgreSQL, a database without Keyturn rows)
 * gets its root key and state database, every row inserted in one transaction, then checked as
 * `verifyBackup` checks (every value opens, the audit log verifies). The root key is
 * the backup's, unless `newRootKey` or KEYTURN_ROOT_KEY (set to another key) ask for re-wrapping
 * the data keys under another one. On failure, what the restore created is removed again.
 */
export async function restoreBackup(settings: Settings, file: Buffer, key: OpenKey, options: RestoreOptions = {}): Promise<RestoreResult> {
  assertHomeSafe(settings.home, { rootKeyFiles: !settings.rootKeyFromEnv });
  const entries = folderEntries(settings.home);
  if (entries.length > 0) {
    throw new KeyturnError(
      'KT_BACKUP_TARGET_NOT_EMPTY',
      `the home ${settings.home} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', ...' : ''}); restore into a new or empty folder`,
    );
  }
  if (settings.rootKeyFromEnv && options.newRootKey) {
    throw new KeyturnError('KT_USAGE', 'KEYTURN_ROOT_KEY is set, so the data keys are re-wrapped under it: leave out --new-root-key');
  }
  const dump = decode(file, key);
  const backupRoot = dumpRootKey(dump);
  const target: RootKey | null = settings.rootKeyFromEnv ? parseRootKey(settings.rootKeyFromEnv, 'KEYTURN_ROOT_KEY') : options.newRootKey ? generateRootKey(join(settings.home, ROOT_KEY_FILE)) : null;
  const homeExisted = existsSync(settings.home);
  mkdirSync(settings.home, { recursive: true, mode: 0o700 });
  let state: StateDb | undefined;
  let loaded = false;
  try {
    state = settings.databaseUrl ? await openState({ url: settings.databaseUrl }) : await openState({ sqliteFile: settings.sqliteFile });
    if (state.dialect === 'sqlite') chmodSync(settings.sqliteFile, 0o600);
    const used = await usedTables(state);
    if (used.length > 0) {
      throw new KeyturnError(
        'KT_BACKUP_TARGET_NOT_EMPTY',
        `the state database ${state.location} already holds rows (in ${used.slice(0, 3).join(', ')}${used.length > 3 ? ', ...' : ''}); restore into an empty database`,
      );
    }
    await checkSchema(state, dump);
    const keyFile = join(settings.home, ROOT_KEY_FILE);
    const rewrap = target !== null && target.id !== backupRoot.id;
    // Without re-wrapping, the key goes in first: a kill after the commit leaves a home that opens.
    if (!rewrap && !settings.rootKeyFromEnv) writeRootKeyFile(keyFile, backupRoot);
    await loadState(state, dump);
    loaded = true;
    // What verify checks, on the restored rows: every value opens, the audit log verifies.
    await checkLoaded(state, dump, settings);
    let root = backupRoot;
    if (rewrap) {
      const ring = await KeyRing.open(state, [backupRoot]);
      await ring.rotateRoot(target);
      root = target;
      if (!settings.rootKeyFromEnv) writeRootKeyFile(keyFile, root);
    }
    return {
      home: settings.home,
      state: state.location,
      dialect: state.dialect,
      rootKeyId: root.id,
      rootKeySource: settings.rootKeyFromEnv ? 'KEYTURN_ROOT_KEY' : keyFile,
      rewrapped: rewrap,
      backupRootKeyId: backupRoot.id,
      createdAt: new Date(dump.createdAt).toISOString(),
      summary: summarize(dump),
    };
  } catch (e) {
    await undo(settings, state, loaded, homeExisted);
    state = undefined;
    throw e;
  } finally {
    await state?.close();
  }
}

/** Removes what a failed restore made: the SQLite files and the home it created, or the rows it committed to PostgreSQL. */
async function undo(settings: Settings, state: StateDb | undefined, loaded: boolean, homeExisted: boolean): Promise<void> {
  if (state && loaded && state.dialect === 'postgres') {
    const { stateTables } = await import('./dump.js');
    const tables = await stateTables(state);
    await state.db
      .transaction()
      .execute(async (trx) => {
        for (const t of tables) await sql`DELETE FROM ${sql.id(t)}`.execute(trx);
      })
      .catch(() => undefined);
  }
  await state?.close().catch(() => undefined);
  if (!homeExisted) rmSync(settings.home, { recursive: true, force: true });
  else for (const f of readdirSync(settings.home)) rmSync(join(settings.home, f), { recursive: true, force: true });
}
