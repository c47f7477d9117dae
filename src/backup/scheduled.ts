/**
 * Scheduled backups into a folder (the `backups:` section of keyturn.yaml, ./schedule-config.ts):
 * one pass, {@link runScheduledBackup}, writes a new encrypted backup (./backup.ts `createBackup`:
 * a temporary file renamed into place, mode 0600, audited as `backup.create`) named
 * `keyturn-backup-YYYYMMDDTHHMMSSZ.ktbk` when the newest such file in the folder is older than
 * `every`, then deletes the oldest beyond `keep`. `keyturn server` runs a pass every minute (its
 * `scheduled-backup` job, as `system:server`); `keyturn backup run-scheduled` runs one, for a home
 * without a server (cron).
 *
 * Several processes on one state database (servers sharing PostgreSQL, a cron job next to a
 * server) never write a backup for the same period twice: a pass takes the lease
 * `backups:scheduled` (src/engine/leases.ts; a process that cannot is `busy` and writes nothing)
 * and, under it, looks again at the folder and at the `kt_settings` row `backups.last` (the time,
 * folder and file of the last scheduled backup any of them wrote); a backup is due only when both
 * the folder's newest file and that row are older than `every` (the row counts only for the same
 * folder path). So servers whose `folder` is local to each host still make one backup per period
 * between them, in the folder of whichever got there first.
 *
 * A pass that fails throws its KeyturnError (the server's job runner logs its code; the next pass
 * tries again: nothing is recorded as done). Only files with the name above are ever counted or
 * deleted; leftover temporary files of a killed pass (`.keyturn-backup-*.tmp`) are removed once
 * older than the lease.
 *
 * @example
 * ```ts
 * const r = await runScheduledBackup({ settings: kt.settings, state: kt.state, clock: kt.clock, log: kt.log });
 * r.status; // 'written' | 'not-due' | 'busy' | 'off'
 * ```
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditContext } from '../audit/context.js';
import type { Clock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { isKeyturnError, KeyturnError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Settings } from '../config/settings.js';
import { Leases } from '../engine/leases.js';
import type { StateDb } from '../state/db.js';
import { createBackup, type SealKey } from './backup.js';
import { parseRecipientKey } from './envelope.js';
import { storedBackups, type BackupsConfig } from './schedule-config.js';

/** The lease one pass holds, so that one process at a time decides and writes. */
export const SCHEDULED_BACKUP_LEASE = 'backups:scheduled';
/** The `kt_settings` row naming the last scheduled backup written (by any process on this state database). */
export const LAST_BACKUP_SETTING = 'backups.last';
/** How long the lease lasts (renewed every third of it while a backup is written). */
export const SCHEDULED_BACKUP_LEASE_MS = 10 * 60_000;
/** Who the server's passes are in the audit log. */
export const SCHEDULED_BACKUP_CONTEXT: AuditContext = Object.freeze({ actor: 'system:server', source: 'server', correlationId: null });

const NAME = /^keyturn-backup-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.ktbk$/;
const TEMP = /^\.keyturn-backup-\d{8}T\d{6}Z\.ktbk\.\d+\.tmp$/;

export interface ScheduledDeps {
  readonly settings: Settings;
  readonly state: StateDb;
  readonly clock: Clock;
  readonly log: Logger;
  /** Where `passphraseEnv` is read (default: the environment the settings were read from, `settings.envVar`). */
  readonly env?: (name: string) => string | undefined;
  /** Who the `backup.create` events name (default {@link SCHEDULED_BACKUP_CONTEXT}). */
  readonly context?: AuditContext;
  /** scrypt cost of passphrase backups (tests make it cheap; default ./envelope.ts SCRYPT). */
  readonly scrypt?: { N: number; r: number; p: number };
}

export interface ScheduledResult {
  /** `off`: no `backups:` applied; `not-due`: the newest backup is younger than `every`; `busy`: another process holds the pass. */
  readonly status: 'off' | 'not-due' | 'busy' | 'written';
  readonly folder: string | null;
  /** The backup written by this pass. */
  readonly file: string | null;
  readonly bytes: number | null;
  /** When the newest backup (before this pass) was made, as named or recorded. */
  readonly newestAt: string | null;
  /** When the next backup is due. */
  readonly dueAt: string | null;
  /** Backups deleted because more than `keep` were there. */
  readonly pruned: readonly string[];
  /** Files that could not be deleted (their errno code); tried again after the next backup. */
  readonly pruneErrors: readonly { file: string; code: string }[];
}

