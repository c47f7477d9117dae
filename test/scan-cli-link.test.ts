/**
 * `keyturn scan` with a Keyturn home: a token found in a file that is a managed secret's current
 * value is reported as "managed secret PATH" (human, --json, SARIF), `--rotate` rotates it and
 * records `secret.leaked`, and the same file scanned again reports "old value of PATH". Without a
 * home, or with --no-link, nothing is linked. The linkage itself is tested in scan-link.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { useCliHome } from './helpers/cli-home.js';

const TOKEN = 'ghp_Lk3mQ8vX2rT7nB4wZ9pY6cJ1hD5fG0sA2eRu';
const dir = mkdtempSync(join(tmpdir(), 'kt-scan-link-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'deploy.env'), `REGION=eu\nGITHUB_TOKEN=${TOKEN}\n`);

describe('keyturn scan linked to a home', () => {
  const home = useCliHome();

  it('reports a managed secret, rotates it with --rotate, then reports the old value', async () => {
    const yaml = join(home.dir, 'keyturn.yaml');
    writeFileSync(yaml, 'version: 1\nsecrets:\n  ci/github-token:\n    type: app-secret\n');
    expect((await home.kt(['apply', '-f', yaml, '--yes'])).code).toBe(0);
    expect((await home.kt(['secret', 'put', 'ci/github-token', '--value', TOKEN])).code).toBe(0);

    const human = await home.kt(['scan', dir]);
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('deploy.env:2:14  github-token  ghp_********');
    expect(human.stdout).toContain('managed secret ci/github-token: rotate it now');
    expect(human.stdout + human.stderr).not.toContain(TOKEN);

    const sarif = JSON.parse((await home.kt(['scan', dir, '--format', 'sarif'])).stdout) as { runs: Array<{ results: Array<{ message: { text: string }; properties?: { keyturn?: unknown } }> }> };
    expect(sarif.runs[0]!.results[0]!.properties?.keyturn).toEqual({ path: 'ci/github-token', stage: 'current' });

    const rotated = await home.kt(['scan', dir, '--rotate', '--json']);
    expect(rotated.code).toBe(1);
    const finding = (JSON.parse(rotated.stdout) as { findings: Array<{ managed: { path: string; stage: string }; action: { action: string; runStatus: string } }> }).findings[0]!;
    expect(finding.managed).toMatchObject({ path: 'ci/github-token', stage: 'current', label: 'managed secret ci/github-token' });
    expect(finding.action).toMatchObject({ action: 'rotated', runStatus: 'done' });
    expect((await home.kt(['secret', 'get', 'ci/github-token'])).stdout).not.toBe(TOKEN);

    const tail = await home.kt(['audit', 'tail', '-n', '50', '--json']);
    const leaked = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { action: string; path: string; location?: string; fingerprint?: string })
      .filter((e) => e.action === 'secret.leaked');
    expect(leaked).toMatchObject([{ path: 'ci/github-token', location: expect.stringContaining('deploy.env:2') }]);
    expect(tail.stdout).not.toContain(TOKEN);

    const after = await home.kt(['scan', dir]);
    expect(after.stdout).toContain('old value of ci/github-token');
    // --no-link: the finding alone.
    expect((await home.kt(['scan', dir, '--no-link'])).stdout).not.toContain('ci/github-token');
  });

  it('without an initialized home nothing is linked; --rotate then fails with KT_NOT_INITIALIZED', async () => {
    const env = { KEYTURN_HOME: join(dir, 'no-home') };
    const plain = await runCli(['scan', dir], { env });
    expect(plain.code).toBe(1);
    expect(plain.stdout).not.toContain('managed secret');
    const r = await runCli(['scan', dir, '--rotate'], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('KT_NOT_INITIALIZED');
    expect(r.stdout, 'no report: the command failed before it').toBe('');
  });
});
