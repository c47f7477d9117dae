/**
 * `keyturn scan` end to end through the CLI: exit codes (0 clean, 1 found, also with --output;
 * 2 for a bad config; 3 for a missing path), .gitignore, standard input, the baseline written and
 * read back, --json and SARIF with the secret redacted, and --git / --since-commit / --staged on
 * a real temporary git repository.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const TOKEN = 'ghp_Qb7rT2mX9kLp4Wz8Yv3Nc6Hd1Jf5Gs0Ae7Ru';
const NPM = 'npm_Zx81kQ2mLp4RQb7rT2mX9kLp4Wz8Yv3Nc6Hd';
const root = mkdtempSync(join(tmpdir(), 'kt-scan-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const git = (cwd: string, ...args: string[]): string =>
  execFileSync('git', ['-c', 'user.name=Test', '-c', 'user.email=t@example.test', '-c', 'commit.gpgsign=false', ...args], { cwd, encoding: 'utf8' });

describe('keyturn scan', () => {
  it('exits 0 on a clean tree and 1 when a secret is found, printing it redacted', async () => {
    const clean = tree('clean', { 'a.ts': 'export const a = 1;\n' });
    expect((await runCli(['scan', clean])).code).toBe(0);
    const dirty = tree('dirty', { 'src/a.ts': `const t = '${TOKEN}';\n` });
    const r = await runCli(['scan', '.'], { cwd: dirty });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('src/a.ts:1:12  github-token  ghp_********');
    expect(r.stdout).not.toContain(TOKEN);
  });

  it('respects .gitignore, nested ones too', async () => {
    const dir = tree('ignored', {
      '.gitignore': 'build/\n*.log\n',
      'build/out.js': `t='${TOKEN}'\n`,
      'x.log': `t='${TOKEN}'\n`,
      'pkg/.gitignore': 'secret.txt\n',
      'pkg/secret.txt': `t='${TOKEN}'\n`,
      'pkg/ok.ts': `t='${NPM}'\n`,
    });
    const r = await runCli(['scan', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout) as { findings: Array<{ file: string; ruleId: string; secret: string }> };
    expect(doc.findings.map((f) => [f.file, f.ruleId])).toEqual([['pkg/ok.ts', 'npm-token']]);
    expect(r.stdout).not.toContain(NPM);
  });

  it("inside a git repository, applies the .gitignore files above the folder scanned, up to the repository's root only", async () => {
    const outer = tree('outer-repo', { '.gitignore': 'repo/sub/ok.ts\n' });
    const repo = join(outer, 'repo');
    mkdirSync(repo);
    git(repo, 'init', '-q');
    for (const [path, text] of Object.entries({
      '.gitignore': '*.log\n',
      'sub/.keep': '',
      'sub/deep/.gitignore': 'hidden/\n',
      'sub/a.log': `t='${TOKEN}'\n`,
      'sub/deep/hidden/x.ts': `t='${TOKEN}'\n`,
      'sub/deep/b.ts': `t='${TOKEN}'\n`,
      'sub/ok.ts': `t='${NPM}'\n`,
    })) {
      mkdirSync(join(repo, path, '..'), { recursive: true });
      writeFileSync(join(repo, path), text);
    }
    const found = async (args: string[]): Promise<string[]> => {
      const r = await runCli(['scan', '--json', '--no-link', ...args], { cwd: repo });
      return (JSON.parse(r.stdout) as { findings: Array<{ file: string }> }).findings.map((f) => f.file);
    };
    // The repository root's *.log applies to sub/; the .gitignore above the repository (outer) does not.
    expect(await found(['sub'])).toEqual(['sub/deep/b.ts', 'sub/ok.ts']);
    // sub/deep/.gitignore applies when its parent folder is scanned, and when the folder itself is.
    expect(await found(['sub/deep'])).toEqual(['sub/deep/b.ts']);
    // A folder named on the command line is scanned even if ignored.
    expect(await found(['sub/deep/hidden'])).toEqual(['sub/deep/hidden/x.ts']);
  });

  it('reads standard input for -', async () => {
    const r = await runCli(['scan', '-', '--json'], { stdin: `line\nexport NPM_TOKEN=${NPM}\n`, cwd: root });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).findings[0]).toMatchObject({ file: '-', line: 2, ruleId: 'npm-token' });
  });

  it('writes SARIF to --output and still exits 1', async () => {
    const dir = tree('sarif', { 'a.env': `GITHUB_TOKEN=${TOKEN}\n` });
    const r = await runCli(['scan', '--format', 'sarif', '--output', 'out.sarif'], { cwd: dir });
    expect(r.code).toBe(1);
    const text = readFileSync(join(dir, 'out.sarif'), 'utf8');
    expect(text).not.toContain(TOKEN);
    const sarif = JSON.parse(text) as { version: string; runs: Array<{ results: Array<{ ruleId: string }> }> };
    expect(sarif.version).toBe('2.1.0');
    expect(sarif.runs[0]!.results.map((x) => x.ruleId)).toEqual(['github-token']);
  });

  it('a baseline accepts what is there; moved code stays accepted, a new secret in its place is found', async () => {
    const dir = tree('baseline', { 'a.ts': `const t = '${TOKEN}';\n` });
    const w = await runCli(['scan', '--baseline-write', 'base.json', 'a.ts'], { cwd: dir });
    expect(w.code).toBe(0);
    expect(readFileSync(join(dir, 'base.json'), 'utf8')).not.toContain(TOKEN);
    writeFileSync(join(dir, 'a.ts'), `// moved down\n\n\nconst t = '${TOKEN}';\n`);
    expect((await runCli(['scan', '--baseline', 'base.json', 'a.ts'], { cwd: dir })).code).toBe(0);
    writeFileSync(join(dir, 'a.ts'), `// moved down\n\n\nconst t = '${TOKEN.slice(0, -4)}ZZZZ';\n`);
    const r = await runCli(['scan', '--baseline', 'base.json', 'a.ts'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('a.ts:4:12');
  });

  it('uses .keyturn-scan.toml in the folder; a bad config exits 2, a missing path 3', async () => {
    const dir = tree('config', { '.keyturn-scan.toml': '[extend]\nuseDefault = true\n[[rules]]\nid = "acme"\nregex = "acme_[0-9]{8}"\nkeywords = ["acme_"]\n', 'a.ts': 'k = "acme_12345678"\n' });
    const r = await runCli(['scan', '--json', dir]);
    expect(JSON.parse(r.stdout).findings.map((f: { ruleId: string }) => f.ruleId)).toEqual(['acme']);
    writeFileSync(join(dir, '.keyturn-scan.toml'), '[[rules]]\nid = "slow"\nregex = "(a*)*b"\n');
    const bad = await runCli(['scan', dir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('KT_SCAN_REGEX_UNSAFE');
    const missing = await runCli(['scan', join(root, 'nope')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('KT_SCAN_PATH_NOT_FOUND');
  });

  it('--git scans the history (a secret removed later is still found), --since-commit only newer commits, --staged the index', async () => {
    const repo = tree('repo', { 'README.md': 'hello\n' });
    git(repo, 'init', '-q', '-b', 'main');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'first');
    writeFileSync(join(repo, 'config.env'), `A=1\nGITHUB_TOKEN=${TOKEN}\n`);
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'add token');
    const withToken = git(repo, 'rev-parse', 'HEAD').trim();
    writeFileSync(join(repo, 'config.env'), 'A=1\nGITHUB_TOKEN=${GITHUB_TOKEN}\n');
    git(repo, 'commit', '-q', '-am', 'remove token');
    expect((await runCli(['scan', repo])).code).toBe(0);
    const history = await runCli(['scan', '--git', '--json', repo]);
    expect(history.code).toBe(1);
    expect(JSON.parse(history.stdout).findings).toMatchObject([{ file: 'config.env', line: 2, column: 14, ruleId: 'github-token', commit: withToken, author: 'Test' }]);
    expect((await runCli(['scan', '--since-commit', withToken, repo])).code).toBe(0);
    writeFileSync(join(repo, 'new.ts'), `\n\nconst n = '${NPM}';\n`);
    expect((await runCli(['scan', '--staged', repo])).code).toBe(0);
    git(repo, 'add', 'new.ts');
    const staged = await runCli(['scan', '--staged', '--json', repo]);
    expect(staged.code).toBe(1);
    expect(JSON.parse(staged.stdout).findings).toMatchObject([{ file: 'new.ts', line: 3, ruleId: 'npm-token' }]);
    const badRange = await runCli(['scan', '--since-commit', 'nosuchref', repo]);
    expect(badRange.stderr).toContain('KT_SCAN_GIT_FAILED');
  });
});
