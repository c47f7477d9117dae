/**
 * bin/keyturn.js on an old Node.js: one clear line and exit 1 when no newer Node is beside it (a
 * global install), and a hand-over to the Node that `npm ci` installed when there is one (a
 * clone, `npm link`). Runs with the machine's own Node when it is older than 22.13.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from './helpers/cli.js';

/** The first `node` on the PATH outside node_modules (the machine's), with its version. */
function machineNode(): { path: string; version: string } | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '' || dir.includes('node_modules')) continue;
    const path = join(dir, 'node');
    try {
      return { path, version: execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim() };
    } catch {
      // not here
    }
  }
  return undefined;
}

const old = machineNode();
const isOld =
  old !== undefined &&
  (() => {
    const [major, minor] = old.version.split('.').map(Number) as [number, number];
    return major < 22 || (major === 22 && minor < 13);
  })();
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// Needs a Node older than 22.13 on the PATH (the machine's own); on a newer machine there is nothing to refuse.
describe.skipIf(!isOld)(`the launcher on the machine's Node.js ${old?.version ?? '(none found)'}${isOld ? '' : ' (skipped: no Node older than 22.13 on the PATH)'}`, () => {
  it('alone (a global install): one line naming the versions and the fix, exit 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kt-launcher-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'bin'));
    copyFileSync(BIN, join(dir, 'bin', 'keyturn.js'));
    const r = spawnSync(old!.path, [join(dir, 'bin', 'keyturn.js'), '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`keyturn needs Node.js >= 22.13 but found ${old!.version}`);
    expect(r.stderr).toContain('npm i -g node@24');
  });

  it("in a clone: hands over to node_modules' Node and runs the command", () => {
    const r = spawnSync(old!.path, [BIN, '--version'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.status).toBe(0);
  });
});
