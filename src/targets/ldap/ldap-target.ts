/**
 * The LDAP target: users that bind with a DN and a password (OpenLDAP, 389 Directory Server,
 * any server with the RFC 3062 Password Modify extended operation).
 *
 * - `single-user`: the new password is set with the Password Modify extended operation, so the
 *   server hashes it by its own policy (`password-hash`) and applies its password policy. With
 *   an admin, the admin binds and changes the user's password (after checking the entry exists);
 *   without one, the user binds with its current password and changes its own (old password
 *   sent). When the new password already binds, nothing is done, so a repeated call with a stale
 *   `current` still succeeds. The old password is refused from that instant.
 * - `alternating-users` (admin required): the standby `<user>_clone` is created next to the
 *   primary (same parent, same naming attribute) as a copy of the primary's entry, and on every
 *   call its entry and its group memberships (`member` / `uniqueMember` under `groupsBaseDn`)
 *   are made the primary's again (see ./clone.ts); its password is set last, so the clone binds
 *   only once it is complete. Swapping back to the primary changes only the primary's password.
 *
 * `test` is a simple bind with the credential. Errors carry the LDAP result code only (./errors.ts).
 *
 * @example
 * ```ts
 * const target = new LdapTarget({ type: 'ldap', url: 'ldap://127.0.0.1:389', userDn: 'uid={username},ou=people,dc=example,dc=org' });
 * await target.set(ctx, { username: 'app', password: next }, { username: 'app', password: old });
 * await target.test(ctx, { username: 'app', password: next });
 * ```
 */
import type { Client, Entry } from 'ldapts';
import { isKeyturnError } from '../../core/errors.js';
import { assertStandby, assertStrategy, assertUsername, logsIn, requireAdmin, requireSelf } from '../checks.js';
import { targetError } from '../target-error.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { attributesOf, cloneAttributes, entryChanges, groupPlan, MEMBER_ATTRIBUTES, type Memberships } from './clone.js';
import { ldapStrategies, userDnParts, type LdapTargetConfig } from './config.js';
import { bindDn, userDn } from './dn.js';
import { LDAP_RESULT, resultCode } from './errors.js';
import { endpointOf, withLdap, type LdapCall, type LdapLogin, type LdapSession } from './session.js';

/** A sane bound on names (servers set none of their own that is common to all). */
const MAX_USERNAME_CHARS = 256;

export class LdapTarget implements Target {
  readonly kind = 'ldap';
  readonly strategies: readonly Strategy[] = ldapStrategies;
  /** Passwords travel as octet strings in BER: any character and length is fine. */
  readonly passwordLimits: PasswordLimits = {};

  constructor(private readonly config: LdapTargetConfig) {}

