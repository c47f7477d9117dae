/** `keyturn secret rm | restore | purge PATH`: soft delete, undo it, or delete for good. */
import type { Command } from 'commander';
import { KeyturnError } from '../../../core/errors.js';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emit, isoTime } from '../../io.js';
import { infoJson } from './shared.js';

export function registerLifecycle(secret: Command, app: CliApp): void {
  common(secret.command('rm <path>'))
    .alias('delete')
    .description('Delete a secret softly: hidden, restorable until its recovery window ends')
    .option('--recovery-days <days>', 'recovery window, 7 to 90 days (default: $KEYTURN_RECOVERY_DAYS or 30)')
    .action(async (path: string, opts: CommonOptions & { recoveryDays?: string }) => {
      const info = await app.withKeyturn(opts, (kt) => {
        const days = opts.recoveryDays === undefined ? kt.settings.recoveryDays : Number(opts.recoveryDays);
        return kt.store.remove(path, { recoveryDays: days });
      });
      emit(app.io, !!opts.json, infoJson(info), () => `${path}: deleted; restore it with \`keyturn secret restore ${path}\` until ${isoTime(info.purgeAfter)}`);
    });

  common(secret.command('restore <path>'))
    .description('Undo a soft delete; the secret comes back with all its versions')
    .action(async (path: string, opts: CommonOptions) => {
      const info = await app.withKeyturn(opts, (kt) => kt.store.restore(path));
      emit(app.io, !!opts.json, infoJson(info), () => `${path}: restored (${info.versionCount} versions, current ${info.currentVersion?.number ?? 'none'})`);
    });

  common(secret.command('purge <path>'))
    .description('Delete a soft-deleted secret and all its versions for good (refused while purge protection holds it)')
    .option('--yes', 'confirm: purging cannot be undone')
    .action(async (path: string, opts: CommonOptions & { yes?: boolean }) => {
      if (!opts.yes) throw new KeyturnError('KT_USAGE', `purging ${path} cannot be undone; pass --yes to confirm`);
      await app.withKeyturn(opts, (kt) => kt.store.purge(path));
      emit(app.io, !!opts.json, { path, purged: true }, () => `${path}: purged`);
    });
}
