/**
 * Maps a domain controller's errors: on top of the LDAP result codes (../ldap/errors.ts), the
 * Windows error code a DC puts in its diagnostic message. Only that code rides along (as
 * `details.driverCode`, `<result>/<code>`), never the message itself.
 *
 * - A password change refused with constraintViolation (19) or unwillingToPerform (53) is
 *   KT_TARGET_PASSWORD_REJECTED (the domain's policy: `0000052D`, too short, too simple, in the
 *   history or too young), except `00000056`, the old password given to a user's own change not
 *   being its password (KT_TARGET_AUTH_FAILED).
 * - A refused bind (49) names why when the DC says (`data 533`: account disabled, `775`: locked out, ...).
 *
 * @example
 * ```ts
 * try { await client.modify(dn, changes) } catch (e) { throw adError(e, at, { username: 'app', action: 'set its password' }, 'app', { passwordChange: true }) }
 * ```
 */
import type { KeyturnError } from '../../core/errors.js';
import { targetError, type Attempt, type Endpoint } from '../target-error.js';
import { LDAP_RESULT, ldapError, resultCode, type LdapErrorOptions } from '../ldap/errors.js';

/**
 * The Windows error code a DC's diagnostic message starts with, or null.
 *
 * @example
 * ```ts
 * windowsCode(new Error('0000052D: Constraint violation - ...')); // '0000052D'
 * ```
 */
export function windowsCode(e: unknown): string | null {
  const message = e instanceof Error ? e.message : '';
  return /^([0-9A-Fa-f]{8}):/.exec(message)?.[1]?.toUpperCase() ?? null;
}

/** The `data` code of a refused bind (`... AcceptSecurityContext error, data 52e, v1db1`). */
function bindDataCode(e: unknown): string | null {
  const message = e instanceof Error ? e.message : '';
  return /\bdata ([0-9a-f]{3,8})\b/i.exec(message)?.[1]?.toLowerCase() ?? null;
}

/** Why a DC refused a bind, by its data code. */
const BIND_REASONS: Readonly<Record<string, string>> = {
  '52e': 'wrong user name or password',
  '525': 'no such user',
  '530': 'not permitted to log on at this time',
  '531': 'not permitted to log on at this workstation',
  '532': 'the password has expired',
  '533': 'the account is disabled',
  '701': 'the account has expired',
  '773': 'the password must be reset',
  '775': 'the account is locked out',
};

const PASSWORD_POLICY = '0000052D';
const WRONG_OLD_PASSWORD = '00000056';

/**
 * ldapError with what a domain controller adds (its Windows error codes).
 *
 * @example
 * ```ts
 * withLdap(config, login, signal, 'log in', fn, adError);
 * ```
 */
export function adError(e: unknown, at: Endpoint, attempt: Attempt, loginUser: string, options: LdapErrorOptions = {}): KeyturnError {
  const result = resultCode(e);
  if (result === LDAP_RESULT.invalidCredentials) {
    const data = bindDataCode(e);
    return targetError('KT_TARGET_AUTH_FAILED', at, { ...attempt, username: loginUser }, data === null ? result : `${result}/${data}`, data === null ? undefined : BIND_REASONS[data]);
  }
  if (options.passwordChange && (result === LDAP_RESULT.constraintViolation || result === LDAP_RESULT.unwillingToPerform)) {
    const code = windowsCode(e);
    const driverCode = code === null ? result : `${result}/${code}`;
    if (code === WRONG_OLD_PASSWORD) return targetError('KT_TARGET_AUTH_FAILED', at, attempt, driverCode, 'the current password given for the change is not the password');
    const why = code === PASSWORD_POLICY ? "the domain's password policy refused it (length, complexity, history or minimum age)" : 'the domain controller refused the new password';
    return targetError('KT_TARGET_PASSWORD_REJECTED', at, attempt, driverCode, why);
  }
  return ldapError(e, at, attempt, loginUser, options);
}
