/**
 * Maps the rabbitmq target's failures to target error codes: amqplib's handshake errors by the
 * AMQP reply code at the head of their message, management API answers by HTTP status (and, for
 * a 401, whether the body's reason is RabbitMQ's fixed "Login failed"), socket errors by their
 * network code. Neither amqplib's message nor the API's body is passed on: only the reply code
 * or status rides along in `details`.
 *
 * @example
 * ```ts
 * if (!res.ok) throw apiError(res.status, await res.json(), endpoint, { username: 'app', action: 'set the password of "app"' }, 'admin');
 * ```
 */
import type { KeyturnError } from '../../core/errors.js';
import { errorCodeOf, networkReason, targetError, type Attempt, type Endpoint } from '../target-error.js';

/** AMQP reply codes a server closes the handshake with (403 ACCESS_REFUSED, 530 NOT_ALLOWED, ...). */
const HANDSHAKE_CLOSED = /^Handshake terminated by server: (\d{3})\b/;
/** The server closed the connection instead of opening the virtual host (amqplib keeps no reply code). */
const OPEN_REFUSED = /^Expected ConnectionOpenOk; got <ConnectionClose\b/;

/**
 * The KeyturnError for an amqplib error while logging in as `attempt.username`.
 * `connecting`: an error that is not the server's answer means no session could be set up.
 */
export function amqpError(e: unknown, at: Endpoint, attempt: Attempt, connecting = true): KeyturnError {
  const message = e instanceof Error ? e.message : '';
  const closed = HANDSHAKE_CLOSED.exec(message);
  if (closed) {
    const reply = Number(closed[1]);
    if (reply === 403) return targetError('KT_TARGET_AUTH_FAILED', at, attempt, reply);
    if (reply === 530) return targetError('KT_TARGET_PERMISSION_DENIED', at, attempt, reply);
    if (reply === 320) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, reply, 'the server is shutting down');
    return targetError('KT_TARGET_FAILED', at, attempt, reply);
  }
  // Access to the virtual host refused, the virtual host missing, or a connection limit reached.
  if (OPEN_REFUSED.test(message)) return targetError('KT_TARGET_PERMISSION_DENIED', at, attempt, 'connection.open');
  const reason = networkReason(e) ?? (connecting ? 'no usable answer from the server' : null);
  if (reason) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, errorCodeOf(e), reason);
  return targetError('KT_TARGET_FAILED', at, attempt, errorCodeOf(e) ?? (e instanceof Error ? e.name : undefined));
}

/** What a request was for, when its status has a meaning of its own there. */
export interface ApiExpectation {
  /** A 400 answer to this request is the server refusing the password (credential validator). */
  readonly settingPassword?: boolean;
}

/**
 * The KeyturnError for a management API answer that is not a success. `loginUser` (the one the
 * request authenticated as) is named for auth and permission failures.
 */
export function apiError(status: number, body: unknown, at: Endpoint, attempt: Attempt, loginUser: string, expect: ApiExpectation = {}): KeyturnError {
  const login = { ...attempt, username: loginUser };
  if (status === 401) {
    // RabbitMQ answers 401 both for a refused login ("Login failed") and for a user without the needed tag.
    const reason = body !== null && typeof body === 'object' ? (body as { reason?: unknown }).reason : undefined;
    return targetError(reason === 'Login failed' ? 'KT_TARGET_AUTH_FAILED' : 'KT_TARGET_PERMISSION_DENIED', at, login, status);
  }
  if (status === 403) return targetError('KT_TARGET_PERMISSION_DENIED', at, login, status);
  if (status === 400 && expect.settingPassword) return targetError('KT_TARGET_PASSWORD_REJECTED', at, attempt, status);
  if (status >= 300 && status < 400) return targetError('KT_TARGET_FAILED', at, attempt, status, 'the management API redirected, which is not followed: set managementUrl to where it points');
  if (status === 404) return targetError('KT_TARGET_FAILED', at, attempt, status, 'not found (a virtual host or user removed meanwhile, or managementUrl is not the management API)');
  if (status === 408 || status === 429 || status >= 500) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, status, 'the management API is busy or failing');
  return targetError('KT_TARGET_FAILED', at, attempt, status);
}

/**
 * The KeyturnError for a request that got no answer: refused, reset, timed out, aborted.
 * `aborted`: the rotation's own signal fired (its time limit), rather than a request timeout.
 */
export function requestError(e: unknown, at: Endpoint, attempt: Attempt, aborted: boolean): KeyturnError {
  if (aborted) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, 'aborted (time limit reached)');
  // fetch wraps the socket's error: "fetch failed" with the errno in `cause`.
  let cause: unknown = e;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth += 1) {
    const reason = cause.name === 'TimeoutError' ? 'timed out' : networkReason(cause);
    if (reason) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, errorCodeOf(cause), reason);
    cause = cause.cause;
  }
  return targetError('KT_TARGET_UNAVAILABLE', at, attempt, errorCodeOf(e), networkReason(e) ?? 'no answer from the management API');
}
