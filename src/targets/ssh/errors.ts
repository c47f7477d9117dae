/**
 * Maps ssh2 client errors and the exit codes of the authorized_keys program (./authorized-keys.ts)
 * to target error codes. Only an error's `level` and network `code` and fixed phrases are read;
 * the driver's text and the error object are never passed on.
 *
 * @example
 * ```ts
 * sshError(err, at, { username: 'app', action: 'log in' }, 'app'); // KT_TARGET_AUTH_FAILED for level 'client-authentication'
 * ```
 */
import type { KeyturnError } from '../../core/errors.js';
import { errorCodeOf, networkReason, targetError, type Attempt, type Endpoint } from '../target-error.js';
import { EDIT_EXIT } from './authorized-keys.js';

/** The KeyturnError for an ssh2 connection error; `login` (who logged in) is named on a refused key. */
export function sshError(e: unknown, at: Endpoint, attempt: Attempt, login: string): KeyturnError {
  const level = e !== null && typeof e === 'object' ? (e as { level?: unknown }).level : undefined;
  const message = e instanceof Error ? e.message : '';
  if (level === 'client-authentication') return targetError('KT_TARGET_AUTH_FAILED', at, { ...attempt, username: login }, 'publickey');
  if (/verification failed/i.test(message)) return targetError('KT_TARGET_CONFIG_INVALID', at, attempt, 'hostkey', 'the host key does not match the configured hostKey');
  if (level === 'client-timeout') return targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, 'no SSH handshake within the connect timeout');
  const reason = networkReason(e);
  if (reason || level === 'client-socket' || level === 'protocol' || level === 'handshake') {
    return targetError('KT_TARGET_UNAVAILABLE', at, attempt, errorCodeOf(e), reason ?? 'the SSH connection failed');
  }
  return targetError('KT_TARGET_FAILED', at, attempt, errorCodeOf(e) ?? (e instanceof Error ? e.name : undefined));
}

/** The KeyturnError for the authorized_keys program exiting with `code`; `login` ran it. */
export function editError(code: number | null, at: Endpoint, attempt: Attempt, login: string): KeyturnError {
  switch (code) {
    case EDIT_EXIT.userMissing:
      return targetError('KT_TARGET_USER_MISSING', at, attempt);
    case EDIT_EXIT.denied:
      return targetError('KT_TARGET_PERMISSION_DENIED', at, { ...attempt, username: login }, 'authorized_keys');
    case EDIT_EXIT.noHome:
      return targetError('KT_TARGET_FAILED', at, attempt, `exit ${code}`, 'the account has no home directory');
    default:
      return targetError('KT_TARGET_FAILED', at, attempt, code === null ? 'killed' : `exit ${code}`);
  }
}
