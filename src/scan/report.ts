/**
 * What `keyturn scan` prints: the human listing, the JSON document and SARIF 2.1.0 (for code
 * scanning uploads). Every output shows the secret redacted ({@link redact}): never the raw
 * value, which stays in the in-memory finding.
 *
 * @example
 * ```ts
 * io.stdout.write(JSON.stringify(toSarif(findings, rules, '0.1.0')));
 * ```
 */
import type { ScanFinding } from './finding.js';
import { locationFingerprint } from './finding.js';
import type { Rule } from './rule.js';
import type { LeakAction, SecretMatch } from './link/types.js';

/** The secret with all but a short prefix hidden: at most 4 characters and an eighth of its length show. */
export function redact(secret: string): string {
  const shown = Math.min(4, Math.floor(secret.length / 8));
  return `${secret.slice(0, shown)}${'*'.repeat(8)}`;
}

/** A finding as every output shows it: the secret redacted, both fingerprints. */
export interface ReportedFinding extends Omit<ScanFinding, 'secret' | 'link'> {
  /** Redacted ({@link redact}): never the raw value. */
  readonly secret: string;
  readonly locationFingerprint: string;
  /** With a home or server: the managed secret version the value is (null: none), and what --rotate did. */
  readonly managed?: SecretMatch | null;
  readonly also?: readonly SecretMatch[];
  readonly action?: LeakAction | null;
}

export function toReported(f: ScanFinding): ReportedFinding {
  return {
    ruleId: f.ruleId,
    description: f.description,
    file: f.file,
    line: f.line,
    column: f.column,
    endLine: f.endLine,
    endColumn: f.endColumn,
    secret: redact(f.secret),
    fingerprint: f.fingerprint,
    locationFingerprint: locationFingerprint(f),
    ...(f.commit === undefined ? {} : { commit: f.commit }),
    ...(f.author === undefined ? {} : { author: f.author }),
    ...(f.date === undefined ? {} : { date: f.date }),
    ...(f.link === undefined ? {} : { managed: f.link.match, also: f.link.also, action: f.link.action }),
  };
}

/** What the inventory says of a finding, in a line: `managed secret PATH (field password): rotated, run ID done`; null when not linked or no match. */
export function linkLine(f: ScanFinding): string | null {
  const m = f.link?.match;
  if (!m) return null;
  const field = m.field === undefined ? '' : ` (field ${m.field})`;
  const a = f.link?.action;
  const act =
    a === null || a === undefined
      ? m.stage === 'current' || m.stage === 'pending'
        ? ': rotate it now (keyturn rotate or scan --rotate)'
        : ''
      : a.action === 'rotated'
        ? `: rotated, run ${a.runId} ${a.runStatus}`
        : a.action === 'queued'
          ? `: emergency rotation queued${a.error ? ` (${a.error.code})` : ''}`
          : `: not rotated${a.note ? `: ${a.note}` : a.error ? ` (${a.error.code})` : ''}`;
  return `${m.label}${field}${act}`;
}

export interface ScanSummary {
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  /** Findings in the baseline, not reported. */
  readonly known: number;
}

export function renderHuman(findings: readonly ScanFinding[], summary: ScanSummary): string {
  const blocks = findings.map((f) => {
    const where = `${f.file}:${f.line}:${f.column}`;
    const lines = [`${where}  ${f.ruleId}  ${redact(f.secret)}`, `  ${f.description}; fingerprint ${f.fingerprint}`];
    if (f.commit !== undefined) lines.push(`  commit ${f.commit.slice(0, 12)} by ${f.author ?? '?'} on ${f.date ?? '?'}`);
    const managed = linkLine(f);
    if (managed !== null) lines.push(`  ${managed}`);
    return lines.join('\n');
  });
  const mb = (summary.bytes / 1e6).toFixed(1);
  const tail =
    findings.length === 0
      ? `No new secrets found (${summary.files} files, ${mb} MB in ${summary.seconds.toFixed(2)} s${summary.known > 0 ? `; ${summary.known} in the baseline` : ''}).`
      : `${findings.length} secret${findings.length === 1 ? '' : 's'} found (${summary.files} files, ${mb} MB in ${summary.seconds.toFixed(2)} s${summary.known > 0 ? `; ${summary.known} more in the baseline` : ''}).`;
  return [...blocks, tail].join('\n\n');
}

export function toJsonReport(findings: readonly ScanFinding[], summary: ScanSummary): { findings: ReportedFinding[]; summary: ScanSummary } {
  return { findings: findings.map(toReported), summary };
}

/** SARIF 2.1.0: one run, the rules as the tool's rules, one result per finding, no snippet of the secret. */
export function toSarif(findings: readonly ScanFinding[], rules: readonly Rule[], version: string): Record<string, unknown> {
  const index = new Map(rules.map((r, i) => [r.id, i]));
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'keyturn scan',
            informationUri: 'https://github.com/keyturn/keyturn/blob/main/docs/scan.md',
            version,
            rules: rules.map((r) => ({
              id: r.id,
              name: r.id,
              shortDescription: { text: r.description },
              fullDescription: { text: `${r.description}: a secret committed to the repository. Rotate it, then remove it from the code.` },
              help: { text: 'Rotate the credential (keyturn rotate PATH if Keyturn manages it), then remove it from the code and load it from the environment or a secret store.' },
              defaultConfiguration: { level: 'error' },
              properties: { tags: ['security', 'secret', ...r.tags] },
            })),
          },
        },
        columnKind: 'utf16CodeUnits',
        results: findings.map((f) => ({
          ruleId: f.ruleId,
          ...(index.has(f.ruleId) ? { ruleIndex: index.get(f.ruleId) } : {}),
          level: 'error',
          message: {
            text: `${f.description} found (${redact(f.secret)})${f.commit === undefined ? '' : ` in commit ${f.commit.slice(0, 12)}`}.${linkLine(f) === null ? '' : ` It is the ${linkLine(f)}.`}`,
          },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: encodeURI(f.file), uriBaseId: '%SRCROOT%' },
                region: { startLine: f.line, startColumn: f.column, endLine: f.endLine, endColumn: f.endColumn + 1 },
              },
            },
          ],
          partialFingerprints: { 'keyturnSecret/v1': f.fingerprint, 'keyturnLocation/v1': locationFingerprint(f) },
          ...sarifProperties(f),
        })),
      },
    ],
  };
}

/** A SARIF result's properties: the commit it came from, and the managed secret it is (path, stage, field; never the value). */
function sarifProperties(f: ScanFinding): { properties?: Record<string, unknown> } {
  const p: Record<string, unknown> = {};
  if (f.commit !== undefined) Object.assign(p, { commit: f.commit }, f.author === undefined ? {} : { author: f.author }, f.date === undefined ? {} : { date: f.date });
  const m = f.link?.match;
  if (m) p.keyturn = { path: m.path, stage: m.stage, ...(m.field === undefined ? {} : { field: m.field }), ...(f.link?.action ? { action: f.link.action.action, runId: f.link.action.runId } : {}) };
  return Object.keys(p).length === 0 ? {} : { properties: p };
}
