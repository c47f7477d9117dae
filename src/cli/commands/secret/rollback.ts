/**
 * `keyturn secret rollback PATH`: make the previous version current again (a stage move). Refused
 * for a managed credential (an applied policy with a target): the target holds the current
 * password, so moving the stages back would leave a stored current credential that does not log in.
 */
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emit } from '../../io.js';

export function registerRollback(secret: Command, app: CliApp): void {
  common(secret.command('rollback <path>'))
    .description('Make the previous version current; the current one becomes previous (run again to undo)')
    .addHelpText(
      'after',
      `
Only the stages move: no version is deleted, and consumers are not re-delivered (rotate for that).
A managed credential (a policy with a target) is refused with KT_ROLLBACK_MANAGED: its target
holds the current password; rotate instead.

Examples:
  keyturn secret rollback prod/api/token
  keyturn secret rollback prod/api/token --json`,
    )
    .action(async (path: string, opts: CommonOptions) => {
      const result = await app.withClient(opts, (client) => client.secrets.rollback(path));
      emit(app.io, !!opts.json, result, () => `${path}: current is now version ${result.current.version} (was ${result.previous.version})`);
    });
}
