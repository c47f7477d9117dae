/**
 * The Active Directory target: domain users (Windows Server or Samba domain controllers) whose
 * password is the `unicodePwd` attribute, set over LDAPS (or StartTLS), through ldapts and the
 * ldap target's connection (../ldap/session.ts).
 *
 * - The value is the password in double quotes, encoded UTF-16LE. An admin resets it (modify:
 *   replace); a user without an admin changes its own (one modify: delete the old value, add the
 *   new one), which the DC checks against the old password and the whole password policy
 *   (minimum age included). A refused value is KT_TARGET_PASSWORD_REJECTED (./errors.ts) and the
 *   old password keeps working: the DC changes nothing.
 * - Users are found by `sAMAccountName` under `baseDn`; they bind as `user@domain` or `DOMAIN\user`.
 * - `single-user`: when the new password already binds, a user's own change does nothing (a
 *   retry with a stale `current`).
 * - `alternating-users` (admin required): the standby `<user>_clone` is made next to the primary
 *   (same parent), disabled, with the primary's UPN suffix; on every call its groups (`member` of
 *   the groups in the primary's `memberOf`) are made the primary's; its password and the primary's
 *   `userAccountControl` (enabled as the primary is) are set last, in one modify, so the clone
 *   binds only once it is complete. Swapping back changes only the primary's password.
 *
 * `test` is a simple bind with the credential.
 *
 * @example
 * ```ts
 * const target = new ActiveDirectoryTarget({ type: 'active-directory', url: 'ldaps://dc1.corp.example.com', baseDn: 'DC=corp,DC=example,DC=com', domain: 'corp.example.com' });
 * await target.set(ctx, { username: 'svc_app', password: next }, { username: 'svc_app', password: old });
 * await target.test(ctx, { username: 'svc_app', password: next });
 * ```
 */
import type { Entry } from 'ldapts';
import { assertStandby, assertStrategy, assertUsername, logsIn, requireAdmin, requireSelf } from '../checks.js';
import { targetError } from '../target-error.js';
import type { Credential, PasswordLimits, Strategy, Target, TargetContext } from '../target.js';
import { escapeDnValue, parentDn } from '../ldap/dn.js';
import { LDAP_RESULT, resultCode } from '../ldap/errors.js';
import { endpointOf, withLdap, type LdapSession } from '../ldap/session.js';
import { activeDirectoryStrategies, loginName, type ActiveDirectoryTargetConfig } from './config.js';
import { adError } from './errors.js';
import { isKeyturnError } from '../../core/errors.js';

/** sAMAccountName's schema bound (Windows keeps user names to 20 for down-level logons: see the docs). */
const MAX_USERNAME_CHARS = 256;
/** userAccountControl: ACCOUNTDISABLE | NORMAL_ACCOUNT, a clone's flags until its password is set. */
const DISABLED_NORMAL_ACCOUNT = 0x202;

/**
 * The `unicodePwd` value for a password: in double quotes, UTF-16LE.
 *
 * @example
 * ```ts
 * unicodePwd('Pw1'); // <Buffer 22 00 50 00 77 00 31 00 22 00>
 * ```
 */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** An attribute's values as strings (ldapts gives one value as a string, several as an array). */
function values(entry: Entry, name: string): string[] {
  const raw = Object.entries(entry).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1];
  return (raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
}

/** The domain's password rules a new password is checked against before it is sent (the domain object's minPwdLength, pwdProperties). */
export interface DomainPasswordPolicy {
  readonly minLength: number;
  /** DOMAIN_PASSWORD_COMPLEX: three of upper, lower, digit, other; not the account name. */
  readonly complex: boolean;
}

/**
 * Why `password` breaks the domain's rules for `username`, or null: a generated password that the
 * DC would refuse is never sent. History and minimum age stay the DC's to check.
 *
 * @example
 * ```ts
 * policyProblem({ minLength: 7, complex: true }, 'app', 'alllowercase'); // 'it has 1 of the 4 kinds ...'
 * ```
 */
export function policyProblem(policy: DomainPasswordPolicy, username: string, password: string): string | null {
  const length = [...password].length;
  if (length < policy.minLength) return `the domain requires at least ${policy.minLength} characters (it has ${length})`;
  if (!policy.complex) return null;
  const kinds = [/\p{Lu}/u, /\p{Ll}/u, /[0-9]/, /[^\p{L}0-9]/u].filter((k) => k.test(password)).length;
  if (kinds < 3) return `the domain requires three of the four kinds of characters (upper case, lower case, digits, others): it has ${kinds}`;
  if (username.length >= 3 && password.toLowerCase().includes(username.toLowerCase())) return 'the domain refuses a password that contains the account name';
  return null;
}

