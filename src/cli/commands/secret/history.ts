/** `keyturn secret history PATH`: the versions of a secret, newest first, without values. */
import type { Command } from 'commander';
import { common, type CliApp, type CommonOptions } from '../../app.js';
import { emit, isoTime, table } from '../../io.js';
import { infoJson, versionJson } from './shared.js';

export function registerHistory(secret: Command, app: CliApp): void {
  common(secret.command('history <path>'))
    .description('Show the versions of a secret, newest first, with their stages (never values)')
    .addHelpText(
      'after',
      `
Read an older version with keyturn secret get PATH --version N.

Examples:
  keyturn secret history prod/db/app
  keyturn secret history prod/db/app --json | jq '.history[0]'`,
    )
    .action(async (path: string, opts: CommonOptions) => {
      const { info, versions } = await app.withClient(opts, (client) => client.secrets.history(path));
      emit(app.io, !!opts.json, { ...infoJson(info), history: versions.map(versionJson) }, () =>
        table(
          ['VERSION', 'ID', 'STAGES', 'KIND', 'CREATED'],
          versions.map((v) => [v.number, v.id, v.stages.join(','), v.kind, isoTime(v.createdAt)]),
        ),
      );
    });
}
