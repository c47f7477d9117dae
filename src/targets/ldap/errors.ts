/**
 * Maps ldapts errors to target error codes by the LDAP result code (RFC 4511) or network code.
 * The server's diagnostic message and the error object are never passed on; only the numeric
 * result code rides along (`details.driverCode`).
 *
 * @example
 * ```ts
 * try { await client.bind(dn, password) } catch (e) { throw ldapError(e, endpoint, { username: 'app', action: 'log in' }, 'app') }
 * ```
 */
import { loadedLdap } from '../../core/drivers.js';
import type { KeyturnError } from '../../core/errors.js';
import { errorCodeOf, networkReason, targetError, type Attempt, type Endpoint, type TargetErrorCode } from '../target-error.js';

/** LDAP result codes this target names. */
export const LDAP_RESULT = {
  timeLimitExceeded: 3,
  confidentialityRequired: 13,
  noSuchAttribute: 16,
  constraintViolation: 19,
  typeOrValueExists: 20,
  noSuchObject: 32,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  entryAlreadyExists: 68,
} as const;

const BY_RESULT: Readonly<Record<number, TargetErrorCode>> = {
  [LDAP_RESULT.invalidCredentials]: 'KT_TARGET_AUTH_FAILED',
  [LDAP_RESULT.inappropriateAuthentication]: 'KT_TARGET_AUTH_FAILED',
  [LDAP_RESULT.insufficientAccessRights]: 'KT_TARGET_PERMISSION_DENIED',
  [LDAP_RESULT.noSuchObject]: 'KT_TARGET_USER_MISSING',
  [LDAP_RESULT.timeLimitExceeded]: 'KT_TARGET_UNAVAILABLE',
  [LDAP_RESULT.busy]: 'KT_TARGET_UNAVAILABLE',
  [LDAP_RESULT.unavailable]: 'KT_TARGET_UNAVAILABLE',
  [LDAP_RESULT.confidentialityRequired]: 'KT_TARGET_CONFIG_INVALID',
};

/** TLS failures (node's codes): the connection cannot be trusted, so nothing was sent on it. */
const TLS_CODES = /^(ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_SSL_)/;

/** The LDAP result code of a server's answer, or null for other errors (network, TLS, ...). */
export function resultCode(e: unknown): number | null {
  const ldap = loadedLdap();
  return ldap && e instanceof ldap.ResultCodeError ? e.code : null;
}

export interface LdapErrorOptions {
  /** The call sets a password: a constraint violation is the server refusing the new value (password policy). */
  readonly passwordChange?: boolean;
  /** An error that is not the server's answer means no session could be set up. */
  readonly connecting?: boolean;
}

/**
 * The KeyturnError for a driver error; `loginUser` (who is bound) is named for auth and
 * permission failures, `attempt.username` for the others.
 */
export function ldapError(e: unknown, at: Endpoint, attempt: Attempt, loginUser: string, options: LdapErrorOptions = {}): KeyturnError {
  const result = resultCode(e);
  if (result !== null) {
    if (options.passwordChange && result === LDAP_RESULT.constraintViolation) return targetError('KT_TARGET_PASSWORD_REJECTED', at, attempt, result, 'the password policy refused it');
    const code = BY_RESULT[result] ?? 'KT_TARGET_FAILED';
    if (code === 'KT_TARGET_AUTH_FAILED' || code === 'KT_TARGET_PERMISSION_DENIED') return targetError(code, at, { ...attempt, username: loginUser }, result);
    if (code === 'KT_TARGET_CONFIG_INVALID') return targetError(code, at, attempt, result, 'the server requires TLS: use an ldaps:// URL or startTls');
    if (code === 'KT_TARGET_UNAVAILABLE') return targetError(code, at, attempt, result, 'the server is busy, unavailable or timed out');
    return targetError(code, at, attempt, result);
  }
  const driverCode = errorCodeOf(e);
  if (driverCode !== undefined && TLS_CODES.test(driverCode))
    return targetError('KT_TARGET_UNAVAILABLE', at, attempt, driverCode, 'the TLS handshake failed (is the server certificate trusted by caFile and valid for the host?)');
  const reason = networkReason(e) ?? (options.connecting ? 'no usable answer from the server' : null);
  if (reason) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, driverCode, reason);
  return targetError('KT_TARGET_FAILED', at, attempt, driverCode ?? (e instanceof Error ? e.name : undefined));
}
