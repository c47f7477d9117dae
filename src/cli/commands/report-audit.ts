/**
 * `keyturn report audit [--hours N | --since TIME] [--format text|json|csv|html] [--output FILE]`:
 * the audit report of a window (src/audit/report.ts), after verifying the stored log as `keyturn
 * audit verify` does; refuses (KT_AUDIT_VERIFY_FAILED, exit 1) when it does not verify. Local home
 * only: through a server (KEYTURN_ADDR) it is refused with KT_REMOTE_UNSUPPORTED.
 *
 * @example
 * ```sh
 * keyturn report audit --hours 24 --format html --output audit-today.html
 * ```
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import type { AuditReport, EventList, OperationRow } from '../../audit/report.js';
import { common, type CliApp, type CommonOptions } from '../app.js';
import { table } from '../io.js';
import { numberOption, timeOption } from '../options.js';
import { csvField } from '../csv.js';

const HOUR_MS = 3_600_000;
const FORMATS = ['text', 'json', 'csv', 'html'] as const;
type Format = (typeof FORMATS)[number];

interface AuditReportOptions extends CommonOptions {
  hours?: number;
  /** Milliseconds since 1970. */
  since?: number;
  format?: string;
  output?: string;
}

/** JSON with every object's keys sorted, two-space indented, ending in a newline. */
export function auditReportJson(r: AuditReport): string {
  const sorted = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sorted);
    if (v !== null && typeof v === 'object')
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
      );
    return v;
  };
  return `${JSON.stringify(sorted(r), null, 2)}\n`;
}

const CSV_COLUMNS = ['section', 'actor', 'path', 'action', 'outcome', 'errorCode', 'count', 'seq', 'time', 'detail'] as const;
type CsvRow = Partial<Record<(typeof CSV_COLUMNS)[number], string | number | null>>;

function opCsv(section: string, action: string, rows: readonly OperationRow[]): CsvRow[] {
  const out: CsvRow[] = [];
  for (const o of rows) {
    for (const outcome of ['intent', 'success', 'failure', 'denied'] as const) if (o[outcome] > 0) out.push({ section, path: o.path, action, outcome, count: o[outcome] });
    for (const [code, n] of Object.entries(o.errorCodes)) out.push({ section, path: o.path, action, errorCode: code, count: n });
  }
  return out;
}

function listCsv(section: string, l: EventList): CsvRow[] {
  const rows: CsvRow[] = l.events.map((e) => ({ section, actor: e.actor, path: e.path, action: e.action, outcome: e.outcome, errorCode: e.errorCode, seq: e.seq, time: e.time, detail: e.runId }));
  if (l.omitted > 0) rows.push({ section, count: l.omitted, detail: 'omitted: past the list limit' });
  return rows;
}

/** The report as one RFC 4180 table (every field quoted, CRLF): a `section` column says which part a row is. */
export function auditReportCsv(r: AuditReport): string {
  const v = r.verification;
  const rows: CsvRow[] = [
    { section: 'window', time: r.window.since, detail: `until ${r.window.until}` },
    { section: 'checkpoint', count: v.checkpointSize, time: v.checkpointTime, detail: v.checkpointRoot },
    { section: 'events', count: r.events },
    ...r.reads.flatMap((a) =>
      (['success', 'denied', 'failure'] as const).filter((o) => a[o] > 0).map((o): CsvRow => ({ section: 'reads', actor: a.actor, path: a.path, action: 'secret.read', outcome: o, count: a[o] })),
    ),
    ...opCsv('rotations', 'secret.rotate', r.rotations),
    ...opCsv('cleanups', 'secret.cleanup', r.cleanups),
    ...listCsv('failures', r.failures),
    ...listCsv('breakglass', r.breakglass),
    ...listCsv('access-changes', r.accessChanges),
    ...listCsv('anomalies', r.anomalies),
  ];
  return [CSV_COLUMNS.map(csvField).join(','), ...rows.map((row) => CSV_COLUMNS.map((c) => csvField(row[c])).join(','))].join('\r\n') + '\r\n';
}

const codes = (o: OperationRow): string =>
  Object.entries(o.errorCodes)
    .map(([c, n]) => `${c}×${n}`)
    .join(' ') || '-';

function listText(l: EventList): string {
  if (l.events.length === 0) return '  none';
  const t = table(
    ['SEQ', 'TIME', 'ACTOR', 'ACTION', 'PATH', 'OUTCOME', 'ERROR'],
    l.events.map((e) => [e.seq, e.time, e.actor, e.action, e.path ?? '-', e.outcome, e.errorCode ?? '-']),
  ).replace(/\n+$/, '');
  return l.omitted > 0 ? `${t}\n  … and ${l.omitted} more` : t;
}

