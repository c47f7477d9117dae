/**
 * Maps the http-api-key target's failures to target error codes: a provider's answer by its HTTP
 * status and the request it answers, a request without an answer by its network code. The body of
 * an answer is never read into an error (a provider may echo the request, key included): only the
 * status (and a Retry-After) ride along.
 *
 * | answer | code |
 * | --- | --- |
 * | `test`: a status of `refusedStatus` (401, 403) | KT_TARGET_AUTH_FAILED (the key) |
 * | 401 | KT_TARGET_AUTH_FAILED (the admin credential) |
 * | 403 | KT_TARGET_PERMISSION_DENIED (the admin credential) |
 * | 404 on `create` or `list` | KT_TARGET_USER_MISSING (the account) |
 * | 409 on `create` (the key does not work) | KT_TARGET_KEY_LIMIT |
 * | 400, 422 on `create` | KT_TARGET_PASSWORD_REJECTED |
 * | 429 | KT_TARGET_RATE_LIMITED |
 * | 408, 5xx, no answer, timeout | KT_TARGET_UNAVAILABLE |
 * | 3xx (never followed), anything else | KT_TARGET_FAILED |
 *
 * @example
 * ```ts
 * throw answerError(503, 'create', endpoint, { username: 'app', action: 'create a key for "app"' }, 'keyturn', null);
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import { errorCodeOf, networkReason, targetError, type Attempt, type Endpoint } from '../target-error.js';
import type { RequestName } from './template.js';

/** The provider's host and port, for messages (never the path: it may name the account or hold a query). */
export function endpointOf(baseUrl: string): Endpoint {
  const url = new URL(baseUrl);
  const port = url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port);
  return { kind: 'http-api-key', host: url.hostname.replace(/^\[|\]$/g, ''), port };
}

/**
 * The KeyturnError for an answer that is not a success. `loginUser` (the admin credential's user
 * name) is named for auth and permission failures of the admin's requests; `refused` are the
 * statuses that mean a refused key for `test`.
 */
export function answerError(status: number, request: RequestName, at: Endpoint, attempt: Attempt, loginUser: string, retryAfterMs: number | null, refused: readonly number[] = []): KeyturnError {
  if (request === 'test' && refused.includes(status)) return targetError('KT_TARGET_AUTH_FAILED', at, attempt, status, 'the key is refused');
  if (status === 429) {
    const e = targetError('KT_TARGET_RATE_LIMITED', at, attempt, status, retryAfterMs === null ? 'no Retry-After given' : `Retry-After ${Math.ceil(retryAfterMs / 1000)} s`);
    return retryAfterMs === null ? e : new KeyturnError(e.code, e.message, { details: { ...e.details, retryAfterMs } });
  }
  if (status >= 300 && status < 400) return targetError('KT_TARGET_FAILED', at, attempt, status, 'the provider redirected, which is not followed: set baseUrl to where it points');
  if (status === 408 || status >= 500) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, status, 'the provider is busy or failing');
  if (request !== 'test') {
    const login = { ...attempt, username: loginUser };
    if (status === 401) return targetError('KT_TARGET_AUTH_FAILED', at, login, status, 'the admin credential is refused');
    if (status === 403) return targetError('KT_TARGET_PERMISSION_DENIED', at, login, status);
    if (status === 404 && (request === 'create' || request === 'list')) return targetError('KT_TARGET_USER_MISSING', at, attempt, status);
    if (status === 409 && request === 'create') return targetError('KT_TARGET_KEY_LIMIT', at, attempt, status, 'or it already holds a key of that value');
    if ((status === 400 || status === 422) && request === 'create') return targetError('KT_TARGET_PASSWORD_REJECTED', at, attempt, status, 'the create request or the key was refused');
  }
  return targetError('KT_TARGET_FAILED', at, attempt, status);
}

/** TLS failures a wrong or missing caFile, or a certificate for another name, give. */
const TLS_CODES = /^(UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_)/;

/**
 * The KeyturnError for a request that got no answer: refused, reset, timed out, aborted, a TLS
 * handshake that failed. `aborted`: the rotation's own signal fired (its time limit).
 */
export function requestError(e: unknown, at: Endpoint, attempt: Attempt, aborted: boolean): KeyturnError {
  if (aborted) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, 'aborted (time limit reached)');
  // fetch wraps the socket's error: "fetch failed" with the errno in `cause`.
  let cause: unknown = e;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth += 1) {
    const code = errorCodeOf(cause);
    if (code !== undefined && TLS_CODES.test(code))
      return targetError('KT_TARGET_UNAVAILABLE', at, attempt, code, 'the TLS handshake failed (is the certificate trusted by caFile and valid for the host?)');
    const reason = cause.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' ? 'timed out' : networkReason(cause);
    if (reason) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, code, reason);
    cause = cause.cause;
  }
  return targetError('KT_TARGET_UNAVAILABLE', at, attempt, errorCodeOf(e), 'no answer from the provider');
}
