/** `keyturn status`: where the state lives, which keys open it, what it holds, and the limits in force. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, table } from '../io.js';

export function registerStatus(program: Command, app: CliApp): void {
  common(program.command('status'))
    .description('Show the home, state database, keys, counts and limits')
    .addHelpText(
      'after',
      `
Examples:
  keyturn status
  keyturn status --json | jq .secrets
  keyturn --home /srv/keyturn status`,
    )
    .action(async (opts: CommonOptions) => {
      const [{ fileMode }, { ROOT_KEY_FILE }] = await Promise.all([app.runtime(), import('../../crypto/root-key.js')]);
      const status = await app.withKeyturn(opts, async (kt) => {
        const counts = await kt.store.counts();
        const s = kt.settings;
        return {
          home: s.home,
          state: { dialect: kt.state.dialect, location: kt.state.location },
          rootKey: { id: kt.ring.rootKey.id, source: s.rootKeyFromEnv ? 'KEYTURN_ROOT_KEY' : join(s.home, ROOT_KEY_FILE), fileMode: s.rootKeyFromEnv ? null : fileMode(join(s.home, ROOT_KEY_FILE)) },
          dataKeys: { count: kt.ring.dataKeyCount, active: kt.ring.activeDataKeyId },
          secrets: counts,
          limits: { maxValueBytes: s.maxValueBytes, maxVersions: s.maxVersions, retentionDays: s.retentionDays, recoveryDays: s.recoveryDays, purgeProtection: s.purgeProtection },
        };
      });
      emit(app.io, !!opts.json, status, () =>
        table(
          ['ITEM', 'VALUE'],
          [
            ['home', status.home],
            ['state database', `${status.state.location} (${status.state.dialect})`],
            ['root key', `${status.rootKey.id} from ${status.rootKey.source}${status.rootKey.fileMode ? ` (mode ${status.rootKey.fileMode})` : ''}`],
            ['data keys', `${status.dataKeys.count} (active ${status.dataKeys.active})`],
            ['secrets', `${status.secrets.secrets} live, ${status.secrets.deleted} deleted, ${status.secrets.versions} versions`],
            ['max value size', `${status.limits.maxValueBytes} bytes`],
            ['versions kept', `${status.limits.maxVersions} (none younger than ${status.limits.retentionDays} days pruned)`],
            ['recovery window', `${status.limits.recoveryDays} days, purge protection ${status.limits.purgeProtection ? 'on' : 'off'}`],
          ],
        ),
      );
    });
}
