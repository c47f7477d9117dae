/**
 * Lists the files to scan under the paths given: folders are walked (symbolic links are not
 * followed, `.git` is skipped) respecting every `.gitignore` on the way (and `.git/info/exclude`
 * at a repository's root), and those above a folder inside a git repository up to its root,
 * with the `ignore` package's gitignore semantics; a file or folder named on the command line is
 * scanned even if ignored. Paths are shown relative to the working directory.
 *
 * @example
 * ```ts
 * for (const f of listFiles(['.'], process.cwd())) console.log(f.display, f.size);
 * ```
 */
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import ignoreModule, { type Ignore } from 'ignore';
import { KeyturnError } from '../core/errors.js';

export interface ScanTarget {
  readonly path: string;
  /** The path as findings show it: relative to the working directory, `/`-separated. */
  readonly display: string;
  /** In bytes, when listed with sizes (the scanning workers batch by size). */
  readonly size?: number;
}

interface Rules {
  readonly dir: string;
  readonly ig: Ignore;
}

function toDisplay(abs: string, cwd: string): string {
  const rel = relative(cwd, abs);
  const shown = rel === '' || rel.startsWith('..') || isAbsolute(rel) ? abs : rel;
  return sep === '/' ? shown : shown.split(sep).join('/');
}

function readIgnore(dir: string, files: readonly string[]): Rules | undefined {
  const texts: string[] = [];
  for (const f of files) {
    try {
      texts.push(readFileSync(join(dir, f), 'utf8'));
    } catch {
      // No such file: nothing to add.
    }
  }
  return texts.length === 0 ? undefined : { dir, ig: ignoreModule.default().add(texts.join('\n')) };
}

function ignored(stack: readonly Rules[], abs: string, isDir: boolean): boolean {
  for (const r of stack) {
    let rel = relative(r.dir, abs);
    if (sep !== '/') rel = rel.split(sep).join('/');
    if (rel === '' || rel.startsWith('..')) continue;
    if (r.ig.ignores(isDir ? `${rel}/` : rel)) return true;
  }
  return false;
}

/**
 * The ignore rules of the folders above `dir` up to its git repository's root (the nearest one
 * holding `.git`), root first, as git applies them when `dir` is a folder inside a repository.
 * Outside a repository, none: a `.gitignore` above the folder scanned means nothing to git. When
 * they ignore `dir` itself, none either: a folder named on the command line is scanned.
 */
function ancestorRules(dir: string): Rules[] {
  const chain: string[] = [];
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(join(dir, '.git'))) return [];
    chain.unshift(d);
    if (existsSync(join(d, '.git'))) break;
    if (dirname(d) === d) return [];
  }
  const rules = chain.flatMap((d, i) => readIgnore(d, i === 0 ? ['.gitignore', '.git/info/exclude'] : ['.gitignore']) ?? []);
  return ignored(rules, dir, true) ? [] : rules;
}

function walk(dir: string, stack: readonly Rules[], cwd: string, out: ScanTarget[], sizes: boolean): void {
  const names = readdirSync(dir, { withFileTypes: true });
  const own = readIgnore(dir, names.some((d) => d.name === '.git') ? ['.gitignore', '.git/info/exclude'] : names.some((d) => d.name === '.gitignore') ? ['.gitignore'] : []);
  const rules = own ? [...stack, own] : stack;
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of names) {
    if (d.name === '.git') continue;
    const abs = join(dir, d.name);
    if (d.isDirectory()) {
      if (!ignored(rules, abs, true)) walk(abs, rules, cwd, out, sizes);
    } else if (d.isFile()) {
      if (ignored(rules, abs, false)) continue;
      out.push({ path: abs, display: toDisplay(abs, cwd), ...(sizes ? { size: statSync(abs).size } : {}) });
    }
  }
}

/**
 * The files under `paths` (files or folders, relative to `cwd`), in a stable order. The walk is
 * synchronous, like the reads: a scan is CPU-bound, and a stat awaited per file cost 40 µs each
 * (200 ms on 5,000 files) against 5 µs done in place.
 */
export function listFiles(paths: readonly string[], cwd: string, opts: { sizes?: boolean } = {}): ScanTarget[] {
  const out: ScanTarget[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      throw new KeyturnError('KT_SCAN_PATH_NOT_FOUND', `${p} does not exist`);
    }
    if (st.isDirectory()) walk(abs, ancestorRules(abs), cwd, out, opts.sizes ?? true);
    else if (st.isFile()) out.push({ path: abs, display: toDisplay(abs, cwd), size: st.size });
  }
  return out;
}
