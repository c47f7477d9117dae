/**
 * Lists the files to scan under the paths given: folders are walked (symbolic links are not
 * followed, `.git` is skipped) respecting every `.gitignore` on the way (and `.git/info/exclude`
 * at a repository's root), with the `ignore` package's gitignore semantics; a file named on the
 * command line is scanned even if ignored. Paths are shown relative to the working directory.
 *
 * @example
 * ```ts
 * for (const f of await listFiles(['.'], process.cwd())) console.log(f.display, f.size);
 * ```
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import ignoreModule, { type Ignore } from 'ignore';
import { KeyturnError } from '../core/errors.js';

export interface ScanTarget {
  readonly path: string;
  /** The path as findings show it: relative to the working directory, `/`-separated. */
  readonly display: string;
  readonly size: number;
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

async function readIgnore(dir: string, files: readonly string[]): Promise<Rules | undefined> {
  const texts: string[] = [];
  for (const f of files) {
    try {
      texts.push(await readFile(join(dir, f), 'utf8'));
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

async function walk(dir: string, stack: readonly Rules[], cwd: string, out: ScanTarget[]): Promise<void> {
  const names = await readdir(dir, { withFileTypes: true });
  const own = await readIgnore(dir, names.some((d) => d.name === '.git') ? ['.gitignore', '.git/info/exclude'] : names.some((d) => d.name === '.gitignore') ? ['.gitignore'] : []);
  const rules = own ? [...stack, own] : stack;
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of names) {
    if (d.name === '.git') continue;
    const abs = join(dir, d.name);
    if (d.isDirectory()) {
      if (!ignored(rules, abs, true)) await walk(abs, rules, cwd, out);
    } else if (d.isFile()) {
      if (ignored(rules, abs, false)) continue;
      const st = await stat(abs);
      out.push({ path: abs, display: toDisplay(abs, cwd), size: st.size });
    }
  }
}

/** The files under `paths` (files or folders, relative to `cwd`), in a stable order. */
export async function listFiles(paths: readonly string[], cwd: string): Promise<ScanTarget[]> {
  const out: ScanTarget[] = [];
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let st;
    try {
      st = await lstat(abs);
    } catch {
      throw new KeyturnError('KT_SCAN_PATH_NOT_FOUND', `${p} does not exist`);
    }
    if (st.isDirectory()) await walk(abs, [], cwd, out);
    else if (st.isFile()) out.push({ path: abs, display: toDisplay(abs, cwd), size: st.size });
  }
  return out;
}