/**
 * The file name of a scheduled backup made at `ms`.
 *
 * @example
 * ```ts
 * backupFileName(Date.parse('2026-03-01T02:00:00Z')); // 'keyturn-backup-20260301T020000Z.ktbk'
 * ```
 */
export function backupFileName(ms: number): string {
  const stamp = new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `keyturn-backup-${stamp}.ktbk`;
}

/**
 * When the scheduled backup `name` was made (from its name), or null for any other file.
 *
 * @example
 * ```ts
 * backupTimeOf('keyturn-backup-20260301T020000Z.ktbk'); // Date.parse('2026-03-01T02:00:00Z')
 * ```
 */
export function backupTimeOf(name: string): number | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(ms) ? null : ms;
}

function unusable(folder: string, what: string, e: unknown): KeyturnError {
  const code = (e as NodeJS.ErrnoException).code ?? 'error';
  return new KeyturnError('KT_BACKUP_FOLDER_UNUSABLE', `the backups folder ${folder} cannot be ${what} (${code})`, { details: { folder, errno: code }, cause: e });
}

/** The scheduled backups in `folder`, oldest first (made when missing). */
function listBackups(folder: string): { name: string; at: number }[] {
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw unusable(folder, 'created', e);
  }
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (e) {
    throw unusable(folder, 'listed', e);
  }
  return scheduledFiles(names);
}

/** Of `names`, the scheduled backups, oldest first. */
function scheduledFiles(names: readonly string[]): { name: string; at: number }[] {
  return names
    .map((name) => ({ name, at: backupTimeOf(name) }))
    .filter((f): f is { name: string; at: number } => f.at !== null)
    .sort((a, b) => a.at - b.at || (a.name < b.name ? -1 : 1));
}

interface LastBackup {
  at: number;
  folder: string;
  file: string;
}

async function lastBackup(state: StateDb): Promise<LastBackup | null> {
  const row = await state.db.selectFrom('kt_settings').select('value').where('name', '=', LAST_BACKUP_SETTING).executeTakeFirst();
  if (row === undefined) return null;
  try {
    const v = JSON.parse(row.value) as Partial<LastBackup>;
    return typeof v.at === 'number' && typeof v.folder === 'string' && typeof v.file === 'string' ? (v as LastBackup) : null;
  } catch {
    return null;
  }
}

async function recordLast(state: StateDb, last: LastBackup): Promise<void> {
  const value = JSON.stringify(last);
  await state.db
    .insertInto('kt_settings')
    .values({ name: LAST_BACKUP_SETTING, value })
    .onConflict((oc) => oc.column('name').doUpdateSet({ value }))
    .execute();
}

/** When the newest backup for `config.folder` was made: its newest file, or the last one recorded for that folder, whichever is later. */
function newestAt(files: readonly { at: number }[], last: LastBackup | null, config: BackupsConfig): number | null {
  const times = [...(files.length > 0 ? [files[files.length - 1]!.at] : []), ...(last !== null && last.folder === config.folder ? [last.at] : [])];
  return times.length === 0 ? null : Math.max(...times);
}

