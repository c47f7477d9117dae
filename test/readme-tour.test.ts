/**
 * The README's tour, run as written: every line of the ```sh blocks under "## A short tour", top
 * to bottom, in one bash at the repository's root, exactly as a user types it.
 * `RUN_ID` and `EVENT_ID` become the newest run's and event's ids, as the README says. A line
 * that exits non-zero fails the test with its output, so the README cannot drift from the CLI.
 *
 * `npx keyturn` in this clone runs the package's own bin (npm exec runs the project's `bin`
 * entry), bin/keyturn.js, on the Node of node_modules/.bin, with the line's arguments, stdin,
 * environment and exit code. In the tour's bash, `npx` is a function that does just that for
 * `npx keyturn` (and runs the real npx for anything else), which saves npm's own start (about
 * half a second) on each of the tour's ~40 lines; the lines themselves are unchanged. The first
 * case checks that the real `npx keyturn` is that program. KEYTURN_TOUR_NPX=1 runs every line
 * through the real npx.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, SPAWN_MS } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The command lines of the tour: its ```sh blocks, without blank lines. */
export function tourLines(readme: string): string[] {
  const start = readme.indexOf('\n## A short tour');
  if (start < 0) throw new Error('README.md has no "## A short tour" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const lines: string[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) if (line.trim() !== '') lines.push(line);
  }
  return lines;
}

/** Every line through the real npx (the default runs bin/keyturn.js as `npx keyturn` does here, without npm's start). */
const REAL_NPX = process.env.KEYTURN_TOUR_NPX === '1';
const lines = tourLines(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'kt-tour-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The bash script: helpers for the placeholders, then each line with a marker and a check. */
function script(): string {
  // The id in a JSON document (runs: an array, newest first) or the last line of JSON Lines (audit tail).
  const readId = `node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const t=s.trim();let v;try{v=JSON.parse(t)}catch{v=JSON.parse(t.split("\\n").pop())}console.log((Array.isArray(v)?v[0]:v).id)})'`;
  const out = ['set -u', `cd ${JSON.stringify(ROOT)}`];
  if (!REAL_NPX) out.push(`npx() { if [ "$1" = keyturn ]; then shift; node ${JSON.stringify(BIN)} "$@"; else command npx "$@"; fi; }`);
  out.push(`latest_run() { npx keyturn runs --limit 1 --json | ${readId}; }`, `latest_event() { npx keyturn audit tail -n 1 --json | ${readId}; }`);
  lines.forEach((line, i) => {
    const command = line.replaceAll('RUN_ID', '"$(latest_run)"').replaceAll('EVENT_ID', '"$(latest_event)"');
    out.push(`echo "::: line ${i + 1}"`, command, `rc=$?; if [ $rc -ne 0 ]; then echo "::: line ${i + 1} exited $rc"; exit 1; fi`);
  });
  out.push('echo "::: tour done"');
  return out.join('\n');
}

/** The tour's environment: the clone's node_modules/.bin first on the PATH, as npm ci leaves it for `npx`. */
function env(): Record<string, string> {
  return { PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? scratch, TMPDIR: scratch };
}

describe('README tour', () => {
  it('has the sections a new user follows', () => {
    expect(lines.length).toBeGreaterThan(30);
    expect(lines[0]).toContain('KEYTURN_HOME');
    expect(lines.some((l) => l.includes('examples/keyturn.yaml'))).toBe(true);
  });

  // npx, then the program it runs: two processes. The first `npx keyturn` in a clone links the clone
  // into npx's cache, and npm runs a linked folder's `prepare` (a full build, rewriting dist/ under
  // the tests running beside this one): not here. Which program npx runs does not depend on it.
  it('`npx keyturn` here runs bin/keyturn.js', { timeout: 2 * SPAWN_MS }, () => {
    const viaNpx = spawnSync('npx', ['keyturn', '--help'], { cwd: ROOT, env: { ...env(), npm_config_ignore_scripts: 'true' }, encoding: 'utf8' });
    const direct = spawnSync(process.execPath, [BIN, '--help'], { cwd: ROOT, env: env(), encoding: 'utf8' });
    expect(viaNpx.status, viaNpx.stderr).toBe(0);
    expect(direct.status, direct.stderr).toBe(0);
    expect(viaNpx.stdout).toContain('Examples:');
    expect(viaNpx.stdout).toBe(direct.stdout);
  });

  // Each line starts node (and npx with KEYTURN_TOUR_NPX=1): a SPAWN_MS each.
  it(`runs all ${lines.length} lines as written`, { timeout: lines.length * SPAWN_MS }, () => {
    const r = spawnSync('bash', ['-c', script()], { env: env(), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const output = `${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-2000)}`;
    const failed = /::: line (\d+) exited (\d+)/.exec(r.stdout);
    if (failed) {
      const n = Number(failed[1]);
      expect.fail(`README tour line ${n} exited ${failed[2]}: ${lines[n - 1]}\n${output}`);
    }
    expect(r.stdout, output).toContain('::: tour done');
    expect(r.status).toBe(0);
    // A few results that show the lines did what their comments say.
    const after = (n: number) => r.stdout.split(`::: line ${n}\n`)[1]?.split('::: line')[0] ?? '';
    const at = (text: string) => lines.findIndex((l) => l.includes(text)) + 1;
    expect(after(at('secret get prod/db/app --field password'))).toBe('demo-password-1');
    expect(after(at('secret rollback prod/api/token'))).toContain('prod/api/token');
    expect(after(at('key rotate-root'))).toContain('root.key.old');
    expect(after(at('audit verify --file'))).toContain('intact');
    expect(after(at('runs resume'))).toContain('prod/app/jwt: rotated');
    expect(after(at('runs cancel'))).toContain('cancelled');
  });
});