/** The entries past the checkpoint: verified by their MACs, signed by nothing yet. */
function afterCheckpoint(n: number): string {
  return `${n} ${n === 1 ? 'entry after it was' : 'entries after it were'} checked by their MACs but are not yet under a signed checkpoint (keyturn audit checkpoint signs one).`;
}

export function auditReportText(r: AuditReport): string {
  const v = r.verification;
  const ops = (rows: readonly OperationRow[]): string =>
    rows.length === 0
      ? '  none'
      : table(
          ['PATH', 'INTENT', 'SUCCESS', 'FAILURE', 'DENIED', 'ERRORS'],
          rows.map((o) => [o.path || '-', o.intent, o.success, o.failure, o.denied, codes(o)]),
        ).replace(/\n+$/, '');
  return [
    `Audit report ${r.window.since} .. ${r.window.until} (generated ${r.generatedAt})`,
    `Verified against the signed checkpoint at size ${v.checkpointSize}, root ${v.checkpointRoot}, signed ${v.checkpointTime ?? 'at an unknown time'} (log size ${v.size}).`,
    ...(v.size > v.checkpointSize ? [afterCheckpoint(v.size - v.checkpointSize)] : []),
    `${r.events} event(s) in the window.`,
    '',
    'Reads (secret.read by actor and path):',
    r.reads.length === 0
      ? '  none'
      : table(
          ['ACTOR', 'PATH', 'ALLOWED', 'DENIED', 'FAILED'],
          r.reads.map((a) => [a.actor, a.path || '-', a.success, a.denied, a.failure]),
        ).replace(/\n+$/, ''),
    '',
    'Rotations (secret.rotate):',
    ops(r.rotations),
    '',
    'Cleanups (secret.cleanup):',
    ops(r.cleanups),
    '',
    'Failures and denials:',
    listText(r.failures),
    '',
    'Break-glass:',
    listText(r.breakglass),
    '',
    'Access and config changes:',
    listText(r.accessChanges),
    '',
    'Access anomalies (found by keyturn server; keyturn anomalies ls has the reasons):',
    listText(r.anomalies),
  ].join('\n');
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(s: string | number | null): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function htmlTable(head: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  if (rows.length === 0) return '<p class="none">none</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function listHtml(l: EventList): string {
  const t = htmlTable(
    ['Seq', 'Time', 'Actor', 'Action', 'Path', 'Outcome', 'Error'],
    l.events.map((e) => [e.seq, e.time, e.actor, e.action, e.path, e.outcome, e.errorCode]),
  );
  return l.omitted > 0 ? `${t}<p>… and ${l.omitted} more</p>` : t;
}

/** One self-contained HTML page: inline CSS, no script, every value escaped. */
export function auditReportHtml(r: AuditReport): string {
  const v = r.verification;
  const ops = (rows: readonly OperationRow[]): string =>
    htmlTable(
      ['Path', 'Intent', 'Success', 'Failure', 'Denied', 'Errors'],
      rows.map((o) => [o.path, o.intent, o.success, o.failure, o.denied, codes(o)]),
    );
  const css =
    'body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}.none{color:#777}code{font-size:.9em}';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Keyturn audit report ${escapeHtml(r.window.since)} .. ${escapeHtml(r.window.until)}</title><style>${css}</style></head><body>
<h1>Keyturn audit report</h1>
<p>Window ${escapeHtml(r.window.since)} .. ${escapeHtml(r.window.until)}, generated ${escapeHtml(r.generatedAt)}; ${r.events} event(s).</p>
<p>Verified against the signed checkpoint at size ${v.checkpointSize}, root <code>${escapeHtml(v.checkpointRoot)}</code>, signed ${escapeHtml(v.checkpointTime ?? 'at an unknown time')} (log size ${v.size}, key <code>${escapeHtml(v.verifierKey.split('+').slice(0, 2).join('+'))}</code>).${v.size > v.checkpointSize ? ` ${escapeHtml(afterCheckpoint(v.size - v.checkpointSize))}` : ''}</p>
<h2>Reads</h2>${htmlTable(
    ['Actor', 'Path', 'Allowed', 'Denied', 'Failed'],
    r.reads.map((a) => [a.actor, a.path, a.success, a.denied, a.failure]),
  )}
<h2>Rotations</h2>${ops(r.rotations)}
<h2>Cleanups</h2>${ops(r.cleanups)}
<h2>Failures and denials</h2>${listHtml(r.failures)}
<h2>Break-glass</h2>${listHtml(r.breakglass)}
<h2>Access and config changes</h2>${listHtml(r.accessChanges)}
<h2>Access anomalies</h2>${listHtml(r.anomalies)}
</body></html>
`;
}

export function registerReportAudit(report: Command, app: CliApp): void {
  common(report.command('audit'))
    .description('Who read what, rotations and their results, failures, break-glass and access changes over a window, from the verified audit log')
    .option('--hours <n>', 'the last N hours (default 24; a fraction is fine: 0.5)', numberOption('--hours', { min: 0 }))
    .option('--since <time>', 'from an RFC 3339 time, e.g. 2025-01-02T00:00:00Z, to now', timeOption('--since'))
    .option('--format <format>', `${FORMATS.join(', ')} (default text; --json is --format json)`)
    .option('--output <file>', 'write the report to this file instead of stdout')
    .addHelpText(
      'after',
      `
Before reporting, the stored log is verified as keyturn audit verify does (every entry, every
checkpoint signature, the sinks' checkpoints); when it does not verify nothing is reported and
the exit code is 1 (KT_AUDIT_VERIFY_FAILED). The report names the signed checkpoint it was
verified against (size, root hash, time). Lists of events (failures, break-glass, access
changes) keep at most 1000 each and count the rest. Secret values are never in the audit log,
so never in the report. Local home only (not through KEYTURN_ADDR). Exit 0 when reported.
See docs/audit.md.

Examples:
  keyturn report audit
  keyturn report audit --hours 168 --format html --output audit-week.html
  keyturn report audit --since 2025-01-02T00:00:00Z --format csv > audit.csv
  keyturn report audit --format json | jq '.rotations[] | select(.failure > 0) | .path'`,
    )
    .action(async (opts: AuditReportOptions) => {
      if (opts.hours !== undefined && opts.since !== undefined) throw new KeyturnError('KT_USAGE', 'give --hours N or --since TIME, not both');
      const format = (opts.format ?? (opts.json ? 'json' : 'text')) as Format;
      if (!FORMATS.includes(format)) throw new KeyturnError('KT_USAGE', `--format takes ${FORMATS.join(', ')}`);
      if (opts.json && format !== 'json') throw new KeyturnError('KT_USAGE', 'give --json or --format, not both');
      if (await app.isRemote(opts)) {
        throw new KeyturnError('KT_REMOTE_UNSUPPORTED', "report audit works on a local home (the server's host), not through a server: run it there, or use keyturn audit export and verify the file");
      }
      const text = await app.withKeyturn(opts, async (kt) => {
        const [{ localAudit }, { buildAuditReport }] = await Promise.all([import('../../client/local-audit.js'), import('../../audit/report.js')]);
        // The same verification as `keyturn audit verify` (with the sinks' checkpoints).
        const verified = await localAudit(kt).verify({});
        if (!verified.ok) {
          throw new KeyturnError(
            'KT_AUDIT_VERIFY_FAILED',
            `the audit log does not verify, no report: ${verified.problems.length} problem(s): ${[...new Set(verified.problems.map((p) => p.code))].join(', ')} (see keyturn audit verify)`,
            {
              details: { problems: verified.problems.length },
            },
          );
        }
        if (verified.latest === null) throw new KeyturnError('KT_AUDIT_VERIFY_FAILED', 'the audit log has no signed checkpoint yet: run keyturn audit checkpoint, then report');
        const latest = verified.latest;
        const [row] = await kt.audit.checkpointsBetween(latest.size, latest.size);
        const now = kt.clock.now();
        const since = opts.since ?? now - (opts.hours ?? 24) * HOUR_MS;
        const r = await buildAuditReport(
          kt.audit,
          {
            size: verified.size,
            checkpointSize: latest.size,
            checkpointRoot: latest.root,
            checkpointTime: row === undefined ? null : new Date(Number(row.created_at)).toISOString(),
            verifierKey: verified.verifierKey,
          },
          { since, until: now },
          now,
        );
        return format === 'json' ? auditReportJson(r) : format === 'csv' ? auditReportCsv(r) : format === 'html' ? auditReportHtml(r) : `${auditReportText(r)}\n`;
      });
      if (opts.output === undefined) app.io.stdout.write(text);
      else {
        writeFileSync(opts.output, text, { mode: 0o600 });
        if (!opts.quiet) app.io.stderr.write(`Wrote the audit report to ${opts.output}\n`);
      }
    });
}
