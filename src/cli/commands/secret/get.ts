/** `keyturn secret get PATH`: print a version's value, byte for byte (a newline added only on a terminal). */
import type { Command } from 'commander';
import { fieldOf } from '../../../core/values.js';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emitValue } from '../../io.js';
import { selector, versionJson } from './shared.js';

interface GetOptions extends CommonOptions {
  stage?: string;
  version?: string;
  field?: string;
  allowInactive?: boolean;
}

export function registerGet(secret: Command, app: CliApp): void {
  common(secret.command('get <path>'))
    .description('Print the value of a secret (current version unless --stage or --version)')
    .option('--stage <stage>', 'current, pending or previous')
    .option('--version <n|id>', 'a version number or version id')
    .option('--field <name>', 'print only this field of a JSON value')
    .option('--allow-inactive', 'read it even when it is deprecated, expired or revoked (else KT_SECRET_INACTIVE)')
    .addHelpText(
      'after',
      '\nThe value is printed exactly: a string as its bytes, a JSON value as JSON, nothing added, so\n`keyturn secret get PATH > file` writes the stored bytes. On a terminal a newline follows a value\nthat does not end in one. --json wraps the value with its version. A secret that is not active (keyturn secret status) is refused\nunless --allow-inactive.\n\nExamples:\n  keyturn secret get prod/db/app --field password\n  keyturn secret get prod/api/token > token.txt\n  keyturn secret get prod/db/app --stage previous --json',
    )
    .action(async (path: string, opts: GetOptions) => {
      const select = selector(opts);
      const version = await app.withClient(opts, (client) => client.secrets.get(path, select, { allowInactive: !!opts.allowInactive }));
      const value: unknown = opts.field === undefined ? version.value : fieldOf(version, opts.field);
      // The primary store was unreachable and a read-only fallback replica answered: said on stderr, the value on stdout unchanged.
      if (version.servedBy !== undefined && !app.io.quiet) app.io.stderr.write(`note: the primary store is unreachable; version ${version.number} was read from the fallback ${version.servedBy}\n`);
      const served = version.servedBy === undefined ? {} : { servedBy: version.servedBy };
      emitValue(app.io, !!opts.json, { path, ...versionJson(version), ...served, ...(opts.field !== undefined ? { field: opts.field } : {}), value }, () =>
        typeof value === 'string' ? value : JSON.stringify(value, null, 2),
      );
    });
}