/** The key the backups are encrypted to: the recipient's public key file, or the passphrase in the environment variable. */
function sealKey(config: BackupsConfig, env: (name: string) => string | undefined): SealKey {
  if (config.recipient !== undefined) {
    let pem: string;
    try {
      pem = readFileSync(config.recipient, 'utf8');
    } catch (e) {
      throw new KeyturnError('KT_BACKUP_KEY_INVALID', `cannot read the backups recipient key ${config.recipient} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return { recipient: parseRecipientKey(pem, config.recipient) };
  }
  const name = config.passphraseEnv!;
  const passphrase = env(name);
  if (passphrase === undefined || passphrase === '') {
    throw new KeyturnError('KT_BACKUP_KEY_INVALID', `the environment variable ${name} (backups.passphraseEnv) is not set or empty in the process that makes the backups`);
  }
  return { passphrase };
}

/** Deletes the oldest backups beyond `keep`, and temporary files of killed passes older than the lease. */
function prune(folder: string, keep: number, now: number): { pruned: string[]; errors: { file: string; code: string }[] } {
  const pruned: string[] = [];
  const errors: { file: string; code: string }[] = [];
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch (e) {
    return { pruned, errors: [{ file: '.', code: (e as NodeJS.ErrnoException).code ?? 'error' }] };
  }
  const files = scheduledFiles(names);
  const remove = (name: string): boolean => {
    try {
      rmSync(join(folder, name), { force: true });
      return true;
    } catch (e) {
      errors.push({ file: name, code: (e as NodeJS.ErrnoException).code ?? 'error' });
      return false;
    }
  };
  for (const f of files.slice(0, Math.max(0, files.length - keep))) if (remove(f.name)) pruned.push(f.name);
  for (const name of names) {
    if (!TEMP.test(name)) continue;
    try {
      if (now - statSync(join(folder, name)).mtimeMs > SCHEDULED_BACKUP_LEASE_MS) remove(name);
    } catch {
      // Gone meanwhile.
    }
  }
  return { pruned, errors };
}

/**
 * One pass (see the module header): writes a backup when one is due, then prunes. Throws a
 * KeyturnError when the backup cannot be made (KT_BACKUP_KEY_INVALID, KT_BACKUP_FOLDER_UNUSABLE,
 * the state database's codes); nothing is recorded then, so the next pass tries again.
 */
export async function runScheduledBackup(deps: ScheduledDeps): Promise<ScheduledResult> {
  const none = { file: null, bytes: null, pruned: [], pruneErrors: [] };
  const config = await storedBackups(deps.state);
  if (config === null) return { status: 'off', folder: null, newestAt: null, dueAt: null, ...none };
  const everyMs = parseDuration(config.every)!;
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  const notDue = (newest: number | null, now: number): ScheduledResult | null =>
    newest !== null && now - newest < everyMs ? { status: 'not-due', folder: config.folder, newestAt: iso(newest), dueAt: iso(newest + everyMs), ...none } : null;
  // Without the lease first: a pass that is not due (nearly every one) writes nothing at all.
  const early = notDue(newestAt(listBackups(config.folder), await lastBackup(deps.state), config), deps.clock.now());
  if (early) return early;
  const leases = new Leases(deps.state, deps.clock);
  const acquired = await leases.acquire(SCHEDULED_BACKUP_LEASE, SCHEDULED_BACKUP_LEASE_MS);
  if (acquired === null) return { status: 'busy', folder: config.folder, newestAt: null, dueAt: null, ...none };
  const lease = leases.keepAlive(acquired, SCHEDULED_BACKUP_LEASE_MS, deps.log);
  try {
    // Again under the lease: another process may have written one since.
    const now = deps.clock.now();
    const newest = newestAt(listBackups(config.folder), await lastBackup(deps.state), config);
    const skip = notDue(newest, now);
    if (skip) return skip;
    const key = sealKey(config, deps.env ?? deps.settings.envVar);
    const name = backupFileName(now);
    const made = await createBackup(deps.settings, key, join(config.folder, name), {
      audit: deps.context ?? { ...SCHEDULED_BACKUP_CONTEXT, correlationId: `backup-${name.slice('keyturn-backup-'.length, -'.ktbk'.length)}` },
      clock: deps.clock,
      ...(deps.scrypt ? { scrypt: deps.scrypt } : {}),
    });
    lease.assertHeld();
    await recordLast(deps.state, { at: now, folder: config.folder, file: name });
    const { pruned, errors } = prune(config.folder, config.keep, now);
    for (const e of errors) deps.log.warn({ folder: config.folder, file: e.file, errno: e.code }, 'an old scheduled backup could not be deleted; tried again after the next backup');
    deps.log.info({ file: made.file, bytes: made.bytes, pruned: pruned.length }, 'scheduled backup written');
    return { status: 'written', folder: config.folder, file: made.file, bytes: made.bytes, newestAt: iso(newest), dueAt: iso(now + everyMs), pruned, pruneErrors: errors };
  } catch (e) {
    if (!isKeyturnError(e)) throw e;
    deps.log.warn({ folder: config.folder, code: e.code, message: e.message }, 'scheduled backup failed; the next pass tries again');
    throw e;
  } finally {
    lease.stop();
    await leases.release(lease).catch(() => undefined);
  }
}
