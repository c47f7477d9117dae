/**
 * `keyturn scan [PATH...]`: finds leaked secrets in files and folders (respecting .gitignore),
 * in git history (`--git`, `--since-commit`), in the staged changes (`--staged`, for a
 * pre-commit hook) or on standard input (`-`). Prints them redacted, as text, `--json` or SARIF
 * 2.1.0 (`--format sarif`), to standard output or `--output FILE`. Exit 1 when anything not in
 * the baseline is found. The scanner (src/scan/) loads only when the command runs.
 */
import { Option, type Command } from 'commander';
import { KeyturnError } from '../../core/errors.js';
import { common, EXIT_FAILURE, type CliApp, type CommonOptions } from '../app.js';
import { emit, emitData, workingDir } from '../io.js';
import { intOption } from '../options.js';
import type { ScanFinding } from '../../scan/finding.js';

interface ScanCliOptions extends CommonOptions {
  git?: boolean;
  sinceCommit?: string;
  logRange?: string;
  staged?: boolean;
  config?: string;
  format?: 'human' | 'json' | 'sarif';
  output?: string;
  baseline?: string;
  baselineWrite?: string;
  workers?: number;
  link?: boolean;
  rotate?: boolean;
}

export function registerScan(program: Command, app: CliApp): void {
  common(program.command('scan'))
    .argument('[path...]', 'files and folders to scan (default: .); - reads standard input; with --git or --staged, the repository (default: .)')
    .description('Find leaked secrets in files, git history or staged changes; exit 1 when something new is found')
    .option('--git', 'scan the git history (every commit reachable from HEAD, or the range of --since-commit/--log-range) instead of the files')
    .option('--since-commit <ref>', 'with --git: only the commits after REF (REF..HEAD); implies --git')
    .option('--log-range <range>', 'with --git: a git log range such as main..feature; implies --git')
    .option('--staged', 'scan the staged changes (git diff --cached), for a pre-commit hook')
    .option('--config <file>', 'rules in TOML, gitleaks schema (default: .keyturn-scan.toml or .gitleaks.toml in the folder scanned, else the built-in rules)')
    .addOption(new Option('--format <format>', 'output format (--json is --format json)').choices(['human', 'json', 'sarif']))
    .option('--output <file>', 'write the report to FILE instead of standard output (the exit status still tells whether anything new was found)')
    .option('--baseline <file>', 'report only findings not in this baseline (written by --baseline-write)')
    .option('--baseline-write <file>', 'write the findings to FILE as the accepted baseline, and exit 0')
    .option('--no-link', 'do not compare the findings with the managed secrets of the home or server (by default they are, when one is configured)')
    .option('--rotate', 'record each finding that is a managed secret as secret.leaked and rotate the secrets whose current or pending value leaked, at once (needs a home or KEYTURN_ADDR)')
    .option('--workers <n>', 'worker threads for large trees (default: cores - 1, at most 4, none below 4 cores; 0: none)', intOption('--workers', { min: 0, max: 64 }))
    .addHelpText(
      'after',
      `
Rules follow the gitleaks schema, so existing .gitleaks.toml files load; [extend] useDefault = true
adds your rules to the built-in ones (docs/scan.md lists them). Secrets are always printed redacted.
A line with the comment keyturn:allow (or gitleaks:allow) is not reported. A baseline lists
hash(rule, secret) and the file, without line numbers: moving code does not change it, a new
secret in the same place is still found. Standard input: cat build.log | keyturn scan -

With a Keyturn home (or KEYTURN_ADDR and KEYTURN_TOKEN with the audit capability), each new
finding is compared with every managed secret, current and past, through the audit HMAC (no value
is opened): a match is reported as "managed secret PATH" or "old value of PATH". --rotate then
rotates each secret whose current value leaked, ahead of scheduled work, and records the leak in
the audit log (docs/scan.md#linkage).

Exit status: 0 when nothing new is found, 1 when something is (also with --output), 2 for a
usage or config error, 3 when a path does not exist.

Examples:
  keyturn scan
  keyturn scan src config --format sarif --output keyturn.sarif
  keyturn scan --git --since-commit origin/main
  keyturn scan --staged
  keyturn scan --git --rotate
  keyturn scan --baseline-write .keyturn-baseline.json && keyturn scan --baseline .keyturn-baseline.json
  keyturn scan --json src | jq -r '.findings[] | .file + ":" + (.line|tostring) + " " + .ruleId'`,
    )
    .action(async (paths: string[], opts: ScanCliOptions) => {
      const format = opts.format ?? (opts.json ? 'json' : 'human');
      const gitRange = opts.logRange ?? (opts.sinceCommit === undefined ? undefined : `${opts.sinceCommit}..HEAD`);
      if (opts.logRange !== undefined && opts.sinceCommit !== undefined) throw new KeyturnError('KT_USAGE', 'give --since-commit or --log-range, not both');
      const git = opts.staged ? ({ mode: 'staged' } as const) : opts.git || gitRange !== undefined ? ({ mode: 'log', ...(gitRange === undefined ? {} : { range: gitRange }) } as const) : undefined;
      if (opts.staged && (opts.git || gitRange !== undefined)) throw new KeyturnError('KT_USAGE', 'give --staged or --git, not both');
      if (git && paths.length > 1) throw new KeyturnError('KT_USAGE', `with --${git.mode === 'staged' ? 'staged' : 'git'}, give at most one path: the repository`);
      if (git && paths.includes('-')) throw new KeyturnError('KT_USAGE', `- (standard input) cannot be combined with --${git.mode === 'staged' ? 'staged' : 'git'}`);
      const cwd = workingDir(app.io);
      const started = performance.now();
      const { runScan } = await import('../../scan/scan.js');
      const outcome = await runScan({
        cwd,
        paths: paths.length === 0 ? ['.'] : paths,
        stdin: app.io.stdin,
        ...(git === undefined ? {} : { git }),
        ...(opts.config === undefined ? {} : { configFile: opts.config }),
        ...(opts.workers === undefined ? {} : { workers: opts.workers }),
      });
      const { resolve } = await import('node:path');
      const { writeFile } = await import('node:fs/promises');
      const baselineMod = await import('../../scan/baseline.js');
      if (opts.baselineWrite !== undefined) {
        await baselineMod.writeBaseline(resolve(cwd, opts.baselineWrite), outcome.findings);
        emit(
          app.io,
          format === 'json',
          { baseline: opts.baselineWrite, findings: outcome.findings.length },
          () => `Wrote ${outcome.findings.length} finding(s) to the baseline ${opts.baselineWrite}.`,
        );
        return;
      }
      const known = opts.baseline === undefined ? new Set<string>() : await baselineMod.readBaseline(resolve(cwd, opts.baseline));
      const unlinked = outcome.findings.filter((f) => !known.has(baselineMod.baselineKey(f)));
      // The new findings compared with the inventory (and, with --rotate, acted on), when a home or server is there.
      // (Nothing found: no home is opened; --rotate has nothing to do either.)
      const fresh = unlinked.length > 0 && (await linksWanted(app, opts)) ? await linked(app, opts, unlinked) : unlinked;
      const summary = { files: outcome.files, bytes: outcome.bytes, seconds: (performance.now() - started) / 1000, known: outcome.findings.length - fresh.length };
      const report = await import('../../scan/report.js');
      const text =
        format === 'sarif'
          ? `${JSON.stringify(report.toSarif(fresh, outcome.rules.rules, (await import('../version.js')).cliVersion()), null, 2)}\n`
          : format === 'json'
            ? `${JSON.stringify(report.toJsonReport(fresh, summary), null, 2)}\n`
            : `${report.renderHuman(fresh, summary)}\n`;
      if (opts.output !== undefined) {
        await writeFile(resolve(cwd, opts.output), text);
        emit(app.io, false, null, () => `${fresh.length} new finding(s) written to ${opts.output}.`);
      } else if (format === 'human') emitData(app.io, false, null, () => text);
      else app.io.stdout.write(text);
      if (fresh.length > 0) app.exitCode = EXIT_FAILURE;
    });
}

/** Whether to link: --rotate always (it fails without a home), else unless --no-link, when a server is named or the home is initialized. */
async function linksWanted(app: CliApp, opts: ScanCliOptions): Promise<boolean> {
  if (opts.rotate) return true;
  if (opts.link === false) return false;
  const settings = await app.settings(opts);
  if (settings.remote) return true;
  const { isHomeInitialized } = await import('../../runtime/keyturn.js');
  return isHomeInitialized(settings);
}

/** The findings with what each is in the inventory and what --rotate did (src/scan/link/). */
async function linked(app: CliApp, opts: ScanCliOptions, findings: readonly ScanFinding[]): Promise<ScanFinding[]> {
  const { linkAndMaybeRotate } = await import('../../scan/link/index.js');
  const links = await linkAndMaybeRotate(findings, { rotate: !!opts.rotate, app, opts });
  return links.map((l) => ({ ...l.finding, link: { match: l.match, also: l.also, action: l.action } }));
}
