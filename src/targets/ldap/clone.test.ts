import { describe, expect, it } from 'vitest';
import { attributesOf, cloneAttributes, entryChanges, groupPlan } from './clone.js';

const primary = attributesOf({
  dn: 'uid=app,ou=people,dc=x',
  objectClass: ['inetOrgPerson', 'extensibleObject'],
  uid: ['app', 'app-alias'],
  cn: 'App',
  userPassword: '{SSHA}secret-hash',
  jpegPhoto: Buffer.from([0xff, 0x00]),
  '*': [],
});

describe('ldap clone sync', () => {
  it('copies every user attribute but the naming one and the passwords, bytes as they are', () => {
    const want = cloneAttributes(primary, 'uid', 'app_clone');
    expect([...want.keys()].sort()).toEqual(['cn', 'jpegphoto', 'objectclass', 'uid']);
    expect(want.get('uid')!.values.map(String)).toEqual(['app_clone']);
    expect(want.get('jpegphoto')!.values[0]).toEqual(Buffer.from([0xff, 0x00]));
    expect(want.has('*')).toBe(false);
  });

  it('replaces what differs, removes what the primary lacks, leaves the clone password and name alone', () => {
    const clone = attributesOf({ dn: 'uid=app_clone,ou=people,dc=x', objectClass: ['extensibleObject', 'inetOrgPerson'], uid: 'app_clone', cn: 'Old', title: 'extra', userPassword: '{SSHA}other' });
    const changes = entryChanges(primary, clone, 'uid', 'app_clone');
    expect(changes.map((c) => `${c.operation} ${c.name}`).sort()).toEqual(['delete title', 'replace cn', 'replace jpegPhoto']);
    const synced = attributesOf({ dn: 'x', objectClass: ['inetOrgPerson', 'extensibleObject'], uid: 'app_clone', cn: 'App', jpegPhoto: Buffer.from([0xff, 0x00]), userPassword: 'p' });
    expect(entryChanges(primary, synced, 'uid', 'app_clone')).toEqual([]);
  });

  it('joins the primary groups the clone lacks and leaves the others, per member attribute, DNs compared without case', () => {
    const plan = groupPlan({ member: ['cn=A,ou=g', 'cn=B,ou=g'], uniqueMember: ['cn=U,ou=g'] }, { member: ['cn=a,ou=g', 'cn=C,ou=g'], uniqueMember: [] });
    expect(plan.join).toEqual([
      ['member', 'cn=B,ou=g'],
      ['uniqueMember', 'cn=U,ou=g'],
    ]);
    expect(plan.leave).toEqual([['member', 'cn=C,ou=g']]);
  });
});
