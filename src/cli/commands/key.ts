/** `keyturn key rotate-root`: re-wrap every data key under a new root key. */
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../app.js';
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
    .description('Re-wrap all data keys under a fresh root key; the old root key stops working')
    .option('--output <file>', 'where to write the new key (required when the key comes from KEYTURN_ROOT_KEY)')
    .addHelpText(
      'after',
      `
Values are not re-encrypted: only the data keys are re-wrapped, in one transaction.
A crash at any point leaves a root key that opens the state.

Examples:
  keyturn key rotate-root
  keyturn key rotate-root --output ./new-root.key --json   # when the key comes from KEYTURN_ROOT_KEY`,
    )
    .action(async (opts: CommonOptions & { output?: string }) => {
      const [settings, { rotateRootKey }] = await Promise.all([app.settings(opts), app.runtime()]);
      const result = await rotateRootKey(settings, opts.output === undefined ? {} : { outputFile: opts.output });
      emit(app.io, !!opts.json, result, () =>
        [
          `Root key rotated: ${result.previousRootKeyId} -> ${result.rootKeyId}`,
          `  data keys re-wrapped  ${result.dataKeysRewrapped}`,
          `  new key written to    ${result.keyFile}`,
          opts.output ? 'Set KEYTURN_ROOT_KEY to the new key before the next command; the old key no longer opens the state.' : 'Back up the new root.key; the old one no longer opens the state.',
        ].join('\n'),
      );
    });
}
