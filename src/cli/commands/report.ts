/**
 * `keyturn report compliance [--json|--csv] [--prefix P]`: every secret against its rotation
 * policy and certificate secrets against their notAfter (src/lifecycle/compliance.ts), as a
 * table, JSON or CSV; exits 1 when any secret is overdue (an expired certificate is), so it
 * can gate a CI pipeline. Works locally and through a server (the secrets the token may list).
 *
 * @example
 * ```sh
 * keyturn report compliance --prefix prod --csv > compliance.csv || echo "something is overdue"
 * ```
 */
import type { Command } from 'commander';
import { spanText } from '../../core/duration.js';
import { KeyturnError } from '../../core/errors.js';
import type { ComplianceReport } from '../../lifecycle/compliance.js';
import { common, EXIT_FAILURE, type CliApp, type CommonOptions } from '../app.js';
import { emit, table } from '../io.js';
import { registerReportAudit } from './report-audit.js';
import { csvField } from '../csv.js';

const COLUMNS = [
  'path',
  'type',
  'ageSeconds',
  'max',
  'status',
  'lifecycle',
  'lastResult',
  'lastRunId',
  'lastRotation',
  'lastRotationEventSeq',
  'lastRotationEventId',
  'overdueAt',
  'expiresAt',
] as const;

/** The report as CSV: a header row, then one row per secret. */
export function complianceCsv(r: ComplianceReport): string {
  const rows = r.secrets.map((s) => COLUMNS.map((c) => csvField(c === 'ageSeconds' ? Math.floor(s.ageMs / 1000) : s[c])).join(','));
  return [COLUMNS.map(csvField).join(','), ...rows].join('\r\n') + '\r\n';
}

function complianceText(r: ComplianceReport): string {
  if (r.secrets.length === 0) return `no secrets${r.prefix ? ` at or below ${r.prefix}` : ''}`;
  const t = table(
    ['PATH', 'TYPE', 'AGE', 'MAX', 'STATUS', 'LIFECYCLE', 'LAST RESULT', 'LAST ROTATION', 'EVENT', 'CERT EXPIRES'],
    r.secrets.map((s) => [s.path, s.type, spanText(s.ageMs), s.max, s.status, s.lifecycle, s.lastResult, s.lastRotation, s.lastRotationEventSeq, s.expiresAt]),
  );
  const c = r.counts;
  return `${t.replace(/\n+$/, '')}\n\n${r.secrets.length} secret${r.secrets.length === 1 ? '' : 's'}: ${c.ok} ok, ${c.warning} warning, ${c.failing} failing, ${c.overdue} overdue (at ${r.now})`;
}

export function registerReport(program: Command, app: CliApp): void {
  const report = program
    .command('report')
    .description('Reports for auditors and CI: compliance of every secret with its rotation policy, and the audit report of a window')
    .addHelpText(
      'after',
      `
Examples:
  keyturn report compliance
  keyturn report compliance --prefix prod --csv > compliance.csv
  keyturn report audit --hours 24 --format html --output audit.html`,
    );
  registerReportAudit(report, app);
  common(report.command('compliance'))
    .description('Every secret with its type, age, policy maximum, status, last result and last rotation; exit 1 when any is overdue')
    .option('--prefix <path>', 'only secrets at or below this path')
    .option('--csv', 'print CSV with a header row')
    .addHelpText(
      'after',
      `
STATUS is overdue (past the schedule's overdue time, or a certificate past its notAfter),
failing (the latest run failed), warning (inside the expiry warning, or a certificate within 30
days of its notAfter) or ok, the first that holds. CERT EXPIRES (expiresAt) is a certificate
secret's notAfter, - for other secrets. The exit code is 1 when any secret is overdue, 0
otherwise, whatever the format. Through a server (KEYTURN_ADDR) it lists the secrets
the token may list. See docs/compliance.md.

Examples:
  keyturn report compliance
  keyturn report compliance --prefix prod --csv > compliance.csv
  keyturn report compliance --json | jq -r '.secrets[] | select(.status != "ok") | .path'`,
    )
    .action(async (opts: CommonOptions & { prefix?: string; csv?: boolean }) => {
      if (opts.csv && opts.json) throw new KeyturnError('KT_USAGE', 'give --json or --csv, not both');
      const r = await app.withClient(opts, (client) => client.runs.compliance(opts.prefix ?? ''));
      if (opts.csv) app.io.stdout.write(complianceCsv(r));
      else emit(app.io, !!opts.json, r, () => complianceText(r));
      if (r.overdue > 0) app.exitCode = EXIT_FAILURE;
    });
}
