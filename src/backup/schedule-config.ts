/**
 * The `backups:` section of keyturn.yaml: scheduled backups into a folder, made by `keyturn
 * server` (or one pass of `keyturn backup run-scheduled`) when the newest one there is older than
 * `every`, keeping the newest `keep`. A backup is always encrypted: to the X25519 public key in
 * the file `recipient`, or to the passphrase in the environment variable `passphraseEnv` (its
 * name only: a passphrase never goes into keyturn.yaml or the state database). `keyturn apply`
 * stores the section (in `kt_settings`, name `backups`), as it does `detection:`; the job reads it
 * at every run (./scheduled.ts). See docs/backup.md.
 *
 * @example
 * ```yaml
 * backups:
 *   folder: /var/backups/keyturn
 *   every: 24h
 *   keep: 7
 *   recipient: /etc/keyturn/backup.key.pub
 * ```
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import type { StateDb } from '../state/db.js';

/** The shortest `every`: a backup holds the whole home, so more often than this is a mistake. */
export const MIN_BACKUP_EVERY_MS = 60_000;

const absolutePath = (what: string) =>
  z
    .string()
    .min(1)
    .max(4096)
    .refine((p) => isAbsolute(p), `${what} must be an absolute path`);

export const backupsSchema = z
  .strictObject({
    folder: absolutePath('folder').describe('where the backups are written (absolute; made with mode 0700 when missing); only files named keyturn-backup-*.ktbk are counted and pruned'),
    every: z
      .string({ error: 'must be a duration such as 12h, 24h or 7d' })
      .refine((t) => {
        const ms = parseDuration(t);
        return ms !== null && ms >= MIN_BACKUP_EVERY_MS;
      }, 'must be a duration such as 12h, 24h or 7d, at least 1m')
      .default('24h')
      .describe('a new backup is made when the newest one in the folder is older than this (default 24h)'),
    keep: z.number().int().min(1).max(10_000).default(7).describe('how many scheduled backups are kept; older ones are deleted after a new one is written (default 7)'),
    recipient: absolutePath('recipient').optional().describe('encrypt to this X25519 public key (PEM, e.g. from `keyturn backup keygen`); read at every run'),
    passphraseEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be the name of an environment variable')
      .optional()
      .describe('encrypt to the passphrase in this environment variable of the process that makes the backups (its name only, never the passphrase)'),
  })
  .superRefine((b, ctx) => {
    if ((b.recipient === undefined) === (b.passphraseEnv === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of recipient (a public key file) and passphraseEnv (an environment variable name): a backup is never written unencrypted' });
    }
  })
  .describe('scheduled, encrypted backups into a folder, by keyturn server or `keyturn backup run-scheduled` (docs/backup.md)');

export type BackupsConfig = z.output<typeof backupsSchema>;

/** The name of its `kt_settings` row (`keyturn apply` writes it). */
export const BACKUPS_SETTING = 'backups';

/**
 * The applied `backups:` section, or null when none was applied (no scheduled backups).
 *
 * @example
 * ```ts
 * const config = await storedBackups(kt.state); // { folder, every: '24h', keep: 7, recipient } | null
 * ```
 */
export async function storedBackups(state: StateDb): Promise<BackupsConfig | null> {
  const row = await state.db.selectFrom('kt_settings').select('value').where('name', '=', BACKUPS_SETTING).executeTakeFirst();
  return row === undefined ? null : backupsSchema.parse(JSON.parse(row.value));
}
