import { describe, expect, it } from 'vitest';
import { parentDn } from '../ldap/dn.js';
import { activeDirectoryConfigSchema, loginName } from './config.js';
import { windowsCode } from './errors.js';
import { unicodePwd } from './active-directory-target.js';

describe('active-directory config and names', () => {
  it('binds as user@domain for a DNS domain, DOMAIN\\user for a NetBIOS name, and keeps a UPN, down-level name or DN as it is', () => {
    expect(loginName('corp.example.com', 'svc_app')).toBe('svc_app@corp.example.com');
    expect(loginName('CORP', 'svc_app')).toBe('CORP\\svc_app');
    for (const admin of ['admin@corp.example.com', 'CORP\\admin', 'CN=Admin,CN=Users,DC=corp,DC=example,DC=com']) expect(loginName('CORP', admin)).toBe(admin);
  });

  it('takes ldaps://, or ldap:// with startTls only', () => {
    const base = { type: 'active-directory', baseDn: 'DC=corp,DC=example,DC=com', domain: 'CORP' } as const;
    expect(activeDirectoryConfigSchema.safeParse({ ...base, url: 'ldaps://dc1:636' }).success).toBe(true);
    expect(activeDirectoryConfigSchema.safeParse({ ...base, url: 'ldap://dc1', startTls: true }).success).toBe(true);
    expect(activeDirectoryConfigSchema.safeParse({ ...base, url: 'ldap://dc1' }).success).toBe(false);
    expect(activeDirectoryConfigSchema.safeParse({ ...base, url: 'ldaps://dc1', startTls: true }).success).toBe(false);
    expect(activeDirectoryConfigSchema.safeParse({ ...base, url: 'ldaps://dc1', domain: 'THIS-NAME-IS-TOO-LONG' }).success).toBe(false);
  });

  it('unicodePwd is the password in double quotes, UTF-16LE', () => {
    expect(unicodePwd('Pé1"')).toEqual(Buffer.from([0x22, 0, 0x50, 0, 0xe9, 0, 0x31, 0, 0x22, 0, 0x22, 0]));
  });

  it("reads the Windows code a DC's message starts with, and a DN's parent past escaped commas", () => {
    expect(windowsCode(new Error('0000052D: Constraint violation - check_password_restrictions: too short'))).toBe('0000052D');
    expect(windowsCode(new Error('no code here'))).toBeNull();
    expect(parentDn('CN=a\\,b,CN=Users,DC=corp,DC=example')).toBe('CN=Users,DC=corp,DC=example');
  });
});
