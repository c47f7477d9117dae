/**
 * `keyturn quickstart`: the main job on the embedded default, end to end. Initializes the home
 * if needed, stores a few app secrets under `quickstart/`, adds a version, rolls back, and shows
 * the history, so a new user sees the store working in one command.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { initHome, isHomeInitialized, openKeyturn } from '../../runtime/keyturn.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, isoTime, table } from '../io.js';

export function registerQuickstart(program: Command, app: CliApp): void {
  common(program.command('quickstart'))
    .description('Try Keyturn: init the home if needed, store app secrets under quickstart/, add a version, roll back, show history')
    .action(async (opts: CommonOptions) => {
      const settings = app.settings(opts);
      const steps: string[] = [];
      const createdHome = !(await isHomeInitialized(settings));
      if (createdHome) {
        const r = await initHome(settings);
        steps.push(`initialized ${r.home} (root key ${r.rootKeyId})`);
      }
      const kt = await openKeyturn(settings);
      try {
        const secret = (n: number) => randomBytes(n).toString('base64url');
        await kt.store.put('quickstart/session-key', secret(32), { metadata: { type: 'app-secret', description: 'HTTP session signing key', tags: { app: 'quickstart' } } });
        await kt.store.put('quickstart/jwt-secret', secret(48), { metadata: { type: 'app-secret', description: 'JWT HMAC secret', tags: { app: 'quickstart' } } });
        await kt.store.put('quickstart/db', { username: 'app', password: secret(24), host: '127.0.0.1', port: 5432 }, { metadata: { type: 'database-credential', tags: { app: 'quickstart' } } });
        steps.push('stored quickstart/session-key, quickstart/jwt-secret, quickstart/db');
        const before = (await kt.store.get('quickstart/session-key'))!;
        const next = await kt.store.put('quickstart/session-key', secret(32));
        steps.push(`stored version ${next.number} of quickstart/session-key; version ${before.number} is now previous`);
        await kt.store.moveStage('quickstart/session-key', 'current', before.id, next.id);
        steps.push(`rolled back: version ${before.number} is current again, ${next.number} previous`);
        const history = await kt.store.versions('quickstart/session-key');
        const paths: string[] = [];
        for await (const p of kt.store.list('quickstart')) paths.push(p);
        const result = { home: settings.home, createdHome, steps, secrets: paths, history: history.map((v) => ({ version: v.number, id: v.id, stages: v.stages, createdAt: isoTime(v.createdAt) })) };
        emit(app.io, !!opts.json, result, () =>
          [
            ...steps.map((s) => `- ${s}`),
            '',
            'History of quickstart/session-key (values are never shown here):',
            table(['VERSION', 'STAGES', 'CREATED'], history.map((v) => [v.number, v.stages.join(','), isoTime(v.createdAt)])),
            '',
            'Try next:',
            `  keyturn secret ls quickstart${opts.home ? ` --home ${opts.home}` : ''}`,
            `  keyturn secret get quickstart/db --field username${opts.home ? ` --home ${opts.home}` : ''}`,
            `  keyturn status${opts.home ? ` --home ${opts.home}` : ''}`,
          ].join('\n'),
        );
      } finally {
        await kt.close();
      }
    });
}
