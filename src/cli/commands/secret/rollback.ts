/**
 * `keyturn secret rollback PATH`: make the previous version current again (a stage move). Refused
 * for a managed credential (an applied policy with a target): the target holds the current
 * password, so moving the stages back would leave a stored current credential that does not log in.
 */
import type { Command } from 'commander';
import { isKeyturnError, KeyturnError } from '../../../core/errors.js';
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
      const result = await app.withKeyturn(opts, async (kt) => {
        await refuseManaged(kt.applied, path);
        const current = await kt.store.get(path, { stage: 'current' });
        if (!current) throw new KeyturnError((await kt.store.describe(path)) ? 'KT_STAGE_NOT_SET' : 'KT_SECRET_NOT_FOUND', `${path} has no current version`);
        const previous = await kt.store.get(path, { stage: 'previous' });
        if (!previous) throw new KeyturnError('KT_NO_PREVIOUS_VERSION', `${path} has no previous version`);
        await kt.store.moveStage(path, 'current', previous.id, current.id);
        kt.log.info({ path, from: current.id, to: previous.id }, 'secret rolled back');
        return { path, current: { id: previous.id, version: previous.number }, previous: { id: current.id, version: current.number } };
      });
      emit(app.io, !!opts.json, result, () => `${path}: current is now version ${result.current.version} (was ${result.previous.version})`);
    });
}

/** A secret whose applied policy has a target is managed: its stages follow the target, never the other way round. */
async function refuseManaged(applied: { policy(path: string): Promise<{ target?: string | undefined }> }, path: string): Promise<void> {
  let target: string | undefined;
  try {
    target = (await applied.policy(path)).target;
  } catch (e) {
    if (isKeyturnError(e, 'KT_POLICY_NOT_FOUND')) return;
    throw e;
  }
  if (target !== undefined) {
    throw new KeyturnError('KT_ROLLBACK_MANAGED', `${path} is managed on target ${target}: a rollback would only move its stages, and the target keeps the current password`);
  }
}
