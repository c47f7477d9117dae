/**
 * The active-directory target against a Samba domain controller of this test process
 * (test/helpers/samba-dc.ts, LDAPS with the DC's own CA; the Administrator as admin): the Target
 * contract with both strategies, then what is particular to a DC (its password policy refusing a
 * value, both login name forms, the clone disabled until its password is set, TLS checks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Attribute, Change } from 'ldapts';
import { isKeyturnError } from '../src/core/errors.js';
import { createTarget } from '../src/targets/registry.js';
import { cloneUsername, type Credential } from '../src/targets/target.js';
import { errorText } from '../src/contracts/consumer-contract.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { uniqueName } from '../src/contracts/names.js';
import { activeDirectoryFixture, type ActiveDirectoryFixture } from './fixtures/targets/active-directory.js';
import { SAMBA_MIN_PASSWORD_LENGTH } from './helpers/samba-dc.js';

runTargetContract({ name: 'active-directory (Samba DC, ldaps:// with caFile)', strategies: ['single-user', 'alternating-users'], make: () => activeDirectoryFixture() });

describe('active-directory target: domain controller specifics', () => {
  let fx: ActiveDirectoryFixture;
  const users: string[] = [];
  const user = async (): Promise<Credential> => {
    const cred = { username: uniqueName(), password: `Pw-${uniqueName()}` };
    users.push(cred.username, cloneUsername(cred.username));
    await fx.createUser(cred.username, cred.password);
    return cred;
  };
  const refusal = (fn: () => Promise<unknown>) =>
    fn().then(
      () => null,
      (e: unknown) => e,
    );

  beforeAll(async () => {
    fx = await activeDirectoryFixture();
  });
  afterAll(async () => {
    try {
      for (const u of users) await fx.dropUser(u);
    } finally {
      await fx.close();
    }
  });

  it("a password the domain's policy refuses (too short, too simple) is never sent: KT_TARGET_PASSWORD_REJECTED from the check against the domain object; one it refuses by history is the DC's; nothing changes, no password shown, with an admin and without", async () => {
    const old = await user();
    const short = 'Aa1-'.padEnd(SAMBA_MIN_PASSWORD_LENGTH - 1, 'x');
    const simple = 'a'.repeat(SAMBA_MIN_PASSWORD_LENGTH + 5);
    for (const admin of [fx.admin, null])
      for (const bad of [short, simple]) {
        const e = await refusal(() => fx.target.set(fx.context('single-user', old.username, { admin }), { username: old.username, password: bad }, old));
        expect(isKeyturnError(e, 'KT_TARGET_PASSWORD_REJECTED'), String(e)).toBe(true);
        // Refused by the check against the domain's minPwdLength and pwdProperties, before any modify is sent (the DC's own refusal is 19/0000052D).
        expect((e as { details?: { driverCode?: unknown } }).details?.driverCode).toBe('domain-policy');
        expect((e as Error).message).toContain('not sent');
        expect(errorText(e)).not.toContain(bad);
        expect(errorText(e)).not.toContain(old.password);
        expect(await fx.logsIn(old)).toBe(true);
        expect(await fx.logsIn({ username: old.username, password: bad })).toBe(false);
      }
    // A user's own change back to a password in its history is refused too.
    const next = { username: old.username, password: `Pw-${uniqueName()}` };
    const self = fx.context('single-user', old.username, { admin: null });
    await fx.target.set(self, next, old);
    const back = await refusal(() => fx.target.set(self, old, next));
    expect(isKeyturnError(back, 'KT_TARGET_PASSWORD_REJECTED'), String(back)).toBe(true);
    expect((back as { details?: { driverCode?: unknown } }).details?.driverCode).toBe('19/0000052D');
    expect(await fx.logsIn(next)).toBe(true);
    expect(await fx.logsIn(old)).toBe(false);
  });

  it('binds as DOMAIN\\user as well as user@domain, and a disabled account is KT_TARGET_AUTH_FAILED naming why (the data code 533)', async () => {
    const cred = await user();
    const netbios = createTarget({ ...fx.config(), domain: fx.server.domain });
    await netbios.test(fx.context('single-user', cred.username), cred);
    const next = { ...cred, password: `Pw-${uniqueName()}` };
    await netbios.set(fx.context('single-user', cred.username, { admin: null }), next, cred);
    expect(await fx.logsIn(next)).toBe(true);
    expect(await fx.logsIn(cred)).toBe(false);
    await fx.client.modify(fx.dnOf(cred.username), new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: ['514'] }) }));
    const e = await refusal(() => fx.target.test(fx.context('single-user', cred.username), next));
    expect(isKeyturnError(e, 'KT_TARGET_AUTH_FAILED'), String(e)).toBe(true);
    expect((e as { details?: { driverCode?: unknown } }).details?.driverCode).toBe('49/533');
    expect((e as Error).message).toContain('the account is disabled');
  });

  it("the clone is made next to the primary with its UPN suffix and flags, in its groups only, and follows the primary's enabled state", async () => {
    const p = await user();
    const clone = { username: cloneUsername(p.username), password: `Pw-${uniqueName()}` };
    await fx.target.set(fx.context('alternating-users', p.username), clone, p);
    const [entry] = (await fx.client.search(fx.dnOf(clone.username), { scope: 'base', attributes: ['userPrincipalName', 'userAccountControl', 'sAMAccountName'] })).searchEntries;
    expect(entry).toMatchObject({ userPrincipalName: `${clone.username}@${fx.server.realm}`, userAccountControl: '512', sAMAccountName: clone.username });
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(p.username));
    // A group the clone has and the primary has not is left on the next set.
    const extra = await fx.newMembership();
    await fx.grant(clone.username, extra);
    await fx.client.modify(fx.dnOf(p.username), new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(512 | 0x10000)] }) }));
    const next = { ...clone, password: `Pw-${uniqueName()}` };
    await fx.target.set(fx.context('alternating-users', p.username), next, p);
    expect(await fx.memberships(clone.username)).toEqual(await fx.memberships(p.username));
    expect((await fx.memberships(clone.username)).join('\n')).not.toContain(extra);
    expect(await fx.logsIn(next)).toBe(true);
    expect(await fx.logsIn(p)).toBe(true);
  });

  it('a certificate the CA does not vouch for, or for another name, is KT_TARGET_UNAVAILABLE; plain ldap:// without startTls is refused by the schema', async () => {
    const cred = await user();
    const { caFile: _ca, ...noCa } = fx.config();
    for (const config of [noCa, { ...fx.config(), tlsServerName: 'elsewhere.keyturn.test' }]) {
      const e = await refusal(() => createTarget(config).test(fx.context('single-user', cred.username), cred));
      expect(isKeyturnError(e, 'KT_TARGET_UNAVAILABLE'), String(e)).toBe(true);
      expect((e as Error).message).toContain('TLS handshake failed');
    }
    const plain = await refusal(async () => createTarget({ ...fx.config(), url: `ldap://${fx.server.host}` }));
    expect(isKeyturnError(plain, 'KT_TARGET_CONFIG_INVALID'), String(plain)).toBe(true);
    expect((plain as Error).message).toContain('startTls');
    const starttls = createTarget({ ...fx.config(), url: `ldap://${fx.server.host}`, startTls: true });
    await starttls.test(fx.context('single-user', cred.username), cred);
  });

  it('a baseDn that does not exist is KT_TARGET_CONFIG_INVALID', async () => {
    const p = await user();
    const target = createTarget({ ...fx.config(), baseDn: `OU=nowhere,${fx.server.baseDn}` });
    const e = await refusal(() => target.set(fx.context('single-user', p.username), { username: p.username, password: `Pw-${uniqueName()}` }, p));
    expect(isKeyturnError(e, 'KT_TARGET_CONFIG_INVALID'), String(e)).toBe(true);
    expect(await fx.logsIn(p)).toBe(true);
  });
});
