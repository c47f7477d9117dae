/**
 * The kerberos target against an MIT KDC and kadmind of this test process (test/helpers/kdc.ts;
 * admin/admin through remote kadmin): the Target contract with single-user and dual-key, then what
 * is particular to MIT Kerberos: the newest kvno alone gets a ticket, passwords only on stdin (the
 * spawned argv checked), the keytab through the grace period and after revoke, kadmin.local.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeyturnError, type KeyturnError } from '../src/core/errors.js';
import { createTarget } from '../src/targets/registry.js';
import type { Credential } from '../src/targets/target.js';
import { errorText } from '../src/contracts/consumer-contract.js';
import { uniqueName } from '../src/contracts/names.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { kerberosFixture, type KerberosFixture } from './fixtures/targets/kerberos.js';
import { tempDir } from './helpers/state.js';

runTargetContract({
  name: 'kerberos (MIT KDC, remote kadmin)',
  strategies: ['single-user', 'dual-key'],
  make: kerberosFixture,
});

describe('kerberos target: MIT specifics', () => {
  let fx: KerberosFixture;
  let tmp: { dir: string; remove(): void };
  const users: string[] = [];
  const user = async (): Promise<Credential> => {
    const cred = { username: uniqueName(), password: `Pw-${uniqueName()}` };
    users.push(cred.username);
    await fx.createUser(cred.username, cred.password);
    return cred;
  };
  const nextOf = (cred: Credential): Credential => ({ username: cred.username, password: `Pw-${uniqueName()}` });
  const D = 'dual-key';

  beforeAll(async () => {
    fx = await kerberosFixture();
    tmp = tempDir();
  });
  afterAll(async () => {
    try {
      for (const u of users) await fx.dropUser(u);
    } finally {
      tmp.remove();
      await fx.close();
    }
  });

  it("dual-key: MIT's KDC gives a ticket for the newest kvno's password only; the old password's keys stay held (test accepts them) until revoke", async () => {
    const old = await user();
    const next = nextOf(old);
    await fx.target.set(fx.context(D, old.username), next, old);
    expect(await fx.kvnos(old.username)).toEqual([2, 1]);
    // The crash suite's check of stray keys (fixture): kvno 2 derives from next, kvno 1 from old.
    expect(await fx.unknownKvnos(old.username, [old])).toEqual([2]);
    expect(await fx.unknownKvnos(old.username, [next])).toEqual([1]);
    expect(await fx.unknownKvnos(old.username, [old, next])).toEqual([]);
    // A plain kinit: the old password is refused from set on (the KDC answers AS requests with the newest keys).
    expect(await fx.logsIn(next)).toBe(true);
    expect(await fx.logsIn(old)).toBe(false);
    // The target's test: held at kvno 1 counts with dual-key, not with single-user (kinit only) nor without an admin.
    await fx.target.test(fx.context(D, old.username), old);
    for (const ctx of [fx.context('single-user', old.username), fx.context(D, old.username, { admin: null })]) {
      const e = await fx.target.test(ctx, old).catch((err: unknown) => err);
      expect(isKeyturnError(e, 'KT_TARGET_AUTH_FAILED'), String(e)).toBe(true);
    }
    await fx.target.revoke!(fx.context(D, old.username), old);
    expect(await fx.kvnos(old.username)).toEqual([2]);
    expect(await fx.logsIn(next)).toBe(true);
  });

  it('dual-key: set twice adds one kvno; a revoke of the newest key is KT_TARGET_FAILED and leaves both kvnos', async () => {
    const old = await user();
    const next = nextOf(old);
    await fx.target.set(fx.context(D, old.username), next, old);
    await fx.target.set(fx.context(D, old.username), next, old);
    expect(await fx.kvnos(old.username)).toEqual([2, 1]);
    const e = await fx.target.revoke!(fx.context(D, old.username), next).catch((err: unknown) => err);
    expect(isKeyturnError(e, 'KT_TARGET_FAILED'), String(e)).toBe(true);
    expect((e as Error).message).toContain("cannot drop a principal's newest key");
    expect(errorText(e as KeyturnError)).not.toContain(next.password);
    expect(await fx.kvnos(old.username)).toEqual([2, 1]);
    expect(await fx.logsIn(next)).toBe(true);
    // A principal's only key can be revoked: a random key takes its place.
    await fx.target.revoke!(fx.context(D, old.username), old);
    await fx.target.revoke!(fx.context(D, old.username), next);
    expect(await fx.kvnos(old.username)).toEqual([3]);
    expect(await fx.logsIn(next)).toBe(false);
  });

  it('passwords reach the tools on stdin only: no spawned argv or environment holds one', async () => {
    const wrappers = join(tmp.dir, 'bin');
    const log = join(tmp.dir, 'argv.log');
    mkdirSync(wrappers);
    for (const tool of ['kinit', 'kadmin', 'kpasswd', 'ktutil', 'klist']) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      writeFileSync(join(wrappers, tool), `#!/bin/sh\n{ printf '%s ' "$0" "$@"; printf '\\n'; env; printf '\\n'; } >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    }
    const target = createTarget({ ...fx.config(), toolsDir: wrappers });
    const secrets = [fx.admin!.password];
    const a = await user();
    const b = await user();
    secrets.push(a.password, b.password);
    const a2 = nextOf(a);
    const b2 = nextOf(b);
    const a3 = nextOf(a);
    secrets.push(a2.password, b2.password, a3.password);
    await target.set(fx.context('single-user', a.username), a2, a);
    await target.set(fx.context('single-user', b.username, { admin: null }), b2, b);
    await target.set(fx.context(D, a.username), a3, a2);
    await target.test(fx.context(D, a.username), a2);
    await target.revoke!(fx.context(D, a.username), a2);
    await target.test(fx.context(D, a.username), a3);
    const text = readFileSync(log, 'utf8');
    for (const tool of ['kinit', 'kadmin', 'kpasswd', 'ktutil', 'klist']) expect(text).toContain(`${join(wrappers, tool)} `);
    expect(text).toContain('cpw -keepold');
    expect(text).toContain('purgekeys -keepkvno 3');
    for (const s of secrets) expect(text.includes(s), 'a password in a spawned argv or environment').toBe(false);
  });

  it('dual-key keytab: during the grace both kvnos are in it, kinit -k works, and a ticket issued under the old kvno is still accepted; after revoke only the new kvno is left and that ticket is not', async () => {
    const service = await user();
    const client = await user();
    const keytab = join(tmp.dir, 'service.keytab');
    const target = createTarget({ ...fx.config(), keytab: { path: keytab } });
    const principal = `${service.username}@${fx.kdc.realm}`;
    const clientCache = `FILE:${join(tmp.dir, 'client.cc')}`;
    const run = (command: string, args: string[], stdin: string[] = [], env: Record<string, string> = {}) => fx.kdc.tool(command, args, stdin, env);
    // Before the rotation the client holds a service ticket for the principal under kvno 1.
    expect((await run('kinit', [client.username], [client.password], { KRB5CCNAME: clientCache })).code).toBe(0);
    expect((await run('kvno', [principal], [], { KRB5CCNAME: clientCache })).stdout).toContain('kvno = 1');

    const next = nextOf(service);
    await target.set(fx.context(D, service.username), next, service);
    expect(statSync(keytab).mode & 0o777).toBe(0o600);
    const listed = async () => [...(await run('klist', ['-k', keytab])).stdout.matchAll(/^\s*(\d+) /gm)].map((m) => Number(m[1]));
    expect(new Set(await listed())).toEqual(new Set([1, 2]));
    const kinitKeytab = async (kt: string) => (await run('kinit', ['-k', '-t', kt, principal], [], { KRB5CCNAME: `FILE:${join(tmp.dir, 'svc.cc')}` })).code;
    expect(await kinitKeytab(keytab)).toBe(0);
    // The client's cached kvno 1 ticket decrypts with the keytab (kvno -k verifies it against the keytab).
    const verify = () => run('kvno', ['-k', keytab, principal], [], { KRB5CCNAME: clientCache });
    const during = await verify();
    expect(during.code, during.stderr).toBe(0);
    expect(during.stdout).toMatch(/kvno = 1, keytab entry valid/);
    // A keytab with only the old kvno's key (derived from the old password) gets no ticket, even now: MIT's AS uses the newest kvno.
    const oldOnly = join(tmp.dir, 'old.keytab');
    await run('ktutil', [], [`addent -password -p ${principal} -k 1 -e aes256-cts-hmac-sha1-96 -f`, service.password, `wkt ${oldOnly}`, 'quit']);
    expect(await listedOf(oldOnly)).toEqual([1]);
    expect(await kinitKeytab(oldOnly)).not.toBe(0);

    await target.revoke!(fx.context(D, service.username), service);
    expect(await listed()).toEqual([2, 2]);
    expect(statSync(keytab).mode & 0o777).toBe(0o600);
    expect(await kinitKeytab(keytab)).toBe(0);
    const after = await verify();
    expect(after.code).not.toBe(0);
    expect(await kinitKeytab(oldOnly)).not.toBe(0);
    expect(await fx.kvnos(service.username)).toEqual([2]);

    async function listedOf(kt: string) {
      return [...(await run('klist', ['-k', kt])).stdout.matchAll(/^\s*(\d+) /gm)].map((m) => Number(m[1]));
    }
  });

  it('kadminLocal: single-user and dual-key through kadmin.local with no admin credential, the keytab written with mode and owner', async () => {
    const keytab = join(tmp.dir, 'local.keytab');
    const target = createTarget({
      ...fx.config(),
      kadminLocal: true,
      kdcProfile: fx.kdc.kdcProfile,
      keytab: { path: keytab, mode: '0640', owner: { uid: process.getuid!(), gid: process.getgid!() } },
    });
    const cred = await user();
    const next = nextOf(cred);
    await target.set(fx.context('single-user', cred.username, { admin: null }), next, null);
    expect(await fx.logsIn(next)).toBe(true);
    expect(await fx.logsIn(cred)).toBe(false);
    expect(statSync(keytab).mode & 0o777).toBe(0o640);
    const third = nextOf(cred);
    await target.set(fx.context(D, cred.username, { admin: null }), third, next);
    await target.test(fx.context(D, cred.username, { admin: null }), next);
    expect(await fx.kvnos(cred.username)).toEqual([3, 2]);
    await target.revoke!(fx.context(D, cred.username, { admin: null }), next);
    expect(await fx.kvnos(cred.username)).toEqual([3]);
    const e = await target.test(fx.context(D, cred.username, { admin: null }), next).catch((err: unknown) => err);
    expect(isKeyturnError(e, 'KT_TARGET_AUTH_FAILED'), String(e)).toBe(true);
  });

  it('a kadmin.local that cannot open the database, and a weak admin on dual-key, fail with their codes', async () => {
    const cred = await user();
    const broken = createTarget({ ...fx.config(), kadminLocal: true, kdcProfile: join(tmp.dir, 'missing-kdc.conf') });
    const e = await broken.set(fx.context('single-user', cred.username, { admin: null }), nextOf(cred), null).catch((err: unknown) => err);
    expect(isKeyturnError(e) && ['KT_TARGET_CONFIG_INVALID', 'KT_TARGET_FAILED'].includes(e.code), String(e)).toBe(true);
    const weak = await fx.weakAdmin();
    const denied = await fx.target.set(fx.context(D, cred.username, { admin: weak }), nextOf(cred), cred).catch((err: unknown) => err);
    expect(isKeyturnError(denied, 'KT_TARGET_PERMISSION_DENIED'), String(denied)).toBe(true);
    expect(await fx.logsIn(cred)).toBe(true);
  });
});