/** The domain object's DN (the DC= components of baseDn). */
function domainDn(baseDn: string): string {
  const at = baseDn.search(/(^|,)\s*DC=/i);
  return at < 0 ? baseDn : baseDn.slice(at).replace(/^,\s*/, '');
}

export class ActiveDirectoryTarget implements Target {
  readonly kind = 'active-directory';
  readonly strategies: readonly Strategy[] = activeDirectoryStrategies;
  /**
   * A DC stores at most 256 characters. The domain's own rules (minimum length, complexity,
   * history, minimum age) are the DC's to check: a generated password meets them when the
   * secret's password policy asks for enough length and classes (docs/targets/active-directory.md).
   */
  readonly passwordLimits: PasswordLimits = { maxLength: 256 };

  constructor(private readonly config: ActiveDirectoryTargetConfig) {}

  async set(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    assertStrategy(this, ctx.strategy);
    assertUsername(this.kind, next.username, MAX_USERNAME_CHARS);
    if (ctx.strategy === 'alternating-users') return this.setStandby(ctx, next);
    if (ctx.admin) return this.setAsAdmin(ctx, ctx.admin, next);
    return this.setOwnPassword(ctx, next, current);
  }

  async test(ctx: TargetContext, cred: Credential): Promise<void> {
    await this.session(cred, ctx.signal, 'log in', async () => undefined);
  }

  private session<T>(login: Credential, signal: AbortSignal, action: string, fn: (session: LdapSession) => Promise<T>): Promise<T> {
    return withLdap(this.config, { username: login.username, dn: loginName(this.config.domain, login.username), password: login.password }, signal, action, fn, adError);
  }

  /**
   * Refuses, before anything is sent, a password the domain's rules (read from the domain object)
   * would refuse: KT_TARGET_PASSWORD_REJECTED naming the rule, never the value.
   */
  private async assertPolicy(s: Session, username: string, password: string, action: string): Promise<void> {
    const { searchEntries } = await s.call((c) => c.search(domainDn(this.config.baseDn), { scope: 'base', attributes: ['minPwdLength', 'pwdProperties'] }), username, action);
    const entry = searchEntries[0];
    if (!entry) return;
    const minLength = Number(values(entry, 'minPwdLength')[0] ?? 0);
    const complex = (Number(values(entry, 'pwdProperties')[0] ?? 0) & 1) === 1;
    const problem = policyProblem({ minLength: Number.isFinite(minLength) ? minLength : 0, complex }, username, password);
    if (problem)
      throw targetError('KT_TARGET_PASSWORD_REJECTED', endpointOf(this.config), { username, action }, 'domain-policy', `checked against the domain's rules before sending, and not sent: ${problem}`);
  }

  private async setAsAdmin(ctx: TargetContext, admin: Credential, next: Credential): Promise<void> {
    const action = `set the password of "${next.username}"`;
    await this.session(admin, ctx.signal, action, async (s) => {
      const user = await this.find(s, next.username, action);
      await this.assertPolicy(s, next.username, next.password, action);
      await s.call((c) => c.modify(user.dn, passwordChange(s, 'replace', next.password)), next.username, action, { passwordChange: true });
    });
    ctx.log.debug({ target: this.kind, username: next.username }, 'password reset by the admin');
  }

  private async setOwnPassword(ctx: TargetContext, next: Credential, current: Credential | null): Promise<void> {
    const self = requireSelf(this.kind, ctx, next, current);
    // A retry after a crash may hold a stale current: the new password binding already means done.
    if (await logsIn(this, ctx, next)) return;
    const action = 'change its own password';
    await this.session(self, ctx.signal, action, async (s) => {
      const user = await this.find(s, self.username, action);
      await this.assertPolicy(s, next.username, next.password, action);
      const change = [passwordChange(s, 'delete', self.password), passwordChange(s, 'add', next.password)];
      await s.call((c) => c.modify(user.dn, change), next.username, action, { passwordChange: true });
    });
    ctx.log.debug({ target: this.kind, username: next.username }, 'password changed by the user');
  }

  private async setStandby(ctx: TargetContext, next: Credential): Promise<void> {
    const admin = requireAdmin(this.kind, ctx, `create and sync the standby user "${next.username}"`);
    const { isClone } = assertStandby(this.kind, ctx, next.username);
    const standby = next.username;
    const action = `rotate the standby user "${standby}"`;
    await this.session(admin, ctx.signal, action, async (s) => {
      const { call, ldap } = s;
      const primary = await this.find(s, ctx.primaryUsername, `copy its groups to "${standby}"`);
      await this.assertPolicy(s, standby, next.password, action);
      const changes = [passwordChange(s, 'replace', next.password)];
      let dn = primary.dn;
      if (isClone) {
        dn = await this.syncClone(ctx, s, primary, standby);
        const flags = values(primary, 'userAccountControl')[0];
        if (flags !== undefined) changes.push(new ldap.Change({ operation: 'replace', modification: new ldap.Attribute({ type: 'userAccountControl', values: [flags] }) }));
      }
      await call((c) => c.modify(dn, changes), standby, `set the password of "${standby}"`, { passwordChange: true });
    });
  }

