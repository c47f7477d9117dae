/**
 * `keyturn apply [-f FILE]`: show the plan for keyturn.yaml and apply it.
 *
 * The file is `./keyturn.yaml` (in the command's working directory) unless `-f` names one;
 * `-f -` reads it from stdin. On a terminal the plan is shown and a question asked before
 * anything changes (`--yes` skips it). Not on a terminal, a plan of creates and changes is applied
 * without a question, but a plan that removes something always needs confirmation: `--yes`.
 * `--dry-run` and a plan with nothing to do ask nothing.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { PlanEntry } from '../../config/apply.js';
import type { ConfigLimits } from '../../config/load.js';
import type { KeyturnConfig } from '../../config/schema.js';
import type { CatchUpReport } from '../../replicas/sync.js';
import { KeyturnError } from '../../core/errors.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { confirm, onTerminal } from '../confirm.js';
import { emit, table, workingDir } from '../io.js';

const DEFAULT_FILE = 'keyturn.yaml';

interface ApplyOptions extends CommonOptions {
  file?: string;
  dryRun?: boolean;
  yes?: boolean;
}

function summary(plan: readonly PlanEntry[]): string {
  const n = (a: PlanEntry['action']) => plan.filter((p) => p.action === a).length;
  return `${n('create')} to create, ${n('change')} to change, ${n('remove')} to remove, ${n('unchanged')} unchanged`;
}

function planTable(plan: readonly PlanEntry[]): string {
  return table(
    ['ACTION', 'KIND', 'NAME', 'CHANGED'],
    plan.map((p) => [p.action, p.kind, p.name, p.changed?.join(',')]),
  );
}

/** The first few entries by kind and name, for a question. */
function names(entries: readonly PlanEntry[], max = 5): string {
  const shown = entries.slice(0, max).map((e) => `${e.kind} ${e.name}`);
  return entries.length <= max ? shown.join(', ') : `${shown.join(', ')} and ${entries.length - max} more`;
}

/** The config, from stdin (`-f -`), the file named, or ./keyturn.yaml; and how to name it. */
async function readConfig(app: CliApp, file: string | undefined, limits: ConfigLimits): Promise<{ config: KeyturnConfig; source: string }> {
  const { loadConfigFile, readConfigStream } = await import('../../config/load.js');
  if (file === '-') return { config: await readConfigStream(app.io.stdin, app.io.env, 'stdin', limits), source: 'stdin' };
  const cwd = workingDir(app.io);
  const path = resolve(cwd, file ?? DEFAULT_FILE);
  if (!existsSync(path)) {
    throw new KeyturnError('KT_CONFIG_FILE_MISSING', file === undefined ? `no ${DEFAULT_FILE} in ${cwd} (no -f FILE was given, so apply looked for ${path})` : `${file} does not exist (${path})`);
  }
  return { config: loadConfigFile(path, app.io.env, limits), source: path };
}

