/**
 * Maps ioredis errors to target error codes by the Redis error word (WRONGPASS, NOPERM, ...) or
 * network code. The rest of a reply error's text is never used, and the error object is never
 * passed on: ioredis attaches the command and its arguments (`>password` included) to it.
 *
 * @example
 * ```ts
 * try { await client.call('ACL', 'SETUSER', ...) } catch (e) { throw redisError(e, endpoint, { username: 'app', action: 'set the password of "app"' }, 'default') }
 * ```
 */
import type { KeyturnError } from '../../core/errors.js';
import { errorCodeOf, networkReason, targetError, type Attempt, type Endpoint, type TargetErrorCode } from '../target-error.js';

const BY_WORD: Readonly<Record<string, TargetErrorCode>> = {
  WRONGPASS: 'KT_TARGET_AUTH_FAILED',
  NOAUTH: 'KT_TARGET_AUTH_FAILED',
  NOPERM: 'KT_TARGET_PERMISSION_DENIED',
  LOADING: 'KT_TARGET_UNAVAILABLE',
  BUSY: 'KT_TARGET_UNAVAILABLE',
  MASTERDOWN: 'KT_TARGET_UNAVAILABLE',
  TRYAGAIN: 'KT_TARGET_UNAVAILABLE',
};

/** The first word of a Redis reply error (`WRONGPASS`, `ERR`, ...), or null for other errors. */
export function replyWord(e: unknown): string | null {
  if (!(e instanceof Error) || e.name !== 'ReplyError') return null;
  const m = /^([A-Z]+)\b/.exec(e.message);
  return m ? m[1]! : 'ERR';
}

/**
 * The KeyturnError for a driver error; `loginUser` is named for auth and permission failures.
 * `connecting`: an error that is not the server's answer means no session could be set up.
 */
export function redisError(e: unknown, at: Endpoint, attempt: Attempt, loginUser: string, connecting = false): KeyturnError {
  const word = replyWord(e);
  if (word) {
    const code = BY_WORD[word] ?? 'KT_TARGET_FAILED';
    if (code === 'KT_TARGET_AUTH_FAILED' || code === 'KT_TARGET_PERMISSION_DENIED') return targetError(code, at, { ...attempt, username: loginUser }, word);
    if (code === 'KT_TARGET_UNAVAILABLE') return targetError(code, at, attempt, word, 'the server is loading, busy or not ready');
    return targetError(code, at, attempt, word);
  }
  const reason = networkReason(e) ?? (connecting ? 'no usable answer from the server' : null);
  if (reason) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, errorCodeOf(e), reason);
  return targetError('KT_TARGET_FAILED', at, attempt, errorCodeOf(e) ?? (e instanceof Error ? e.name : undefined));
}