  /** Makes the clone (creating it, disabled, when missing) a member of the primary's groups only; returns its DN. */
  private async syncClone(ctx: TargetContext, s: Session, primary: Entry, clone: string): Promise<string> {
    const { call, ldap } = s;
    let existing = await this.lookup(s, clone, `look up "${clone}"`);
    const created = existing === null;
    if (!existing) {
      const dn = `CN=${escapeDnValue(clone)},${parentDn(primary.dn)}`;
      const upnSuffix = values(primary, 'userPrincipalName')[0]?.split('@')[1];
      const attributes = [
        new ldap.Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
        new ldap.Attribute({ type: 'sAMAccountName', values: [clone] }),
        new ldap.Attribute({ type: 'userAccountControl', values: [String(DISABLED_NORMAL_ACCOUNT)] }),
        ...(upnSuffix ? [new ldap.Attribute({ type: 'userPrincipalName', values: [`${clone}@${upnSuffix}`] })] : []),
      ];
      await call((c) => c.add(dn, attributes), clone, `create the standby user "${clone}"`);
      existing = { dn, memberOf: [] } as Entry;
    }
    const cloneDn = existing.dn;
    const want = values(primary, 'memberOf');
    const have = values(existing, 'memberOf');
    const lower = (l: string[]) => new Set(l.map((g) => g.toLowerCase()));
    const join = want.filter((g) => !lower(have).has(g.toLowerCase()));
    const leave = have.filter((g) => !lower(want).has(g.toLowerCase()));
    const sync = `sync the groups of "${clone}" from "${ctx.primaryUsername}"`;
    const member = (operation: 'add' | 'delete') => new ldap.Change({ operation, modification: new ldap.Attribute({ type: 'member', values: [cloneDn] }) });
    for (const group of join) await tolerate([LDAP_RESULT.typeOrValueExists, LDAP_RESULT.entryAlreadyExists], () => call((c) => c.modify(group, member('add')), clone, sync));
    for (const group of leave) await tolerate([LDAP_RESULT.noSuchAttribute, LDAP_RESULT.unwillingToPerform], () => call((c) => c.modify(group, member('delete')), clone, sync));
    ctx.log.debug({ target: this.kind, username: clone, created, groupChanges: join.length + leave.length }, 'standby user synced');
    return cloneDn;
  }

  /** The user `username` (sAMAccountName) under baseDn, or null. */
  private async lookup({ call, ldap }: Session, username: string, action: string): Promise<Entry | null> {
    const filter = new ldap.AndFilter({
      filters: [new ldap.EqualityFilter({ attribute: 'objectClass', value: 'user' }), new ldap.EqualityFilter({ attribute: 'sAMAccountName', value: username })],
    });
    try {
      const { searchEntries } = await call((c) => c.search(this.config.baseDn, { scope: 'sub', filter, attributes: ['memberOf', 'userAccountControl', 'userPrincipalName'] }), username, action);
      return searchEntries[0] ?? null;
    } catch (e) {
      if (isKeyturnError(e, 'KT_TARGET_USER_MISSING')) throw targetError('KT_TARGET_CONFIG_INVALID', endpointOf(this.config), { username, action }, LDAP_RESULT.noSuchObject, 'baseDn does not exist');
      throw e;
    }
  }

  /** The user, or KT_TARGET_USER_MISSING. */
  private async find(s: Session, username: string, action: string): Promise<Entry> {
    const user = await this.lookup(s, username, action);
    if (!user) throw targetError('KT_TARGET_USER_MISSING', endpointOf(this.config), { username, action });
    return user;
  }
}

/** What the lookups use of a session: the mapped call and ldapts. */
type Session = Pick<LdapSession, 'call' | 'ldap'>;

/** A modify change of `unicodePwd` with this password's value. */
function passwordChange({ ldap }: Session, operation: 'replace' | 'delete' | 'add', password: string): InstanceType<Session['ldap']['Change']> {
  return new ldap.Change({ operation, modification: new ldap.Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }) });
}

/** Runs `op`, taking the LDAP result `codes` (a value already there, or already gone) as done. */
async function tolerate(codes: readonly number[], op: () => Promise<unknown>): Promise<void> {
  try {
    await op();
  } catch (e) {
    const driverCode = isKeyturnError(e) ? (e.details as { driverCode?: unknown } | undefined)?.driverCode : resultCode(e);
    if (typeof driverCode !== 'number' || !codes.includes(driverCode)) throw e;
  }
}
