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
  const secret = program.command('secret').description('Store, read, list and delete secrets');
  registerPut(secret, app);
  registerGet(secret, app);
  registerLs(secret, app);
  registerHistory(secret, app);
  registerRollback(secret, app);
  registerLifecycle(secret, app);
}
