/**
 * The ldap target against an OpenLDAP slapd of this test process (test/helpers/slapd.ts; the
 * root DN as admin): the Target contract over plain ldap:// and again over LDAPS with the test
 * CA, then what is particular to LDAP (StartTLS, an untrusted certificate, the entry copied to
 * the clone byte for byte and re-synced, passwords stored hashed, the password policy's refusal).
 */
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change } from 'ldapts';
import { isKeyturnError } from '../src/core/errors.js';
import { createTarget } from '../src/targets/registry.js';
import { cloneUsername, type Credential } from '../src/targets/target.js';
import { errorText } from '../src/contracts/consumer-contract.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { uniqueName } from '../src/contracts/names.js';
import { ldapFixture, type LdapFixture } from './fixtures/targets/ldap.js';
import { SLAPD_MIN_PASSWORD_LENGTH } from './helpers/slapd.js';
import { tempDir } from './helpers/state.js';

runTargetContract({ name: 'ldap (slapd, ldap://)', strategies: ['single-user', 'alternating-users'], make: () => ldapFixture() });
runTargetContract({ name: 'ldap (slapd, ldaps:// with caFile)', strategies: ['single-user', 'alternating-users'], make: () => ldapFixture({ tls: 'ldaps' }) });

describe('ldap target: LDAP specifics', () => {
  let fx: LdapFixture;
  const users: string[] = [];
  const user = async (): Promise<Credential> => {
    const cred = { username: uniqueName(), password: `Pw-${uniqueName()}` };
    users.push(cred.username, cloneUsername(cred.username));
    await fx.createUser(cred.username, cred.password);
    return cred;
  };
  const entry = async (username: string) =>
    (await fx.client.search(fx.dnOf(username), { scope: 'base', attributes: ['*'], explicitBufferAttributes: ['userPassword', 'jpegPhoto'] })).searchEntries[0]!;

  beforeAll(async () => {
    fx = await ldapFixture();
  });
  afterAll(async () => {
    try {
      for (const u of users) await fx.dropUser(u);
    } finally {
      await fx.close();
    }
  });

  it('StartTLS with caFile: single-user set and test work over the upgraded connection', async () => {
    const target = createTarget({ ...fx.config(), startTls: true, caFile: fx.server.caFile });
    const old = await user();
    const next = { username: old.username, password: `Pw-${uniqueName()}` };
    await target.set(fx.context('single-user', old.username, { admin: null }), next, old);
    await target.test(fx.context('single-user', old.username), next);
    expect(await fx.logsIn(next)).toBe(true);
    expect(await fx.logsIn(old)).toBe(false);
  });

  it('a certificate the CA does not vouch for, or for another host, is KT_TARGET_UNAVAILABLE, before any password is sent; an unreadable caFile is KT_TARGET_CONFIG_INVALID', async () => {
    const tmp = tempDir();
    try {
      // Without caFile the system CAs are used: they do not vouch for the test CA's certificate.
      const cred = await user();
      for (const config of [
        { ...fx.config(), startTls: true },
        { ...fx.config(), url: fx.server.ldapsUrl },
      ]) {
        const e = await createTarget(config)
          .test(fx.context('single-user', cred.username), cred)
          .catch((err: unknown) => err);
        expect(isKeyturnError(e, 'KT_TARGET_UNAVAILABLE'), String(e)).toBe(true);
        expect((e as Error).message).toContain('TLS handshake failed');
      }
      // Trusted CA, but the certificate names 127.0.0.1 only, not localhost (which resolves to 127.0.0.1 here).
      expect((await lookup('localhost')).address, 'localhost must resolve to 127.0.0.1 for this check').toBe('127.0.0.1');
      const wrongHost = await createTarget({ ...fx.config(), url: fx.server.ldapsUrl.replace('127.0.0.1', 'localhost'), caFile: fx.server.caFile })
        .test(fx.context('single-user', cred.username), cred)
        .catch((err: unknown) => err);
      expect(isKeyturnError(wrongHost, 'KT_TARGET_UNAVAILABLE') && wrongHost.details, String(wrongHost)).toMatchObject({ driverCode: 'ERR_TLS_CERT_ALTNAME_INVALID' });
      const unreadable = await createTarget({ ...fx.config(), url: fx.server.ldapsUrl, caFile: join(tmp.dir, 'missing.pem') })
        .test(fx.context('single-user', cred.username), cred)
        .catch((err: unknown) => err);
      expect(isKeyturnError(unreadable, 'KT_TARGET_CONFIG_INVALID'), String(unreadable)).toBe(true);
    } finally {
      tmp.remove();
    }
  });

  it('the clone copies the entry byte for byte (binary values too), never the password, and is re-synced after either side changes', async () => {
    const p = await user();
    const photo = Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x80, 0xfe]);
    await fx.client.modify(fx.dnOf(p.username), [
      new Change({ operation: 'add', modification: new Attribute({ type: 'jpegPhoto', values: [photo] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'mail', values: ['app@keyturn.test', 'ops@keyturn.test'] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'objectClass', values: ['extensibleObject'] }) }),
    ]);
    const clone = { username: cloneUsername(p.username), password: `Pw-${uniqueName()}` };
    await fx.target.set(fx.context('alternating-users', p.username), clone, p);
    const copy = await entry(clone.username);
    expect(copy.uid).toBe(clone.username);
    expect(copy.jpegPhoto).toEqual(photo);
    expect([...(copy.mail as string[])].sort()).toEqual(['app@keyturn.test', 'ops@keyturn.test']);
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(p.username));
    // Stored hashed by the server ({SSHA}), not the primary's.
    const stored = String(copy.userPassword);
    expect(stored.startsWith('{SSHA}')).toBe(true);
    expect(stored).not.toContain(clone.password);

    await fx.client.modify(fx.dnOf(p.username), [new Change({ operation: 'delete', modification: new Attribute({ type: 'mail', values: ['ops@keyturn.test'] }) })]);
    await fx.client.modify(fx.dnOf(clone.username), [new Change({ operation: 'add', modification: new Attribute({ type: 'title', values: ['not on the primary'] }) })]);
    const next = { ...clone, password: `Pw-${uniqueName()}` };
    await fx.target.set(fx.context('alternating-users', p.username), next, p);
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(p.username));
    expect((await entry(clone.username)).title).toBeUndefined();
    expect(await fx.logsIn(next)).toBe(true);
    expect(await fx.logsIn(p)).toBe(true);
  });

  it('a weak admin cannot make a clone: KT_TARGET_PERMISSION_DENIED, and no clone binds', async () => {
    const weak = await fx.weakAdmin();
    const p = await user();
    const clone = { username: cloneUsername(p.username), password: `Pw-${uniqueName()}` };
    const e = await fx.target.set(fx.context('alternating-users', p.username, { admin: weak }), clone, p).catch((err: unknown) => err);
    expect(isKeyturnError(e, 'KT_TARGET_PERMISSION_DENIED'), String(e)).toBe(true);
    expect(await fx.logsIn(clone)).toBe(false);
  });

  it('a groupsBaseDn that does not exist is KT_TARGET_CONFIG_INVALID', async () => {
    const p = await user();
    const target = createTarget({ ...fx.config(), groupsBaseDn: `ou=nowhere,${fx.server.suffix}` });
    const e = await target.set(fx.context('alternating-users', p.username), { username: cloneUsername(p.username), password: `Pw-${uniqueName()}` }, p).catch((err: unknown) => err);
    expect(isKeyturnError(e, 'KT_TARGET_CONFIG_INVALID'), String(e)).toBe(true);
  });

  it("a password the server's password policy refuses is KT_TARGET_PASSWORD_REJECTED, and the old one still binds", async () => {
    const old = await user();
    const short = 'x'.repeat(SLAPD_MIN_PASSWORD_LENGTH - 1);
    const e = await fx.target.set(fx.context('single-user', old.username, { admin: null }), { username: old.username, password: short }, old).catch((err: unknown) => err);
    expect(isKeyturnError(e, 'KT_TARGET_PASSWORD_REJECTED'), String(e)).toBe(true);
    expect(errorText(e)).not.toContain(short);
    expect(await fx.logsIn(old)).toBe(true);
  });

  it('an empty password is refused without binding (it would be an unauthenticated bind)', async () => {
    const p = await user();
    const e = await fx.target.test(fx.context('single-user', p.username), { username: p.username, password: '' }).catch((err: unknown) => err);
    expect(isKeyturnError(e, 'KT_TARGET_AUTH_FAILED'), String(e)).toBe(true);
  });

  it('a user name with DN specials reaches its own entry only', async () => {
    const odd = { username: `${uniqueName()},ou=x+cn=y`, password: `Pw-${uniqueName()}` };
    const dn = `uid=${odd.username.replace(/([,+=])/g, '\\$1')},${fx.server.people}`;
    await fx.client.add(dn, { objectClass: 'inetOrgPerson', uid: odd.username, cn: 'odd', sn: 'odd', userPassword: odd.password });
    try {
      const next = { ...odd, password: `Pw-${uniqueName()}` };
      await fx.target.set(fx.context('single-user', odd.username), next, odd);
      await fx.target.test(fx.context('single-user', odd.username), next);
      const e = await fx.target.test(fx.context('single-user', odd.username), odd).catch((err: unknown) => err);
      expect(isKeyturnError(e, 'KT_TARGET_AUTH_FAILED'), String(e)).toBe(true);
    } finally {
      await fx.client.del(dn);
    }
  });
});
