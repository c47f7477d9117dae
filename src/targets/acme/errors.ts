/**
 * Maps the acme target's failures to error codes. ACME answers problems as
 * `application/problem+json` (RFC 8555 section 6.7) with a type `urn:ietf:params:acme:error:<name>`:
 *
 * | failure | code |
 * | --- | --- |
 * | no answer, timeout, TLS failure, 5xx, `serverInternal` | KT_TARGET_UNAVAILABLE |
 * | `rateLimited`, 429 | KT_TARGET_RATE_LIMITED |
 * | `badPublicKey` on the account key | KT_ACME_ACCOUNT_KEY_INVALID |
 * | any other problem (`rejectedIdentifier`, `unauthorized`, `caa`, `dns`, `connection`, `incorrectResponse`, `badCSR`, ...) | KT_ACME_ORDER_FAILED |
 *
 * Messages carry the problem type, the CA's detail (one line, at most 300 characters: it names
 * identifiers, never keys) and the step; never a key, a JWS or a certificate.
 *
 * @example
 * ```ts
 * throw problemError({ type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'policy forbids' }, 400, at, 'create the order');
 * ```
 */
import { KeyturnError } from '../../core/errors.js';
import { errorCodeOf, networkReason, targetError, type Endpoint } from '../target-error.js';

/** An ACME problem document (the fields Keyturn reads). */
export interface AcmeProblem {
  readonly type?: unknown;
  readonly detail?: unknown;
  readonly subproblems?: unknown;
}

const PREFIX = 'urn:ietf:params:acme:error:';

/** The problem's short name (`rejectedIdentifier`), or its whole type when it is not an ACME one. */
export function problemName(problem: AcmeProblem | null | undefined): string {
  const type = typeof problem?.type === 'string' ? problem.type : 'unknown';
  return type.startsWith(PREFIX) ? type.slice(PREFIX.length) : type;
}

function clean(text: unknown): string {
  // eslint-disable-next-line no-control-regex
  return typeof text === 'string' ? text.replace(/[\u0000-\u001f\u007f]+/g, ' ').slice(0, 300) : '';
}

/** The problem's detail and those of its subproblems, one line. */
function detailOf(problem: AcmeProblem): string {
  const subs = Array.isArray(problem.subproblems) ? (problem.subproblems as AcmeProblem[]).map((s) => `${problemName(s)}${s.detail ? `: ${clean(s.detail)}` : ''}`).slice(0, 5) : [];
  return [clean(problem.detail), ...subs].filter((t) => t !== '').join('; ');
}

/** The KeyturnError for a problem the CA answered (or one found in a failed authorization). */
export function problemError(problem: AcmeProblem | null, status: number | undefined, at: Endpoint, action: string): KeyturnError {
  const name = problemName(problem);
  const detail = problem ? detailOf(problem) : '';
  const attempt = { username: 'acme account', action };
  if (name === 'rateLimited' || status === 429) return targetError('KT_TARGET_RATE_LIMITED', at, attempt, name, detail || undefined);
  if (name === 'serverInternal' || (status !== undefined && status >= 500)) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, status ?? name, `the CA failed (${name})`);
  const where = `acme CA at ${at.host}:${at.port}`;
  const details = { target: 'acme', host: at.host, port: at.port, problem: name, ...(status === undefined ? {} : { status }) };
  if (name === 'badPublicKey') return new KeyturnError('KT_ACME_ACCOUNT_KEY_INVALID', `${where} refused the account key trying to ${action} (badPublicKey)${detail ? `: ${detail}` : ''}`, { details });
  return new KeyturnError('KT_ACME_ORDER_FAILED', `${where} refused to ${action} (${name})${detail ? `: ${detail}` : ''}`, { details });
}

/** TLS failures a wrong or missing caBundle, or a certificate for another name, give. */
const TLS_CODES = /^(UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|CERT_|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_)/;

/** The KeyturnError for a request that got no answer. `aborted`: the rotation's signal fired. */
export function requestError(e: unknown, at: Endpoint, action: string, aborted: boolean): KeyturnError {
  const attempt = { username: 'acme account', action };
  if (aborted) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, undefined, 'aborted (time limit reached)');
  let cause: unknown = e;
  for (let depth = 0; depth < 4 && cause instanceof Error; depth += 1) {
    const code = errorCodeOf(cause);
    if (code !== undefined && TLS_CODES.test(code))
      return targetError('KT_TARGET_UNAVAILABLE', at, attempt, code, 'the TLS handshake failed (does caBundle hold the CA of the directory certificate?)');
    const reason = cause.name === 'TimeoutError' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' ? 'timed out' : networkReason(cause);
    if (reason) return targetError('KT_TARGET_UNAVAILABLE', at, attempt, code, reason);
    cause = cause.cause;
  }
  return targetError('KT_TARGET_UNAVAILABLE', at, attempt, errorCodeOf(e), 'no answer from the CA');
}
