/**
 * Scans what git adds: the history (`git log -p` of a range, `--git`) or the staged changes
 * (`git diff --cached`, `--staged`, for a pre-commit hook). The patch is read as a stream, with
 * no context lines (-U0), and only added lines are scanned, each hunk as one text whose lines
 * carry their line numbers in the new file; findings carry the commit, its author and date.
 *
 * @example
 * ```ts
 * await scanGit(detector, { cwd: '/repo', mode: 'log', range: 'main..HEAD' }, (f) => findings.push(f));
 * ```
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { KeyturnError } from '../core/errors.js';
import type { Detector } from './detect.js';
import type { RawFinding } from './finding.js';

export interface GitScan {
  readonly cwd: string;
  /** log: commits of `range` (all history when absent); staged: the index against HEAD. */
  readonly mode: 'log' | 'staged';
  readonly range?: string;
}

/** A hunk's added lines are scanned at most this many characters at a time. */
const FLUSH_CHARS = 1 << 20;
const HUNK = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

function gitArgs(scan: GitScan): string[] {
  const common = ['-U0', '--no-color', '--no-ext-diff', '--no-renames', '--no-textconv'];
  if (scan.mode === 'staged') return ['diff', '--cached', ...common];
  if (scan.range !== undefined && scan.range.startsWith('-')) throw new KeyturnError('KT_USAGE', `the git range ${scan.range} starts with "-": give a commit or a range such as main..HEAD`);
  return ['log', '-p', ...common, '--format=%x00%H%x00%an%x00%aI', ...(scan.range === undefined ? [] : [scan.range]), '--'];
}

/** Scans the patch git prints; returns the number of bytes of added lines scanned. */
export async function scanGit(detector: Detector, scan: GitScan, emit: (f: RawFinding) => void): Promise<number> {
  const child = spawn('git', gitArgs(scan), { cwd: scan.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new KeyturnError('KT_SCAN_GIT_FAILED', `git cannot be run (${(err as NodeJS.ErrnoException).code ?? err.message})`))),
  );
  const exited = new Promise<number>((done) => child.once('close', (code) => done(code ?? 1)));

  let commit: { id: string; author: string; date: string } | undefined;
  let file: string | null = null;
  let inHeader = false;
  let lineBase = 0;
  let added: string[] = [];
  let addedChars = 0;
  let bytes = 0;
  const flush = (): void => {
    if (added.length > 0 && file !== null && !detector.skipsFile(file)) {
      const text = `${added.join('\n')}\n`;
      bytes += text.length;
      detector.scanText(text, { file, lineBase, ...(commit ? { commit: commit.id, author: commit.author, date: commit.date } : {}) }, emit);
    }
    lineBase += added.length;
    added = [];
    addedChars = 0;
  };
  const read = (async () => {
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.startsWith('\0')) {
        flush();
        const [, id = '', author = '', date = ''] = line.split('\0');
        commit = { id, author, date };
        file = null;
      } else if (line.startsWith('diff --git ')) {
        flush();
        file = null;
        inHeader = true;
      } else if (inHeader && line.startsWith('+++ ')) {
        const target = line.slice(4);
        file = target === '/dev/null' ? null : target.startsWith('b/') ? target.slice(2) : target;
      } else if (line.startsWith('@@')) {
        flush();
        inHeader = false;
        const m = HUNK.exec(line);
        lineBase = m ? Number(m[1]) : 0;
      } else if (!inHeader && line.startsWith('+')) {
        added.push(line.slice(1));
        addedChars += line.length;
        if (addedChars >= FLUSH_CHARS) flush();
      }
    }
    flush();
  })();
  await Promise.race([read, spawnError]);
  const code = await Promise.race([exited, spawnError]);
  if (code !== 0) throw new KeyturnError('KT_SCAN_GIT_FAILED', `git ${scan.mode === 'staged' ? 'diff --cached' : 'log'} failed (exit ${code}): ${stderr.trim().split('\n')[0] ?? ''}`);
  return bytes;
}
