/** `keyturn init`: create the home folder, the root key and the state database. */
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit } from '../io.js';

export function registerInit(program: Command, app: CliApp): void {
  common(program.command('init'))
    .description('Create the home folder, its root key (root.key, mode 0600) and the state database')
    .addHelpText(
      'after',
      `
Back up root.key somewhere safe: without it the stored secrets cannot be decrypted.
With KEYTURN_ROOT_KEY set, no root.key file is written.

Examples:
  keyturn init
  keyturn init --home /srv/keyturn --json
  KEYTURN_ROOT_KEY="$(cat /run/secrets/keyturn-root-key)" keyturn init`,
    )
    .action(async (opts: CommonOptions) => {
      const [settings, { initHome }] = await Promise.all([app.settings(opts), app.runtime()]);
      const result = await initHome(settings, { audit: await app.auditContext() });
      emit(app.io, !!opts.json, result, () =>
        [
          `Initialized Keyturn in ${result.home}`,
          `  state database  ${result.state} (${result.dialect})`,
          `  root key        ${result.rootKeyId} (${result.rootKeySource})`,
          `  audit key       ${result.auditKey}`,
          '',
          'Back up the root key: without it the secrets cannot be decrypted.',
          'Publish the audit key: `keyturn audit verify` needs only it to check the audit log.',
          `Next: ${app.self} secret put app/example --value hello${opts.home ? ` --home ${opts.home}` : ''}`,
        ].join('\n'),
      );
    });
}
