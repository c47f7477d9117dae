/**
 * Restoring a backup taken before a rotation, on the real PostgreSQL password-auth cluster (the
 * postgres rotation fixture, single-user with an admin credential, reached through a TCP proxy the
 * test can take down): the password changes on the server after the backup, so the restored home
 * holds a credential the server refuses. `backup restore` names that secret in a warning
 * (KT_BACKUP_CREDENTIAL_STALE, stderr; `staleCredentials` in --json) and exits 0; an unreachable
 * target is reported as not checked (KT_TARGET_UNAVAILABLE), not as stale; --no-check-targets
 * skips the check; --rotate-stale rotates the secret at once, after which the restored home's
 * current credential logs in to the server.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Credential } from '../src/targets/target.js';
import { json, ok, quiet } from './helpers/backup.js';
import { runCli } from './helpers/cli.js';
import { PG_AUTH_PORT } from './helpers/pg-auth.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';
import { tcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

interface Finding {
  path: string;
  target: string;
  code: string;
}
interface RestoreOut {
  home: string;
  targetsChecked: boolean;
  checkedCredentials: number;
  staleCredentials: Finding[];
  uncheckedCredentials: Finding[];
  checkError: { code: string } | null;
  rotations?: Array<{ path: string; status: string; runId: string | null; error: { code: string } | null }>;
}

let proxy: TcpProxy;
let fx: RotationFixture<'postgres'>;
let passFile: string;
/** Made before the rotation: its current credential of app/db is the one the rotation replaced. */
let backupFile: string;
let before: Credential;
let after: Credential;

/** The current credential of app/db in a home. */
async function current(env: Record<string, string>): Promise<Credential> {
  return json<{ value: Credential }>(await ok(['secret', 'get', fx.path, '--json'], env)).value;
}

/** Restores the backup into a new home `name` with `extra` arguments; the home's env and the CLI result. */
async function restore(name: string, extra: string[]): Promise<{ env: Record<string, string>; code: number; stdout: string; stderr: string }> {
  const env = { KEYTURN_HOME: join(fx.dir, name) };
  const r = await runCli(['backup', 'restore', backupFile, '--passphrase-file', passFile, ...extra], { env: { ...env, ...quiet } });
  return { env, ...r };
}

beforeAll(async () => {
  // The one fixture: a fresh PostgreSQL user managed by app/db (single-user, admin/db as admin), through the proxy.
  proxy = await tcpProxy(PG_AUTH_PORT);
  fx = await rotationFixture('postgres', 'single-user', { port: proxy.port });
  passFile = join(fx.dir, 'pass.txt');
  writeFileSync(passFile, 'stale credential test passphrase', { mode: 0o600 });
  before = await current(fx.env);
  backupFile = join(fx.dir, 'before-rotation.ktbk');
  await ok(['backup', 'create', '--out', backupFile, '--passphrase-file', passFile], fx.env);
  // The rotation after the backup changes the password on the server.
  expect((await ok(['rotate', fx.path, '--json'], fx.env)).stdout).toContain('"done"');
  after = await current(fx.env);
  expect(after.password).not.toBe(before.password);
  expect(await fx.logsIn(after)).toBe(true);
  expect(await fx.logsIn(before)).toBe(false);
}, 120_000);

afterAll(async () => {
  await fx?.close();
  await proxy?.close();
});

describe('restoring a backup taken before a rotation', () => {
  it('warns that the target refuses the restored credential (--json: staleCredentials), exit 0, the restore stands', async () => {
    const r = await restore('restored-json', ['--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RestoreOut;
    expect(out.targetsChecked).toBe(true);
    // admin/db has no target: only app/db is tried.
    expect(out.checkedCredentials).toBe(1);
    expect(out.staleCredentials).toEqual([{ path: fx.path, target: 'db', code: 'KT_BACKUP_CREDENTIAL_STALE' }]);
    expect(out.uncheckedCredentials).toEqual([]);
    expect(out.rotations).toBeUndefined();
    expect(r.stderr).toBe('');
    // The restored home holds the credential of the backup, which the server really refuses.
    const restored = await current(r.env);
    expect(restored).toEqual(before);
    expect(await fx.logsIn(restored)).toBe(false);
  });

  it('in text mode the warning goes to stderr with the code, the path and what to run', async () => {
    const r = await restore('restored-text', []);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Restored');
    expect(r.stdout).toContain('1 credential tried: 0 log in, 1 refused');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual([
      `warning KT_BACKUP_CREDENTIAL_STALE: ${fx.path}: the target no longer accepts the restored value; run keyturn rotate ${fx.path} (a rotation with an admin credential recovers it)`,
    ]);
    expect(r.stderr).not.toContain(before.password);
  });

  it('a target that cannot be reached is reported as not checked (its code), not as stale', async () => {
    await proxy.down();
    try {
      const r = await restore('restored-down', ['--json']);
      expect(r.code, r.stderr).toBe(0);
      const out = JSON.parse(r.stdout) as RestoreOut;
      expect(out.staleCredentials).toEqual([]);
      expect(out.uncheckedCredentials).toEqual([{ path: fx.path, target: 'db', code: 'KT_TARGET_UNAVAILABLE' }]);
      const text = await restore('restored-down-text', []);
      expect(text.stderr).toContain(`warning KT_TARGET_UNAVAILABLE: ${fx.path}: not checked`);
      expect(text.stderr).not.toContain('KT_BACKUP_CREDENTIAL_STALE');
    } finally {
      await proxy.up();
    }
  });

  it('--no-check-targets skips the check; --rotate-stale with it is a usage error', async () => {
    const r = await restore('restored-unchecked', ['--no-check-targets', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RestoreOut;
    expect([out.targetsChecked, out.checkedCredentials, out.staleCredentials]).toEqual([false, 0, []]);
    const both = await restore('never-both', ['--no-check-targets', '--rotate-stale', '--json']);
    expect(JSON.parse(both.stderr).error.code).toBe('KT_USAGE');
  });

  it('--rotate-stale rotates the refused secret on the restored home; its current credential then logs in', async () => {
    const r = await restore('restored-rotated', ['--rotate-stale', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as RestoreOut;
    expect(out.staleCredentials.map((s) => s.path)).toEqual([fx.path]);
    expect(out.rotations).toHaveLength(1);
    expect(out.rotations![0]).toMatchObject({ path: fx.path, status: 'done', error: null });
    const now = await current(r.env);
    expect(now.username).toBe(before.username);
    expect(now.password).not.toBe(before.password);
    expect(now.password).not.toBe(after.password);
    expect(await fx.logsIn(now)).toBe(true);
    // The rotation is in the restored home's runs.
    const run = json<{ run?: { status: string; path: string }; status?: string; path?: string }>(await ok(['runs', 'show', out.rotations![0]!.runId!, '--json'], r.env));
    expect(run.run ?? run).toMatchObject({ status: 'done', path: fx.path });
    // A restore of the rotated home checks clean: nothing stale any more.
    const again = join(fx.dir, 'rotated.ktbk');
    await ok(['backup', 'create', '--out', again, '--passphrase-file', passFile], r.env);
    const clean = json<RestoreOut>(await ok(['backup', 'restore', again, '--home', join(fx.dir, 'restored-clean'), '--passphrase-file', passFile, '--json'], {}));
    expect([clean.checkedCredentials, clean.staleCredentials, clean.uncheckedCredentials]).toEqual([1, [], []]);
  });
});
