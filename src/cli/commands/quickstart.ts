/**
 * `keyturn quickstart`: the main job on the embedded default, end to end. Initializes the home
 * if needed, writes and applies `quickstart/keyturn.yaml` (two app secrets, each delivered to a
 * file), rotates them, and shows the history and the rendered file, so a new user sees the
 * store, the engine and a consumer working in one command.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import type { Run } from '../../engine/runs-repo.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, isoTime, table } from '../io.js';

function quickstartYaml(dir: string, self: string, schema: string): string {
  return `# yaml-language-server: $schema=${schema}
# Written by \`keyturn quickstart\`. Edit it and run: ${self} apply -f ${join(dir, 'keyturn.yaml')}
version: 1
secrets:
  quickstart/session-key:
    type: app-secret
    description: HTTP session signing key
    password: { length: 48, symbols: 0 }
    consumers:
      - type: file
        path: ${join(dir, 'session.key')}
  quickstart/jwt-secret:
    type: app-secret
    description: JWT HMAC secret
    password: { length: 64 }
    consumers:
      - type: file
        path: ${join(dir, 'app.env')}
        template: "JWT_SECRET={{value}}\\n"
`;
}

export function registerQuickstart(program: Command, app: CliApp): void {
  common(program.command('quickstart'))
    .description('Try Keyturn end to end: init the home if needed, apply two app secrets with file consumers, rotate them, show history and the rendered file')
    .addHelpText(
      'after',
      `
It writes HOME/quickstart/keyturn.yaml and the files it renders; run it again to rotate once more.

Examples:
  keyturn quickstart
  keyturn quickstart --home "$(mktemp -d)"     # a throwaway home, your own left alone`,
    )
    .action(async (opts: CommonOptions) => {
      const [settings, { initHome, isHomeInitialized, openKeyturn }, { applyPlan, planConfig }, { configAuditHook }, { loadConfigFile }] = await Promise.all([
        app.settings(opts),
        app.runtime(),
        import('../../config/apply.js'),
        import('../../audit/hooks.js'),
        import('../../config/load.js'),
      ]);
      const steps: string[] = [];
      const createdHome = !(await isHomeInitialized(settings));
      if (createdHome) {
        const r = await initHome(settings, { audit: await app.auditContext() });
        steps.push(`initialized ${r.home} (root key ${r.rootKeyId}; back up root.key)`);
      }
      const dir = join(settings.home, 'quickstart');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = join(dir, 'keyturn.yaml');
      const { packagePath } = await import('../../core/package-path.js');
      writeFileSync(file, quickstartYaml(dir, app.self, packagePath('schema', 'keyturn.schema.json')));
      const config = loadConfigFile(file, app.io.env);
      const kt = await openKeyturn(settings, { audit: await app.auditContext() });
      try {
        const plan = await planConfig(kt.state, kt.store, config);
        await applyPlan(kt.state, kt.store, config, plan, kt.clock, configAuditHook(kt.audit, await app.auditContext()));
        steps.push(`applied ${file}`);
        const runs: Run[] = [];
        for (const path of Object.keys(config.secrets)) {
          const run = await (await kt.engine()).rotate(path);
          runs.push(run);
          steps.push(`rotated ${path}: ${run.status} (${run.id})`);
        }
        const history = await kt.store.versions('quickstart/jwt-secret');
        const rendered = readFileSync(join(dir, 'app.env'), 'utf8');
        const result = {
          home: settings.home,
          createdHome,
          config: file,
          steps,
          runs: runs.map((r) => ({ id: r.id, path: r.path, status: r.status })),
          history: history.map((v) => ({ version: v.number, id: v.id, stages: v.stages, createdAt: isoTime(v.createdAt) })),
          renderedFile: join(dir, 'app.env'),
        };
        const home = opts.home ? ` --home ${opts.home}` : '';
        emit(app.io, !!opts.json, result, () =>
          [
            ...steps.map((s) => `- ${s}`),
            '',
            'History of quickstart/jwt-secret (values are never shown here):',
            table(
              ['VERSION', 'STAGES', 'CREATED'],
              history.map((v) => [v.number, v.stages.join(','), isoTime(v.createdAt)]),
            ),
            `Rendered ${join(dir, 'app.env')} (mode 0600; demo values):`,
            rendered.trimEnd(),
            '',
            'Try next:',
            `  ${app.self} rotate quickstart/jwt-secret${home}     # rotate again, then look at the file`,
            `  ${app.self} runs show ${runs.at(-1)?.id ?? 'RUN'}${home}`,
            `  ${app.self} secret history quickstart/jwt-secret${home}`,
            `  ${app.self} status${home}`,
            `  ${app.self} --help                            # every command; the README has a tour`,
          ].join('\n'),
        );
        const failed = runs.filter((r) => r.status !== 'done');
        if (failed.length) throw new KeyturnError('KT_ROTATION_FAILED', `${failed.map((r) => r.path).join(', ')} did not rotate; see keyturn runs show ${failed[0]!.id}`);
      } finally {
        await kt.close();
      }
    });
}
