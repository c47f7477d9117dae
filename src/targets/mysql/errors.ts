/**
 * Maps mysql2 errors to target error codes by MySQL/MariaDB error number or network code. The
 * driver's message and its `sql` property are never used: both can hold the password.
 *
 * @example
 * ```ts
 * try { await conn.query(sql) } catch (e) { throw mysqlError(e, endpoint, { username: 'app', action: 'set the password of "app"' }, 'root') }
 * ```
 */
import type { KeyturnError } from '../../core/errors.js';
import { errorCodeOf, networkReason, targetError, type Attempt, type Endpoint, type TargetErrorCode } from '../target-error.js';

const BY_ERRNO: Readonly<Record<number, TargetErrorCode>> = {
  1045: 'KT_TARGET_AUTH_FAILED', // ER_ACCESS_DENIED_ERROR
  1698: 'KT_TARGET_AUTH_FAILED', // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
  1862: 'KT_TARGET_AUTH_FAILED', // ER_MUST_CHANGE_PASSWORD_LOGIN (expired)
  3118: 'KT_TARGET_AUTH_FAILED', // ER_ACCOUNT_HAS_BEEN_LOCKED (MySQL)
  4151: 'KT_TARGET_AUTH_FAILED', // ER_ACCOUNT_HAS_BEEN_LOCKED (MariaDB)
  1044: 'KT_TARGET_PERMISSION_DENIED', // ER_DBACCESS_DENIED_ERROR
  1142: 'KT_TARGET_PERMISSION_DENIED', // ER_TABLEACCESS_DENIED_ERROR
  1143: 'KT_TARGET_PERMISSION_DENIED', // ER_COLUMNACCESS_DENIED_ERROR
  1227: 'KT_TARGET_PERMISSION_DENIED', // ER_SPECIFIC_ACCESS_DENIED_ERROR
  1370: 'KT_TARGET_PERMISSION_DENIED', // ER_PROCACCESS_DENIED_ERROR
  1410: 'KT_TARGET_PERMISSION_DENIED', // ER_CANT_CREATE_USER_WITH_GRANT
  1141: 'KT_TARGET_USER_MISSING', // ER_NONEXISTING_GRANT (SHOW GRANTS FOR a missing user)
  1396: 'KT_TARGET_USER_MISSING', // ER_CANNOT_USER (ALTER USER on a missing user)
  1819: 'KT_TARGET_PASSWORD_REJECTED', // ER_NOT_VALID_PASSWORD (validation plugin)
  1470: 'KT_TARGET_USERNAME_INVALID', // ER_WRONG_STRING_LENGTH (user name too long)
  1049: 'KT_TARGET_CONFIG_INVALID', // ER_BAD_DB_ERROR
  1040: 'KT_TARGET_UNAVAILABLE', // ER_CON_COUNT_ERROR
  1053: 'KT_TARGET_UNAVAILABLE', // ER_SERVER_SHUTDOWN
  1205: 'KT_TARGET_UNAVAILABLE', // ER_LOCK_WAIT_TIMEOUT
  1969: 'KT_TARGET_UNAVAILABLE', // ER_STATEMENT_TIMEOUT (MariaDB)
  3024: 'KT_TARGET_UNAVAILABLE', // ER_QUERY_TIMEOUT (MySQL)
};

/**
 * The KeyturnError for a driver error; `loginUser` is named for auth and permission failures.
 * `connecting`: an error that is not the server's answer means no session could be set up.
 */
export function mysqlError(e: unknown, at: Endpoint, attempt: Attempt, loginUser: string, connecting = false): KeyturnError {
  const errno = e !== null && typeof e === 'object' ? (e as { errno?: unknown }).errno : undefined;
  const name = errorCodeOf(e);
  // Server errors carry a positive errno and a sqlState; socket errors carry a negative errno.
  if (typeof errno === 'number' && errno > 0 && typeof (e as { sqlState?: unknown }).sqlState === 'string') {
    const code = BY_ERRNO[errno] ?? 'KT_TARGET_FAILED';
    const driverCode = name ? `${errno} ${name}` : errno;
    if (code === 'KT_TARGET_AUTH_FAILED' || code === 'KT_TARGET_PERMISSION_DENIED') return targetError(code, at, { ...attempt, username: loginUser }, driverCode);
    if (code === 'KT_TARGET_CONFIG_INVALID') return targetError(code, at, attempt, driverCode, 'the configured database does not exist');
    if (code === 'KT_TARGET_UNAVAILABLE') return targetError(code, at, attempt, driverCode, 'the server is shutting down, busy or timed out');
    return targetError(code, at, attempt, driverCode);
  }
  const reason = networkReason(e) ?? (connecting ? 'no usable answer from the server' : null);
  if (reason) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, name, reason);
  return targetError('KT_TARGET_FAILED', at, attempt, name ?? (e instanceof Error ? e.name : undefined));
}
