/** `keyturn key rotate-root`: re-wrap every data key under a new root key (asks first; `--yes` in scripts). */
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { confirm } from '../confirm.js';
import { emit } from '../io.js';

export function registerKey(program: Command, app: CliApp): void {
  const key = program
    .command('key')
    .description('Manage the encryption keys')
    .addHelpText(
      'after',
      `
The root key (root.key or KEYTURN_ROOT_KEY) wraps the data keys, which encrypt the values.

Examples:
  keyturn key rotate-root
  keyturn key rotate-root --output ./new-root.key --json`,
    );
  common(key.command('rotate-root'))
    .description('Re-wrap all data keys under a fresh root key; the old root key stops working (kept as root.key.old)')
    .option('--output <file>', 'where to write the new key (only, and required, when the key comes from KEYTURN_ROOT_KEY)')
    .option('--yes', 'confirm without a question (needed when not on a terminal)')
    .addHelpText(
      'after',
      `
Values are not re-encrypted: only the data keys are re-wrapped, in one transaction.
A crash at any point leaves a root key that opens the state.

With root.key, the new key replaces it and the replaced key is kept as root.key.old (mode 0600):
database backups taken before the rotation need it. Keyturn never uses root.key.old; move it to
those backups (or delete it) yourself: the next rotate-root refuses to run while it is there.
With KEYTURN_ROOT_KEY, the new key goes to --output FILE; set KEYTURN_ROOT_KEY to it afterwards.

On a terminal the command asks before rotating; otherwise (scripts, CI) it needs --yes.

Examples:
  keyturn key rotate-root
  keyturn key rotate-root --yes --json
  KEYTURN_ROOT_KEY=... keyturn key rotate-root --output new-root.key --yes`,
    )
    .action(async (opts: CommonOptions & { output?: string; yes?: boolean }) => {
      const [settings, { rotateRootKey }] = await Promise.all([app.settings(opts), app.runtime()]);
      const result = await rotateRootKey(settings, {
        ...(opts.output === undefined ? {} : { outputFile: opts.output }),
        confirm: (plan) =>
          confirm(app, {
            question: `Rotate root key ${plan.rootKeyId} (${plan.dataKeys} data key${plan.dataKeys === 1 ? '' : 's'} re-wrapped; the new key goes to ${plan.keyFile}${plan.oldKeyFile ? `, the old one to ${plan.oldKeyFile}` : ''})?`,
            yes: opts.yes,
          }),
      });
      emit(app.io, !!opts.json, result, () =>
        [
          `Root key rotated: ${result.previousRootKeyId} -> ${result.rootKeyId}`,
          `  data keys re-wrapped  ${result.dataKeysRewrapped}`,
          `  new key written to    ${result.keyFile}`,
          ...(result.oldKeyFile ? [`  old key kept in       ${result.oldKeyFile} (mode 0600)`] : []),
          result.oldKeyFile
            ? `Back up the new root.key. The old key no longer opens the state: keep root.key.old with the database backups taken before this rotation (they need it), and remove it from the home folder; the next rotate-root refuses to run while it is there.`
            : 'Set KEYTURN_ROOT_KEY to the new key before the next command; the old key no longer opens the state.',
        ].join('\n'),
      );
    });
}
