/**
 * Maps node-postgres errors to target error codes by SQLSTATE or network code. The driver's
 * message is never used: it can echo the statement, and the statement can hold a password.
 *
 * @example
 * ```ts
 * try { await client.connect() } catch (e) { throw pgError(e, endpoint, { username: 'app', action: 'log in' }) }
 * ```
 */
import { loadedPg } from '../../core/drivers.js';
import type { KeyturnError } from '../../core/errors.js';
import { networkReason, targetError, type Attempt, type Endpoint, type TargetErrorCode } from '../target-error.js';

const BY_SQLSTATE: Readonly<Record<string, TargetErrorCode>> = {
  '28P01': 'KT_TARGET_AUTH_FAILED', // invalid_password
  '28000': 'KT_TARGET_AUTH_FAILED', // invalid_authorization_specification (no pg_hba entry, NOLOGIN role)
  '42501': 'KT_TARGET_PERMISSION_DENIED', // insufficient_privilege
  '42704': 'KT_TARGET_USER_MISSING', // undefined_object: role does not exist
  '3D000': 'KT_TARGET_CONFIG_INVALID', // invalid_catalog_name: the configured database does not exist
  '22023': 'KT_TARGET_PASSWORD_REJECTED', // invalid_parameter_value (passwordcheck and friends)
  '57014': 'KT_TARGET_UNAVAILABLE', // query_canceled (statement timeout)
  '57P01': 'KT_TARGET_UNAVAILABLE', // admin_shutdown
  '57P02': 'KT_TARGET_UNAVAILABLE', // crash_shutdown
  '57P03': 'KT_TARGET_UNAVAILABLE', // cannot_connect_now (starting up)
  '53300': 'KT_TARGET_UNAVAILABLE', // too_many_connections
};

/**
 * The KeyturnError for a driver error. `attempt.username` names the user the failure is about:
 * the one logging in for connection errors, the one being changed for statement errors.
 * `connecting`: an error that is not the server's answer means no session could be set up.
 */
export function pgError(e: unknown, at: Endpoint, attempt: Attempt, loginUser: string, connecting = false): KeyturnError {
  const pg = loadedPg();
  if (pg && e instanceof pg.DatabaseError && typeof e.code === 'string') {
    const sqlstate = e.code;
    const code = BY_SQLSTATE[sqlstate] ?? (sqlstate.startsWith('08') ? 'KT_TARGET_UNAVAILABLE' : 'KT_TARGET_FAILED');
    if (code === 'KT_TARGET_AUTH_FAILED' || code === 'KT_TARGET_PERMISSION_DENIED') return targetError(code, at, { ...attempt, username: loginUser }, sqlstate);
    if (code === 'KT_TARGET_CONFIG_INVALID') return targetError(code, at, attempt, sqlstate, 'the configured database does not exist');
    if (code === 'KT_TARGET_UNAVAILABLE') return targetError(code, at, attempt, sqlstate, 'the server is shutting down, starting up, busy or timed out');
    return targetError(code, at, attempt, sqlstate);
  }
  const reason = networkReason(e) ?? (connecting ? 'no usable answer from the server' : null);
  if (reason) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, reason);
  return targetError('KT_TARGET_FAILED', at, attempt, e instanceof Error ? e.name : undefined);
}
