/** `keyturn secret ls [PREFIX]`: list secrets. */
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emit, isoTime, table } from '../../io.js';
import { infoJson } from './shared.js';

export function registerLs(secret: Command, app: CliApp): void {
  common(secret.command('ls [prefix]'))
    .alias('list')
    .description('List secrets at or below a path prefix (whole segments: "prod" matches prod/... not production/...)')
    .option('--deleted', 'list deleted secrets (inside their recovery window) instead')
    .addHelpText(
      'after',
      `
Examples:
  keyturn secret ls
  keyturn secret ls prod --json | jq -r '.[].path'
  keyturn secret ls --deleted`,
    )
    .action(async (prefix: string | undefined, opts: CommonOptions & { deleted?: boolean }) => {
      const infos = await app.withClient(opts, (client) => client.secrets.list(prefix ?? '', { deleted: !!opts.deleted }));
      emit(app.io, !!opts.json, infos.map(infoJson), () => {
        if (infos.length === 0) return opts.deleted ? 'No deleted secrets.' : `No secrets${prefix ? ` under ${prefix}` : ''}.`;
        return opts.deleted
          ? table(
              ['PATH', 'TYPE', 'DELETED', 'PURGE AFTER'],
              infos.map((i) => [i.path, i.type, isoTime(i.deletedAt), isoTime(i.purgeAfter)]),
            )
          : table(
              ['PATH', 'TYPE', 'CURRENT', 'VERSIONS', 'UPDATED'],
              infos.map((i) => [i.path, i.type, i.currentVersion?.number, i.versionCount, isoTime(i.updatedAt)]),
            );
      });
    });
}
