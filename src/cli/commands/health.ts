/**
 * `keyturn health`: one command for an operator at 3 a.m. Checks the state database, the audit
 * log's tail and checkpoint age, each applied target's login, and failed or stuck runs
 * (src/runtime/health.ts), and prints one row per check (or `--json`). Exit 0 when every check is
 * ok, 1 when any is degraded or failed. Reads only: nothing is written, no value is printed.
 */
import type { Command } from 'commander';
import { isKeyturnError } from '../../core/errors.js';
import { common, EXIT_FAILURE, type CliApp, type CommonOptions } from '../app.js';
import { emit, table } from '../io.js';
import { intOption } from '../options.js';

interface HealthOptions extends CommonOptions {
  timeout: number;
}

export function registerHealth(program: Command, app: CliApp): void {
  common(program.command('health'))
    .description('Check the state database, audit log, targets and runs; exit 1 when any is not ok')
    .option('--timeout <ms>', 'limit on each target login check, in milliseconds', intOption('--timeout', { min: 1, max: 600_000 }), 5000)
    .addHelpText(
      'after',
      `
Checks (each ok, degraded or failed, with a short detail; never a value):
  state    the state database answers and has every migration
  audit    the events since the last signed checkpoint verify (the whole log: keyturn audit verify);
           degraded when that checkpoint is older than twice KEYTURN_AUDIT_CHECKPOINT_SECONDS
  targets  each applied target accepts the current credential of a secret rotating on it
           within --timeout (unreachable or refused: degraded)
  runs     secrets whose last run failed, retries overdue by more than a minute, and runs
           marked running with no live lease (degraded, listed by path)

Exit status: 0 when every check is ok, 1 when any is degraded or failed.

Examples:
  keyturn health
  keyturn health --json | jq '.checks[] | select(.status != "ok")'
  keyturn health --timeout 2000 || page-oncall`,
    )
    .action(async (opts: HealthOptions) => {
      const { checkHealth, unopenedReport } = await import('../../runtime/health.js');
      const report = await app
        .withKeyturn(opts, (kt) => checkHealth(kt, { timeoutMs: opts.timeout }))
        .catch((e: unknown) => {
          // A home that is not set up is a usage matter (keyturn status says how to start).
          if (isKeyturnError(e, 'KT_NOT_INITIALIZED')) throw e;
          return unopenedReport(e);
        });
      emit(app.io, !!opts.json, report, () => {
        const rows: string[][] = [];
        for (const c of report.checks) {
          rows.push([c.name, c.status, c.detail]);
          for (const i of c.items ?? []) rows.push([`  ${i.name}`, i.status, i.detail]);
        }
        return `${table(['CHECK', 'STATUS', 'DETAIL'], rows)}\nHealth: ${report.status}`;
      });
      if (report.status !== 'ok') app.exitCode = EXIT_FAILURE;
    });
}
