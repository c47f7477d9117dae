import { describe, expect, it } from 'vitest';
import { ldapConfigSchema, parseLdapUrl, userDnParts } from './config.js';
import { bindDn, escapeDnValue, userDn } from './dn.js';

const TEMPLATE = 'uid={username},ou=people,dc=example,dc=org';

describe('ldap DNs', () => {
  it('escapes a user name as an RFC 4514 value', () => {
    expect(escapeDnValue('app')).toBe('app');
    expect(escapeDnValue('a,b+c=d"e\\f<g>h;i')).toBe('a\\,b\\+c\\=d\\"e\\\\f\\<g\\>h\\;i');
    expect(escapeDnValue('#lead and trail ')).toBe('\\#lead and trail\\ ');
    expect(escapeDnValue(' x')).toBe('\\ x');
    expect(escapeDnValue('nul\u0000')).toBe('nul\\00');
    expect(escapeDnValue('mid#dle')).toBe('mid#dle');
  });

  it('fills the template once, and takes an admin name that is a DN as is', () => {
    expect(userDn(TEMPLATE, 'app_clone')).toBe('uid=app_clone,ou=people,dc=example,dc=org');
    expect(userDn(TEMPLATE, '$&$1')).toBe('uid=$&$1,ou=people,dc=example,dc=org');
    expect(bindDn(TEMPLATE, 'cn=admin,dc=example,dc=org')).toBe('cn=admin,dc=example,dc=org');
    expect(bindDn(TEMPLATE, 'keyturn')).toBe('uid=keyturn,ou=people,dc=example,dc=org');
    expect(userDnParts(TEMPLATE)).toEqual({ attribute: 'uid', parent: 'ou=people,dc=example,dc=org' });
  });

  it('reads bare ldap:// and ldaps:// URLs only', () => {
    expect(parseLdapUrl('ldap://dir')).toEqual({ secure: false, host: 'dir', port: 389 });
    expect(parseLdapUrl('ldaps://dir')).toEqual({ secure: true, host: 'dir', port: 636 });
    expect(parseLdapUrl('ldap://[::1]:1389/')).toEqual({ secure: false, host: '::1', port: 1389 });
    for (const bad of ['http://dir', 'ldap://', 'ldap://u:p@dir', 'ldap://dir/dc=x', 'ldap://dir?cn', 'dir:389']) expect(parseLdapUrl(bad), bad).toBeNull();
    expect(ldapConfigSchema.safeParse({ type: 'ldap', url: 'ldap://dir', userDn: 'ou=people,uid={username}' }).success).toBe(false);
    expect(ldapConfigSchema.safeParse({ type: 'ldap', url: 'ldap://dir', userDn: 'cn={username},ou=svc,dc=x', startTls: true }).success).toBe(true);
  });
});
