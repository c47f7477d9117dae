/** `keyturn secret ...`: the commands on stored secrets. */
import type { Command } from 'commander';
import type { CliApp } from '../../app.js';
import { registerGet } from './get.js';
import { registerHistory } from './history.js';
import { registerLifecycle } from './lifecycle.js';
import { registerLs } from './ls.js';
import { registerPut } from './put.js';
import { registerRollback } from './rollback.js';

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
  keyturn secret history prod/api/token`,
    );
  registerPut(secret, app);
  registerGet(secret, app);
  registerLs(secret, app);
  registerHistory(secret, app);
  registerRollback(secret, app);
  registerLifecycle(secret, app);
}