export function registerApply(program: Command, app: CliApp): void {
  common(program.command('apply'))
    .description('Apply keyturn.yaml: targets, secret policies and bootstrap values (shows the plan, asks on a terminal)')
    .option('-f, --file <file>', `the configuration file, or - for stdin (default: ./${DEFAULT_FILE})`)
    .option('--dry-run', 'print the plan and change nothing')
    .option('--yes', 'apply without a question (needed off a terminal when the plan removes something)')
    .addHelpText(
      'after',
      `
The plan lists each target, policy and bootstrap value as create, change, unchanged or remove.
"remove" stops managing a target or policy; secrets and their versions are never deleted by apply.
\${env:VAR} is expanded in initial values only. The JSON Schema is schema/keyturn.schema.json.

When it asks:
  on a terminal       the plan is shown, then "Apply this plan? [y/N]"; --yes skips the question
  not on a terminal   creates and changes are applied without a question; a plan with a remove
                      is refused (KT_CONFIRMATION_REQUIRED) unless --yes is given
  -f -                stdin holds the file, so apply behaves as when not on a terminal
  --dry-run, or nothing to do: nothing is asked and nothing changes

Examples:
  keyturn apply                        # ./keyturn.yaml
  keyturn apply --dry-run
  keyturn apply -f deploy/keyturn.yaml --yes --json
  cat keyturn.yaml | keyturn apply -f -`,
    )
    .action(async (opts: ApplyOptions) => {
      const [{ applyPlan, bootstrapValues, planConfig, stableJson }, { configAuditHook }] = await Promise.all([import('../../config/apply.js'), import('../../audit/hooks.js')]);
      // The whole file is checked, initial values included, against this home's limits, before anything is opened or written.
      const { maxValueBytes } = await app.settings(opts);
      const { config, source } = await readConfig(app, opts.file, { maxValueBytes });
      const json = !!opts.json;
      const fromStdin = opts.file === '-';
      const interactive = onTerminal(app.io) && !fromStdin;
      let shown = false;
      const { plan, applied, replicas } = await app.withKeyturn(opts, async (kt): Promise<{ plan: PlanEntry[]; applied: boolean; replicas?: CatchUpReport | undefined }> => {
        const plan = await planConfig(kt.state, kt.store, config);
        const removes = plan.filter((p) => p.action === 'remove');
        // What the real apply would refuse, a dry run (and the question) refuses too.
        bootstrapValues(config, plan, maxValueBytes);
        if (opts.dryRun || plan.every((p) => p.action === 'unchanged')) return { plan, applied: false };
        if (interactive || removes.length > 0) {
          const asks = interactive && !opts.yes;
          if (asks) {
            // With --json, stdout is for the result only: the plan the question is about goes to stderr.
            const text = `${planTable(plan)}\nPlan: ${summary(plan)}\n`;
            if (!json) emit(app.io, false, null, () => text);
            else if (!app.io.quiet) app.io.stderr.write(text);
            shown = !json;
          }
          const stops = removes.length > 0 ? `, which stops managing ${names(removes)} (secrets and versions stay)` : '';
          await confirm(app, { question: `Apply this plan to ${kt.state.location} (${summary(plan)})${stops}?`, yes: opts.yes, stdinInUse: fromStdin });
          if (asks && stableJson(await planConfig(kt.state, kt.store, config)) !== stableJson(plan)) {
            throw new KeyturnError('KT_PLAN_CHANGED', `the configuration applied to ${kt.state.location} changed while the question was open`);
          }
        }
        await applyPlan(kt.state, kt.store, config, plan, kt.clock, configAuditHook(kt.audit, await app.auditContext()), { maxValueBytes });
        // The replicas get the first values (and anything they are behind on) now, not at the next catch-up pass; one that fails stays behind, apply still succeeds.
        const replicated = Object.values(config.secrets).some((s) => (s.replicas?.length ?? 0) > 0);
        const replicas = replicated ? await (await kt.replicasFor(await app.auditContext())).catchUp({ all: true }) : undefined;
        return { plan, applied: true, replicas };
      });
      const upToDate = plan.every((p) => p.action === 'unchanged');
      const copies = replicas === undefined ? {} : { replicas: { copied: replicas.copied, failed: replicas.failed } };
      emit(app.io, json, { applied, dryRun: !!opts.dryRun, upToDate, file: source, plan, ...copies }, () => {
        if (upToDate) return `Nothing to do: ${summary(plan)}; the state database already matches ${source}.`;
        const last = `${opts.dryRun ? 'Plan' : 'Applied'}: ${summary(plan)}${opts.dryRun ? ' (dry run: nothing changed)' : ''}`;
        const copied =
          replicas === undefined || replicas.copied + replicas.failed === 0
            ? ''
            : `\nReplicas: ${replicas.copied} copied${replicas.failed > 0 ? `, ${replicas.failed} failed and stay behind (keyturn replicas status; they catch up by themselves)` : ''}`;
        return `${shown ? last : `${planTable(plan)}\n${last}`}${copied}`;
      });
    });
}
