/** `keyturn secret ...`: the commands on stored secrets. */
import type { Command } from 'commander';
import type { CliApp } from '../../app.js';
import { registerGet } from './get.js';
import { registerHistory } from './history.js';
import { registerLifecycle } from './lifecycle.js';
import { registerLs } from './ls.js';
import { registerPut } from './put.js';
import { registerRollback } from './rollback.js';
import { registerStatus } from './status.js';

export function registerSecret(program: Command, app: CliApp): void {
  const secret = program
    .command('secret')
    .description('Store, read, list and delete secrets')
    .addHelpText(
      'after',
      `
A path is segments joined by "/" (prod/db/app). Every command has its own help: keyturn secret put --help.

Examples:
  printf %s "$TOKEN" | keyturn secret put prod/api/token --stdin
  keyturn secret get prod/api/token
  keyturn secret ls prod
  keyturn secret history prod/api/token
  keyturn secret events prod/api/token`,
    );
  // The subcommand named on the line is the only one set up (commander's options cost time);
  // for `keyturn secret --help` or an unknown name, all are, so help and suggestions see them.
  const only = SUBCOMMANDS[app.subcommand ?? ''];
  for (const register of only ? [only] : new Set(Object.values(SUBCOMMANDS))) register(secret, app);
}

/** Each subcommand (and alias) of `keyturn secret`, and the function that sets it up. */
const SUBCOMMANDS: Readonly<Record<string, (secret: Command, app: CliApp) => void>> = {
  put: registerPut,
  get: registerGet,
  ls: registerLs,
  history: registerHistory,
  rollback: registerRollback,
  rm: registerLifecycle,
  delete: registerLifecycle,
  restore: registerLifecycle,
  purge: registerLifecycle,
  events: registerStatus,
  status: registerStatus,
  deprecate: registerStatus,
  revoke: registerStatus,
  activate: registerStatus,
};
