/** `keyturn secret rm | restore | purge PATH`: soft delete, undo it, or delete for good (purge asks first). */
import type { Command } from 'commander';
import { DEFAULT_RECOVERY_DAYS, MAX_RECOVERY_DAYS, MIN_RECOVERY_DAYS } from '../../../stores/store.js';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { confirm } from '../../confirm.js';
import { emit, isoTime } from '../../io.js';
import { intOption } from '../../options.js';
import { infoJson } from './shared.js';

export function registerLifecycle(secret: Command, app: CliApp): void {
  common(secret.command('rm <path>'))
    .alias('delete')
    .description('Delete a secret softly: hidden, restorable until its recovery window ends')
    .addHelpText(
      'after',
      `
Examples:
  keyturn secret rm prod/api/token
  keyturn secret rm prod/api/token --recovery-days 7
  keyturn secret ls --deleted      # what is deleted, and until when it can be restored`,
    )
    .option(
      '--recovery-days <days>',
      `recovery window, ${MIN_RECOVERY_DAYS} to ${MAX_RECOVERY_DAYS} days (default: $KEYTURN_RECOVERY_DAYS or ${DEFAULT_RECOVERY_DAYS})`,
      intOption('--recovery-days', { min: MIN_RECOVERY_DAYS, max: MAX_RECOVERY_DAYS }),
    )
    .action(async (path: string, opts: CommonOptions & { recoveryDays?: number }) => {
      const info = await app.withClient(opts, (client) => client.secrets.remove(path, opts.recoveryDays === undefined ? {} : { recoveryDays: opts.recoveryDays }));
      emit(app.io, !!opts.json, infoJson(info), () => `${path}: deleted; restore it with \`keyturn secret restore ${path}\` until ${isoTime(info.purgeAfter)}`);
    });

  common(secret.command('restore <path>'))
    .description('Undo a soft delete; the secret comes back with all its versions')
    .addHelpText(
      'after',
      `
Examples:
  keyturn secret restore prod/api/token
  keyturn secret ls --deleted --json | jq -r '.[].path'   # what can be restored`,
    )
    .action(async (path: string, opts: CommonOptions) => {
      const info = await app.withClient(opts, (client) => client.secrets.restore(path));
      emit(app.io, !!opts.json, infoJson(info), () => `${path}: restored (${info.versionCount} versions, current ${info.currentVersion?.number ?? 'none'})`);
    });

  common(secret.command('purge <path>'))
    .description('Delete a soft-deleted secret and all its versions for good (refused while purge protection holds it)')
    .option('--yes', 'confirm without a question (needed when not on a terminal): purging cannot be undone')
    .addHelpText(
      'after',
      `
Only a secret deleted with \`keyturn secret rm\` can be purged, and with purge protection on
(KEYTURN_PURGE_PROTECTION, the default) only once its recovery window has ended.
On a terminal the command asks first; otherwise (scripts, CI) it needs --yes.

Examples:
  keyturn secret purge old/api-key
  keyturn secret purge old/api-key --yes --json`,
    )
    .action(async (path: string, opts: CommonOptions & { yes?: boolean }) => {
      await app.withClient(opts, async (client) => {
        // A purge that would be refused anyway is refused before the question; the purge itself checks in any case.
        const info = await client.secrets.purgeable(path);
        await confirm(app, { question: `Purge ${path} and its ${info.versionCount} version${info.versionCount === 1 ? '' : 's'} for good (this cannot be undone)?`, yes: opts.yes });
        await client.secrets.purge(path);
      });
      emit(app.io, !!opts.json, { path, purged: true }, () => `${path}: purged`);
    });
}