  async set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    assertUsername(this.kind, next.username, MAX_USERNAME_CHARS);
    if (ctx.strategy === 'alternating-users') return this.setStandby(ctx, next);
    if (ctx.admin) return this.setAsAdmin(ctx, ctx.admin, next);
    return this.setOwnPassword(ctx, next, current);
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    await withLdap(this.config, this.login(cred), ctx.signal, 'log in', async () => undefined);
  }

  private login(cred: Credential): LdapLogin {
    return { username: cred.username, dn: userDn(this.config.userDn, cred.username), password: cred.password };
  }

  private adminLogin(admin: Credential): LdapLogin {
    return { username: admin.username, dn: bindDn(this.config.userDn, admin.username), password: admin.password };
  }

  private async setAsAdmin(ctx: TargetContext, admin: Credential, next: Credential): Promise<void> {
    const dn = userDn(this.config.userDn, next.username);
    await withLdap(this.config, this.adminLogin(admin), ctx.signal, `set the password of "${next.username}"`, async (session) => {
      if (!(await this.read(session.call, dn, next.username))) throw this.missing(next.username, `set the password of "${next.username}"`);
      await session.changePassword(dn, next.username, next.password);
    });
    ctx.log.debug({ target: this.kind, username: next.username }, 'password set by the admin');
  }

  private async setOwnPassword(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    const self = requireSelf(this.kind, ctx, next, current);
    // A retry after a crash may hold a stale current: the new password binding already means done.
    if (await logsIn(this, ctx, next)) return;
    await withLdap(this.config, this.login(self), ctx.signal, 'change its own password', (session) => session.changePassword(null, next.username, next.password, self.password));
  }

  private async setStandby(ctx: TargetContext, next: Credential): Promise<void> {
    const admin = requireAdmin(this.kind, ctx, `create and sync the standby user "${next.username}"`);
    const { isClone } = assertStandby(this.kind, ctx, next.username);
    const primary = ctx.primaryUsername;
    const standby = next.username;
    const primaryDn = userDn(this.config.userDn, primary);
    const standbyDn = userDn(this.config.userDn, standby);
    await withLdap(this.config, this.adminLogin(admin), ctx.signal, `rotate the standby user "${standby}"`, async (session) => {
      const source = await this.read(session.call, primaryDn, primary);
      if (!source) throw this.missing(primary, `copy its entry to "${standby}"`);
      if (isClone) await this.syncClone(ctx, session, source, primaryDn, standby, standbyDn);
      await session.changePassword(standbyDn, standby, next.password);
    });
  }

  /** Makes the clone's entry and group memberships the primary's (creating the entry when missing). */
  private async syncClone(ctx: TargetContext, session: LdapSession, source: Entry, primaryDn: string, clone: string, cloneDn: string): Promise<void> {
    const { call, ldap } = session;
    const { Attribute, Change } = ldap;
    const naming = userDnParts(this.config.userDn).attribute;
    const primaryAttrs = attributesOf(source);
    const existing = await this.read(call, cloneDn, clone);
    let entryChangeCount = 0;
    if (!existing) {
      const attributes = [...cloneAttributes(primaryAttrs, naming, clone).values()].map((a) => new Attribute({ type: a.name, values: a.values }));
      await call((c) => c.add(cloneDn, attributes), clone, `create the standby user "${clone}"`);
    } else {
      const changes = entryChanges(primaryAttrs, attributesOf(existing), naming, clone);
      entryChangeCount = changes.length;
      if (changes.length > 0) {
        const modifications = changes.map((ch) => new Change({ operation: ch.operation, modification: new Attribute({ type: ch.name, values: ch.values }) }));
        await call((c) => c.modify(cloneDn, modifications), clone, `sync the entry of "${clone}" from "${ctx.primaryUsername}"`);
      }
    }
    let groupChanges = 0;
    if (this.config.groupsBaseDn !== undefined) {
      const plan = groupPlan(await this.groupsOf(session, primaryDn, ctx.primaryUsername), await this.groupsOf(session, cloneDn, clone));
      const sync = `sync the groups of "${clone}" from "${ctx.primaryUsername}"`;
      for (const [attribute, group] of plan.join)
        await this.tolerate(LDAP_RESULT.typeOrValueExists, () =>
          call((c) => c.modify(group, new Change({ operation: 'add', modification: new Attribute({ type: attribute, values: [cloneDn] }) })), clone, sync),
        );
      for (const [attribute, group] of plan.leave)
        await this.tolerate(LDAP_RESULT.noSuchAttribute, () =>
          call((c) => c.modify(group, new Change({ operation: 'delete', modification: new Attribute({ type: attribute, values: [cloneDn] }) })), clone, sync),
        );
      groupChanges = plan.join.length + plan.leave.length;
    }
    ctx.log.debug({ target: this.kind, username: clone, created: !existing, entryChanges: entryChangeCount, groupChanges }, 'standby entry synced');
  }

  /** The entry at `dn` (user attributes), or null when there is none. */
  private async read(call: LdapCall, dn: string, username: string): Promise<Entry | null> {
    try {
      const { searchEntries } = await call((c: Client) => c.search(dn, { scope: 'base', attributes: ['*'] }), username, `look up "${username}"`);
      return searchEntries[0] ?? null;
    } catch (e) {
      if (isKeyturnError(e, 'KT_TARGET_USER_MISSING')) return null;
      throw e;
    }
  }

  /** The groups under groupsBaseDn that list `dn`, by member attribute (one search each). */
  private async groupsOf({ call, ldap }: LdapSession, dn: string, username: string): Promise<Memberships> {
    const out: Memberships = { member: [], uniqueMember: [] };
    const action = `list the groups of "${username}"`;
    for (const attribute of MEMBER_ATTRIBUTES) {
      const filter = new ldap.EqualityFilter({ attribute, value: dn });
      try {
        const { searchEntries } = await call((c) => c.search(this.config.groupsBaseDn!, { scope: 'sub', filter, attributes: ['1.1'] }), username, action);
        out[attribute] = searchEntries.map((g) => g.dn);
      } catch (e) {
        if (isKeyturnError(e, 'KT_TARGET_USER_MISSING'))
          throw targetError('KT_TARGET_CONFIG_INVALID', endpointOf(this.config), { username, action }, LDAP_RESULT.noSuchObject, 'groupsBaseDn does not exist');
        throw e;
      }
    }
    return out;
  }

  /** Runs `op`, taking the LDAP result `code` (a value already there, or already gone) as done. */
  private async tolerate(code: number, op: () => Promise<unknown>): Promise<void> {
    try {
      await op();
    } catch (e) {
      const driverCode = isKeyturnError(e) ? (e.details as { driverCode?: unknown } | undefined)?.driverCode : resultCode(e);
      if (driverCode !== code) throw e;
    }
  }

  private missing(username: string, action: string): Error {
    return targetError('KT_TARGET_USER_MISSING', endpointOf(this.config), { username, action });
  }
}
