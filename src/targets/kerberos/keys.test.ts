import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../../core/errors.js';
import { kerberosError } from './errors.js';
import { fullPrincipal, isPrincipalName, matchingKvnos, newestKvno, parseKeys } from './keys.js';

// As MIT 1.20's `klist -k -K -e FILE` and ktutil's `list -e -k` print them.
const KLIST = `Keytab name: FILE:/tmp/a.kt
KVNO Principal
---- --------------------------------------------------------------------------
   2 HTTP/web@KT.TEST (aes256-cts-hmac-sha1-96)  (0xbda16e55a3e84df0c4183e8ce65a3bc6b409e73e1654571704e29cbd18993a5c)
   2 HTTP/web@KT.TEST (aes128-cts-hmac-sha1-96)  (0x8d3bb853f5f9d9a7bc1c6ae4f161710f)
   1 HTTP/web@KT.TEST (aes256-cts-hmac-sha1-96)  (0x7167f1186d84b3e719ab45153b430d0e41e84dcbb44434e0adc2fe926642dcfd)
`;
const KTUTIL = `ktutil:  l -e -k
slot KVNO Principal
---- ---- ---------------------------------------------------------------------
   1    1                            HTTP/web@KT.TEST (aes256-cts-hmac-sha1-96)  (0x7167f1186d84b3e719ab45153b430d0e41e84dcbb44434e0adc2fe926642dcfd)
ktutil:  quit
`;

describe('kerberos principals and keys', () => {
  it('takes plain principal names only, adding the realm when missing', () => {
    for (const ok of ['app', 'HTTP/web.example.org', 'svc/a/b@EXAMPLE.ORG', 'kt_3f9a-1.x']) expect(isPrincipalName(ok), ok).toBe(true);
    for (const bad of ['', '-q', 'a b', 'a"b', 'a@', '@R', 'a/', 'a;cpw x', 'a@R@S', 'x'.repeat(257)]) expect(isPrincipalName(bad), bad).toBe(false);
    expect(fullPrincipal('app', 'EXAMPLE.ORG')).toBe('app@EXAMPLE.ORG');
    expect(fullPrincipal('app@OTHER.ORG', 'EXAMPLE.ORG')).toBe('app@OTHER.ORG');
  });

  it("reads klist's and ktutil's key listings and finds the kvnos a password's keys match", () => {
    const held = parseKeys(KLIST);
    expect(held.map((k) => [k.kvno, k.enctype])).toEqual([
      [2, 'aes256-cts-hmac-sha1-96'],
      [2, 'aes128-cts-hmac-sha1-96'],
      [1, 'aes256-cts-hmac-sha1-96'],
    ]);
    const derived = parseKeys(KTUTIL);
    expect(derived).toEqual([{ kvno: 1, enctype: 'aes256-cts-hmac-sha1-96', key: held[2]!.key }]);
    expect(matchingKvnos(held, derived)).toEqual([1]);
    // Same bytes under another encryption type is no match.
    expect(matchingKvnos(held, [{ ...derived[0]!, enctype: 'aes128-cts-hmac-sha1-96' }])).toEqual([]);
    expect(newestKvno(held)).toBe(2);
    expect(newestKvno([])).toBe(0);
  });

  it("maps MIT's messages to codes and never passes the tool's text on", () => {
    const at = { kind: 'kerberos', host: '127.0.0.1', port: 88 };
    const attempt = { username: 'app', action: 'log in' };
    const cases: Array<[string, string]> = [
      ['kinit: Password incorrect while getting initial credentials', 'KT_TARGET_AUTH_FAILED'],
      ['kpasswd: Preauthentication failed getting initial ticket', 'KT_TARGET_AUTH_FAILED'],
      ["kinit: Client 'ghost@KT.TEST' not found in Kerberos database while getting initial credentials", 'KT_TARGET_AUTH_FAILED'],
      ['kadmin: Incorrect password while initializing kadmin interface', 'KT_TARGET_AUTH_FAILED'],
      ['change_password: Operation requires ``change-password\'\' privilege while changing password for "app@KT.TEST".', 'KT_TARGET_PERMISSION_DENIED'],
      ['change_password: Principal does not exist while changing password for "ghost@KT.TEST".', 'KT_TARGET_USER_MISSING'],
      ['change_password: Password is too short while changing password for "app@KT.TEST".', 'KT_TARGET_PASSWORD_REJECTED'],
      ["kinit: Cannot contact any KDC for realm 'KT.TEST' while getting initial credentials", 'KT_TARGET_UNAVAILABLE'],
      ['kadmin: Communication failure with server while initializing kadmin interface', 'KT_TARGET_UNAVAILABLE'],
      ['kinit: something new and strange', 'KT_TARGET_FAILED'],
    ];
    for (const [stderr, code] of cases) {
      const e = kerberosError({ tool: 'kinit', exitCode: 1, stderr: `${stderr} Secret-Pw-1` }, at, attempt, 'admin/admin');
      expect(e.code, stderr).toBe(code);
      expect(JSON.stringify({ m: e.message, d: e.details })).not.toContain('Secret-Pw-1');
    }
    const missing = kerberosError({ tool: 'kadmin.local', exitCode: null, stderr: '', spawnError: 'ENOENT' }, at, attempt, 'kadmin.local');
    expect(isKeyturnError(missing, 'KT_TARGET_CONFIG_INVALID')).toBe(true);
    expect(missing.message).toContain('kadmin.local is not installed');
  });
});
