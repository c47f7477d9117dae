/**
 * The ssh target against an sshd of this test process (test/helpers/sshd.ts; root with a key as
 * the admin, host key pinned, real system accounts): the Target contract with single-user and
 * dual-key, then what is particular to SSH keys and authorized_keys (key forms, the file's lines,
 * mode, owner and atomic replacement, no admin, the key on stdin, host key pinning).
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { appendFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeyturnError, type KeyturnError } from '../src/core/errors.js';
import { createTarget } from '../src/targets/registry.js';
import { editCommand } from '../src/targets/ssh/authorized-keys.js';
import { clientKey, newPrivateKey, publicKeyOf } from '../src/targets/ssh/keys.js';
import type { Credential } from '../src/targets/target.js';
import { errorText } from '../src/contracts/consumer-contract.js';
import { uniqueName } from '../src/contracts/names.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { sshFixture, type SshFixture } from './fixtures/targets/ssh.js';

runTargetContract({
  name: 'ssh (OpenSSH sshd, root as admin)',
  strategies: ['single-user', 'dual-key'],
  make: sshFixture,
});

describe('ssh target: keys and authorized_keys', () => {
  let fx: SshFixture;
  const users: string[] = [];
  const user = async (): Promise<Credential> => {
    const cred = { username: uniqueName(), password: newPrivateKey() };
    users.push(cred.username);
    await fx.createUser(cred.username, cred.password);
    return cred;
  };
  const nextOf = (cred: Credential): Credential => ({ username: cred.username, password: newPrivateKey() });
  const keysFile = (username: string) => join(fx.home(username), '.ssh', 'authorized_keys');
  const D = 'dual-key';

  beforeAll(async () => {
    fx = await sshFixture();
  });
  afterAll(async () => {
    try {
      for (const u of users) await fx.dropUser(u);
    } finally {
      await fx.close();
    }
  });

  it('newSecret is an unencrypted Ed25519 key in OpenSSH form; a PKCS#8 PEM key (node:crypto) is taken too and derives the same public key', async () => {
    const key = fx.target.newSecret!();
    expect(key.startsWith('-----BEGIN OPENSSH PRIVATE KEY-----\n')).toBe(true);
    expect((await publicKeyOf(key)).line).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]+=*$/);
    const { privateKey } = generateKeyPairSync('ed25519');
    const pkcs8 = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect((await publicKeyOf(pkcs8)).blob).toBe((await publicKeyOf(clientKey(pkcs8))).blob);
    // The public key node:crypto derives (JWK x) is the one in the blob.
    const x = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
    expect(Buffer.from((await publicKeyOf(pkcs8)).blob, 'base64').subarray(-32)).toEqual(x);
    const cred = await user();
    const next = { username: cred.username, password: pkcs8 };
    await fx.target.set(fx.context('single-user', cred.username), next, cred);
    await fx.target.test(fx.context('single-user', cred.username), next);
    expect(await fx.logsIn(cred)).toBe(false);
  });

  it('dual-key: set appends one line (not twice), keeps the other lines with their options and comments, mode 0600 and owner; revoke removes exactly that key', async () => {
    const old = await user();
    const other = newPrivateKey();
    const otherLine = `from="127.0.0.1",no-pty ${(await publicKeyOf(other)).line} someone-else`;
    appendFileSync(keysFile(old.username), `# a comment\n${otherLine}\n`);
    const before = statSync(keysFile(old.username));
    const next = nextOf(old);
    await fx.target.set(fx.context(D, old.username), next, old);
    await fx.target.set(fx.context(D, old.username), next, old);
    const nextLine = (await publicKeyOf(next.password)).line;
    expect(fx.authorizedKeys(old.username)).toEqual([`${(await publicKeyOf(old.password)).line} first-key`, '# a comment', otherLine, nextLine]);
    const after = statSync(keysFile(old.username));
    expect([after.mode & 0o777, after.uid, after.gid]).toEqual([0o600, before.uid, before.gid]);
    expect(after.ino, 'the file is replaced (temp file + mv), not edited in place').not.toBe(before.ino);
    expect(readdirSync(join(fx.home(old.username), '.ssh'))).toEqual(['authorized_keys']);
    await fx.target.revoke!(fx.context(D, old.username), old);
    expect(fx.authorizedKeys(old.username)).toEqual(['# a comment', otherLine, nextLine]);
    expect(await fx.logsIn(old)).toBe(false);
    expect(await fx.logsIn(next)).toBe(true);
    // Unchanged content is not rewritten.
    const ino = statSync(keysFile(old.username)).ino;
    await fx.target.revoke!(fx.context(D, old.username), old);
    expect(statSync(keysFile(old.username)).ino).toBe(ino);
  });

  it('an account without ~/.ssh gets one (0700) and an authorized_keys (0600), both owned by it', async () => {
    const cred = await user();
    rmSync(join(fx.home(cred.username), '.ssh'), { recursive: true });
    const next = nextOf(cred);
    await fx.target.set(fx.context(D, cred.username), next, null);
    const dir = statSync(join(fx.home(cred.username), '.ssh'));
    const file = statSync(keysFile(cred.username));
    const home = statSync(fx.home(cred.username));
    expect([dir.mode & 0o777, dir.uid, dir.gid]).toEqual([0o700, home.uid, home.gid]);
    expect([file.mode & 0o777, file.uid, file.gid]).toEqual([0o600, home.uid, home.gid]);
    expect(await fx.logsIn(next)).toBe(true);
  });

  it('dual-key without an admin: the account adds its new key with its current one, and revoke logs in with the key it removes (refused later: already gone)', async () => {
    const old = await user();
    const next = nextOf(old);
    const noAdmin = fx.context(D, old.username, { admin: null });
    await fx.target.set(noAdmin, next, old);
    expect(await fx.logsIn(old)).toBe(true);
    expect(await fx.logsIn(next)).toBe(true);
    await fx.target.revoke!(noAdmin, old);
    expect(await fx.logsIn(old)).toBe(false);
    await fx.target.revoke!(noAdmin, old);
    expect(fx.authorizedKeys(old.username)).toEqual([(await publicKeyOf(next.password)).line]);
  });

  it('the key goes on stdin: the command run over SSH holds the user name and the path, no key', async () => {
    const key = await publicKeyOf(newPrivateKey());
    const { command, stdin } = editCommand('kt_app', '~{username}/.ssh/authorized_keys', { add: key.line, remove: key.blob });
    expect(command).not.toContain(key.blob);
    expect(command).toMatch(/ 'kt_app' '~\/\.ssh\/authorized_keys'$/);
    expect(stdin).toBe(`${key.line}\n${key.blob}\n`);
    expect(() => editCommand("x'; rm -rf /", '~{username}/.ssh/authorized_keys', { add: null, remove: null })).toThrow();
  });

  it('a host key other than the pinned one is KT_TARGET_CONFIG_INVALID; the account is left as it was', async () => {
    const cred = await user();
    const wrong = createTarget({ ...fx.config(), hostKey: `SHA256:${'A'.repeat(43)}` });
    for (const call of [() => wrong.test(fx.context(D, cred.username), cred), () => wrong.set(fx.context(D, cred.username), nextOf(cred), cred)]) {
      const e = await call().catch((err: unknown) => err);
      expect(isKeyturnError(e, 'KT_TARGET_CONFIG_INVALID'), String(e)).toBe(true);
      expect(errorText(e as KeyturnError)).not.toContain(cred.password.split('\n')[1]!);
    }
    expect(fx.authorizedKeys(cred.username)).toHaveLength(1);
  });

  it('a credential that is no private key is refused without its text in the error', async () => {
    const cred = await user();
    const bad = { username: cred.username, password: 'Kt-not-a-key-123' };
    const e = await fx.target.set(fx.context(D, cred.username), bad, cred).catch((err: unknown) => err);
    expect(isKeyturnError(e, 'KT_TARGET_PASSWORD_REJECTED'), String(e)).toBe(true);
    const t = await fx.target.test(fx.context(D, cred.username), bad).catch((err: unknown) => err);
    expect(isKeyturnError(t, 'KT_TARGET_AUTH_FAILED'), String(t)).toBe(true);
    for (const x of [e, t]) expect(errorText(x as KeyturnError)).not.toContain('Kt-not-a-key-123');
  });
});
