/**
 * The errors targets throw. Every message is built here from a code, the endpoint, a user name
 * and an action, never from a driver's message: drivers echo the failing SQL or command (and the
 * password in it), so their text and the error object itself never leave the driver module.
 * Only a driver code (SQLSTATE, MariaDB errno, Redis error word) rides along in `details`.
 *
 * @example
 * ```ts
 * throw targetError('KT_TARGET_AUTH_FAILED', { kind: 'postgres', host: '127.0.0.1', port: 5432 }, { username: 'app', action: 'log in' }, '28P01');
 * ```
 */
import { KeyturnError, type ErrorCode } from '../core/errors.js';

/** Where a target's server lives, for messages. */
export interface Endpoint {
  readonly kind: string;
  readonly host: string;
  readonly port: number;
}

/** The script target's place, for messages: the command that reaches the system. */
export interface CommandEndpoint {
  readonly kind: string;
  /** The command's path (argv[0]), never its arguments. */
  readonly command: string;
}

/** Who was acting and what it tried, for messages. */
export interface Attempt {
  /** The user the failure is about: the one logging in, or the one being changed. */
  readonly username: string;
  /** What was tried, as a verb phrase: "log in", "set the password of \"app\"". */
  readonly action: string;
}

export type TargetErrorCode = Extract<ErrorCode, `KT_TARGET_${string}`>;

/**
 * Builds a target error. `driverCode` (SQLSTATE, errno, Redis error word) and `reason` (a short
 * phrase such as "connection refused") must not be driver text that may carry a value.
 *
 * @example
 * ```ts
 * targetError('KT_TARGET_UNAVAILABLE', endpoint, { username: 'app', action: 'log in' }, 'ECONNREFUSED', 'connection refused');
 * ```
 */
export function targetError(code: TargetErrorCode, at: Endpoint | CommandEndpoint, attempt: Attempt, driverCode?: string | number, reason?: string): KeyturnError {
  const where = 'command' in at ? `${at.kind} target command ${at.command}` : `${at.kind} at ${at.host}:${at.port}`;
  const user = `"${attempt.username}"`;
  const tail = driverCode === undefined ? '' : ` (${String(driverCode)})`;
  let message: string;
  switch (code) {
    case 'KT_TARGET_AUTH_FAILED':
      message = `${where} refused the credential of ${user} trying to ${attempt.action}${reason ? `: ${reason}` : ''}${tail}`;
      break;
    case 'KT_TARGET_PERMISSION_DENIED':
      message = `${user} on ${where} lacks the right to ${attempt.action}${tail}`;
      break;
    case 'KT_TARGET_USER_MISSING':
      message = `user ${user} does not exist on ${where} (trying to ${attempt.action})`;
      break;
    case 'KT_TARGET_UNAVAILABLE':
      message = `${where} cannot be reached to ${attempt.action}: ${reason ?? 'connection failed'}${tail}`;
      break;
    case 'KT_TARGET_PASSWORD_REJECTED':
      message = `${where} refused the new password of ${user}${reason ? `: ${reason}` : ''}${tail}`;
      break;
    case 'KT_TARGET_RATE_LIMITED':
      message = `${where} rate-limited the request to ${attempt.action}${reason ? `: ${reason}` : ''}${tail}`;
      break;
    case 'KT_TARGET_KEY_LIMIT':
      message = `${where} refused another key for ${user}: it holds as many active keys as it allows${reason ? ` (${reason})` : ''}${tail}`;
      break;
    default:
      message = `${where} failed to ${attempt.action}${reason ? `: ${reason}` : ''}${tail}`;
  }
  const place = 'command' in at ? { command: at.command } : { host: at.host, port: at.port };
  const details: Record<string, unknown> = { target: at.kind, ...place, username: attempt.username };
  if (driverCode !== undefined) details.driverCode = driverCode;
  return new KeyturnError(code, message, { details });
}

const NETWORK_CODES: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'connection lost',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  PROTOCOL_CONNECTION_LOST: 'connection lost',
  PROTOCOL_SEQUENCE_TIMEOUT: 'timed out',
};

/**
 * A short reason when `e` is a network failure or a driver timeout, else null. Reads only the
 * error's code and checks its message against fixed words; it never returns driver text.
 *
 * @example
 * ```ts
 * networkReason(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })); // 'connection refused'
 * ```
 */
export function networkReason(e: unknown): string | null {
  if (!(e instanceof Error)) return null;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code in NETWORK_CODES) return NETWORK_CODES[code]!;
  if (/time(d)?\s?out/i.test(e.message)) return 'timed out';
  if (/connection (is )?(terminated|closed|ended|lost)|socket (hang up|closed)|connection refused/i.test(e.message)) return 'connection lost';
  if ((e as { name?: unknown }).name === 'AbortError') return 'aborted';
  return null;
}

/** The `code` property of a driver error, when it has one. */
export function errorCodeOf(e: unknown): string | undefined {
  const code = e !== null && typeof e === 'object' ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
