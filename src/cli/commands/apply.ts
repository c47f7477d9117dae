/** `keyturn apply -f keyturn.yaml`: show the plan and apply it. */
import type { Command } from 'commander';
import type { PlanEntry } from '../../config/apply.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { emit, table } from '../io.js';

function summary(plan: readonly PlanEntry[]): string {
  const n = (a: PlanEntry['action']) => plan.filter((p) => p.action === a).length;
  return `${n('create')} to create, ${n('change')} to change, ${n('remove')} to remove, ${n('unchanged')} unchanged`;
}

export function registerApply(program: Command, app: CliApp): void {
  common(program.command('apply'))
    .description('Apply keyturn.yaml: targets, secret policies and bootstrap values (prints the plan first)')
    .requiredOption('-f, --file <file>', 'the configuration file')
    .option('--dry-run', 'print the plan and change nothing')
    .addHelpText(
      'after',
      `
The plan lists each target, policy and bootstrap value as create, change, unchanged or remove.
"remove" stops managing a target or policy; secrets and their versions are never deleted by apply.
\${env:VAR} is expanded in initial values only. The JSON Schema is schema/keyturn.schema.json.

Examples:
  keyturn apply -f keyturn.yaml --dry-run
  keyturn apply -f keyturn.yaml --json`,
    )
    .action(async (opts: CommonOptions & { file: string; dryRun?: boolean }) => {
      const [{ loadConfigFile }, { applyPlan, planConfig }, { configAuditHook }] = await Promise.all([import('../../config/load.js'), import('../../config/apply.js'), import('../../audit/hooks.js')]);
      const config = loadConfigFile(opts.file, app.io.env);
      const plan = await app.withKeyturn(opts, async (kt) => {
        const p = await planConfig(kt.state, kt.store, config);
        if (!opts.dryRun) await applyPlan(kt.state, kt.store, config, p, kt.clock, configAuditHook(kt.audit, await app.auditContext()));
        return p;
      });
      emit(app.io, !!opts.json, { applied: !opts.dryRun, plan }, () =>
        [
          table(['ACTION', 'KIND', 'NAME', 'CHANGED'], plan.map((p) => [p.action, p.kind, p.name, p.changed?.join(',')])),
          `${opts.dryRun ? 'Plan' : 'Applied'}: ${summary(plan)}${opts.dryRun ? ' (dry run: nothing changed)' : ''}`,
        ].join('\n'),
      );
    });
}
