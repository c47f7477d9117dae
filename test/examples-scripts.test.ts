/**
 * The worked examples of examples/scripts/ run through the script target. keytab-rotate.sh
 * (ktutil, no KDC: the KDC_CHANGE=no path) is checked against keys computed here independently
 * (RFC 3962: PBKDF2-HMAC-SHA1 then the DK derivation), and its SIGHUP reaches a running process.
 * mssql-service-account.ps1 needs Windows (sc.exe, services, PowerShell) and is not run here.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, pbkdf2Sync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKeyturnError } from '../src/core/errors.js';
import { caught } from '../src/contracts/consumer-contract.js';
import { createTarget } from '../src/targets/registry.js';
import type { Target } from '../src/targets/target.js';
import { contextWith } from './fixtures/targets/fixture.js';

const KEYTAB_SCRIPT = fileURLToPath(new URL('../examples/scripts/keytab-rotate.sh', import.meta.url));
const PRINCIPAL = 'HTTP/web.example.com@EXAMPLE.COM';
const SALT = 'EXAMPLE.COMHTTPweb.example.com';
/** RFC 3961's 128-fold of "kerberos" (its own test vector). */
const NFOLD_KERBEROS = Buffer.from('6b65726265726f737b9b5b2b93132b93', 'hex');

/** The AES key (RFC 3962) of `password` with `salt`: 16 or 32 bytes, as klist prints it. */
function aesKey(password: string, salt: string, bytes: 16 | 32, iterations = 4096): string {
  const base = pbkdf2Sync(password, salt, iterations, bytes, 'sha1');
  const encrypt = (block: Buffer) => {
    const c = createCipheriv(bytes === 32 ? 'aes-256-cbc' : 'aes-128-cbc', base, Buffer.alloc(16));
    c.setAutoPadding(false);
    return Buffer.concat([c.update(block), c.final()]);
  };
  const k1 = encrypt(NFOLD_KERBEROS);
  return (bytes === 32 ? Buffer.concat([k1, encrypt(k1)]) : k1).toString('hex');
}

/** The keytab's entries as `kvno enctype key`, sorted. */
function entries(keytab: string): string[] {
  const out = execFileSync('klist', ['-kKe', keytab], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((l) => /^\s*(\d+) (\S+) \((\S+)\)\s+\(0x([0-9a-f]+)\)$/.exec(l))
    .filter((m) => m !== null && m[2] === PRINCIPAL)
    .map((m) => `${m![1]} ${m![3]} ${m![4]}`)
    .sort();
}

function expected(kvno: number, password: string): string[] {
  return [`${kvno} aes128-cts-hmac-sha1-96 ${aesKey(password, SALT, 16)}`, `${kvno} aes256-cts-hmac-sha1-96 ${aesKey(password, SALT, 32)}`];
}

describe('examples/scripts/keytab-rotate.sh through the script target', () => {
  let dir: string;
  let daemon: ChildProcess;
  const ctx = contextWith(null);

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyturn-keytab-'));
    // A daemon that counts its SIGHUPs in a file.
    daemon = spawn('bash', ['-c', `trap 'echo hup >> ${dir}/hups' HUP; echo $$ > ${dir}/daemon.pid; while :; do sleep 0.05; done`], { stdio: 'ignore' });
    await expect.poll(() => existsSync(join(dir, 'daemon.pid')), { timeout: 10_000, interval: 20 }).toBe(true);
  });
  afterEach(async () => {
    daemon.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const hups = async () => (existsSync(join(dir, 'hups')) ? (await readFile(join(dir, 'hups'), 'utf8')).split('\n').filter(Boolean).length : 0);

  it('rebuilds the keytab from each new password (keys checked against RFC 3962), keeps the previous KVNO, signals the daemon; test tells the password', async () => {
    const keytab = join(dir, 'http.keytab');
    const target: Target = createTarget({
      type: 'script',
      set: [KEYTAB_SCRIPT, 'set'],
      test: [KEYTAB_SCRIPT, 'test'],
      env: { KEYTAB: keytab, RELOAD_PIDFILE: join(dir, 'daemon.pid') },
    });
    const su = ctx('single-user', PRINCIPAL);
    const first = { username: PRINCIPAL, password: `First pw '$x" 1` };
    const second = { username: PRINCIPAL, password: 'Second-pw-2' };
    const third = { username: PRINCIPAL, password: 'Third-pw-3' };

    await target.set(su, first, null);
    expect(entries(keytab)).toEqual(expected(1, first.password));
    expect((await stat(keytab)).mode & 0o777).toBe(0o600);
    await expect.poll(hups, { timeout: 10_000, interval: 20 }).toBe(1);
    await target.test(su, first);
    const refused = await caught(() => target.test(su, second));
    expect(isKeyturnError(refused, 'KT_TARGET_AUTH_FAILED')).toBe(true);

    await target.set(su, second, first);
    expect(entries(keytab)).toEqual([...expected(1, first.password), ...expected(2, second.password)].sort());
    await target.test(su, second);
    // Run again with the same password (a retried rotation): no new KVNO, the daemon is signalled again.
    await target.set(su, second, first);
    expect(entries(keytab)).toEqual([...expected(1, first.password), ...expected(2, second.password)].sort());
    await expect.poll(hups, { timeout: 10_000, interval: 20 }).toBe(3);

    await target.set(su, third, second);
    expect(entries(keytab)).toEqual([...expected(2, second.password), ...expected(3, third.password)].sort());
    await target.test(su, third);
    expect(isKeyturnError(await caught(() => target.test(su, second)), 'KT_TARGET_AUTH_FAILED')).toBe(true);
  });

  it('the key derivation here is RFC 3962 (its test vector)', () => {
    expect(aesKey('password', 'ATHENA.MIT.EDUraeburn', 32, 1)).toBe('fe697b52bc0d3ce14432ba036a92e65bbb52280990a2fa27883998d72af30161');
    expect(aesKey('password', 'ATHENA.MIT.EDUraeburn', 16, 1)).toBe('42263c6e89f4fc28b8df68ee09799f15');
  });
});
