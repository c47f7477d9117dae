/**
 * `keyturn status`: where the state lives, which keys open it, what it holds, and the limits in
 * force. On a home that is not initialized it says so and how to start (exit 1), creating nothing.
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { isKeyturnError, KeyturnError } from '../../core/errors.js';
import { common, EXIT_FAILURE, type CliApp, type CommonOptions } from '../app.js';
import { emit, table } from '../io.js';

/** The report for a home without a state database (or one without keys): what is missing and the two ways to start. */
async function notInitialized(app: CliApp, opts: CommonOptions, reason: string): Promise<void> {
  const s = await app.settings(opts);
  const location = s.databaseUrl ? (await import('../../core/redact-url.js')).redactUrl(s.databaseUrl) : s.sqliteFile;
  const home = opts.home ? ` --home ${opts.home}` : '';
  const next = [`${app.self} init${home}`, `${app.self} quickstart${home}`] as const;
  emit(app.io, !!opts.json, { initialized: false, home: s.home, state: { dialect: s.databaseUrl ? 'postgres' : 'sqlite', location }, reason, next }, () =>
    [
      `Keyturn is not initialized in ${s.home}: ${reason}.`,
      'Start with one of:',
      `  ${next[0].padEnd(next[1].length)}  create the home folder, its root key and the state database`,
      `  ${next[1]}  try Keyturn end to end on the embedded store (initializes the home too)`,
    ].join('\n'),
  );
  app.exitCode = EXIT_FAILURE;
}

export function registerStatus(program: Command, app: CliApp): void {
  common(program.command('status'))
    .description('Show the home, state database, keys, counts and limits')
    .addHelpText(
      'after',
      `
Examples:
  keyturn status
  keyturn status --json | jq .secrets
  keyturn --home /srv/keyturn status`,
    )
    .action(async (opts: CommonOptions) => {
      const [{ fileMode }, { ROOT_KEY_FILE }] = await Promise.all([app.runtime(), import('../../crypto/root-key.js')]);
      // KT_NOT_INITIALIZED comes back as a value: it is this command's answer, not its failure.
      const status = await app
        .withKeyturn(opts, async (kt) => {
          // A store that cannot count its secrets cheaply (one outside the state database) says null.
          const counts = (await kt.store.counts?.()) ?? null;
          const s = kt.settings;
          return {
            initialized: true,
            home: s.home,
            state: { dialect: kt.state.dialect, location: kt.state.location },
            rootKey: { id: kt.ring.rootKey.id, source: s.rootKeyFromEnv ? 'KEYTURN_ROOT_KEY' : join(s.home, ROOT_KEY_FILE), fileMode: s.rootKeyFromEnv ? null : fileMode(join(s.home, ROOT_KEY_FILE)) },
            dataKeys: { count: kt.ring.dataKeyCount, active: kt.ring.activeDataKeyId },
            store: kt.store.kind,
            secrets: counts,
            limits: { maxValueBytes: s.maxValueBytes, maxVersions: s.maxVersions, retentionDays: s.retentionDays, recoveryDays: s.recoveryDays, purgeProtection: s.purgeProtection },
          };
        })
        .catch((e: unknown) => (isKeyturnError(e, 'KT_NOT_INITIALIZED') ? e : Promise.reject(e)));
      if (status instanceof KeyturnError) return notInitialized(app, opts, status.message);
      emit(app.io, !!opts.json, status, () =>
        table(
          ['ITEM', 'VALUE'],
          [
            ['home', status.home],
            ['state database', `${status.state.location} (${status.state.dialect})`],
            ['root key', `${status.rootKey.id} from ${status.rootKey.source}${status.rootKey.fileMode ? ` (mode ${status.rootKey.fileMode})` : ''}`],
            ['data keys', `${status.dataKeys.count} (active ${status.dataKeys.active})`],
            ['secrets', status.secrets ? `${status.secrets.secrets} live, ${status.secrets.deleted} deleted, ${status.secrets.versions} versions` : `not counted by the ${status.store} store`],
            ['max value size', `${status.limits.maxValueBytes} bytes`],
            ['versions kept', `${status.limits.maxVersions} (none younger than ${status.limits.retentionDays} days pruned)`],
            ['recovery window', `${status.limits.recoveryDays} days, purge protection ${status.limits.purgeProtection ? 'on' : 'off'}`],
          ],
        ),
      );
    });
}
