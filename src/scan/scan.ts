/**
 * One scan, as `keyturn scan` and the benchmark run it: loads the config (src/scan/config.ts),
 * then scans the files and folders given (walked with .gitignore, in worker threads when the
 * tree is large), standard input (`-`) or what git adds (`git`), and returns the findings with
 * their content fingerprints, sorted by file, line and column. The raw secret stays in each
 * finding, for the inventory linkage; the outputs redact it (src/scan/report.ts).
 *
 * @example
 * ```ts
 * const { findings } = await runScan({ cwd: process.cwd(), paths: ['.'] });
 * ```
 */
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { compileScanConfig, loadScanConfig } from './config.js';
import { Detector } from './detect.js';
import { withFingerprint, type RawFinding, type ScanFinding } from './finding.js';
import { scanGit } from './git.js';
import { scanFiles } from './pool.js';
import { scanStream } from './read.js';
import type { ScanRules } from './rule.js';
import { listFiles } from './walk.js';

export interface ScanRequest {
  readonly cwd: string;
  /** Files and folders; `-` reads standard input (`stdin`). With `git`, the repository folder (default: cwd). */
  readonly paths: readonly string[];
  readonly stdin?: Readable;
  readonly git?: { readonly mode: 'log' | 'staged'; readonly range?: string };
  /** --config; else .keyturn-scan.toml or .gitleaks.toml in the first folder scanned (or cwd). */
  readonly configFile?: string;
  /** Worker threads for large trees; default {@link defaultWorkers}. 0 scans on this thread. */
  readonly workers?: number;
}

export interface ScanOutcome {
  readonly findings: ScanFinding[];
  readonly rules: ScanRules;
  readonly configSource: string;
  readonly files: number;
  readonly bytes: number;
  /** How the files were scanned: on this thread, or in worker threads. */
  readonly threads: 'one' | 'workers';
}

/**
 * Worker threads by default: the cores but one, at most 4, and none below 4 cores (on 2 cores the
 * workers measured slower than the main thread alone in `npm run bench:scan`).
 */
export function defaultWorkers(): number {
  const cores = availableParallelism();
  return cores < 4 ? 0 : Math.min(4, cores - 1);
}

async function configRoot(req: ScanRequest): Promise<string> {
  const first = req.paths.find((p) => p !== '-');
  if (first === undefined) return req.cwd;
  const abs = resolve(req.cwd, first);
  try {
    return (await stat(abs)).isDirectory() ? abs : req.cwd;
  } catch {
    return req.cwd;
  }
}

function byPlace(a: ScanFinding, b: ScanFinding): number {
  return (a.commit ?? '').localeCompare(b.commit ?? '') || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column || a.ruleId.localeCompare(b.ruleId);
}

export async function runScan(req: ScanRequest): Promise<ScanOutcome> {
  const config = await loadScanConfig({ ...(req.configFile === undefined ? {} : { file: resolve(req.cwd, req.configFile) }), root: await configRoot(req) });
  const rules = compileScanConfig(config);
  const detector = new Detector(rules);
  const raw: RawFinding[] = [];
  const push = (f: RawFinding): void => void raw.push(f);
  let files = 0;
  let bytes = 0;
  let threads: ScanOutcome['threads'] = 'one';
  if (req.git) {
    const repo = resolve(req.cwd, req.paths[0] ?? '.');
    bytes += await scanGit(detector, { cwd: repo, mode: req.git.mode, ...(req.git.range === undefined ? {} : { range: req.git.range }) }, push);
  } else {
    if (req.paths.includes('-') && req.stdin) {
      bytes += await scanStream(detector, req.stdin, '-', push);
      files++;
    }
    const workers = req.workers ?? defaultWorkers();
    const targets = listFiles(
      req.paths.filter((p) => p !== '-'),
      req.cwd,
      { sizes: workers > 0 },
    );
    const out = await scanFiles(config, detector, targets, { workers });
    for (const f of out.findings) raw.push(f);
    files += targets.length;
    bytes += out.bytes;
    threads = out.threads;
  }
  return { findings: raw.map(withFingerprint).sort(byPlace), rules, configSource: config.source, files, bytes, threads };
}
