/**
 * Turns what the AWS SDK throws into Keyturn errors: credentials refused or missing ->
 * KT_STORE_AUTH_FAILED; unreachable, throttled or 5xx after the SDK's retries ->
 * KT_STORE_UNAVAILABLE; anything else -> KT_STORE_FAILED with AWS's code and message (AWS's
 * messages name secrets and versions, never values).
 *
 * @example
 * ```ts
 * try { await client.send(cmd); } catch (e) { throw storeError(e, 'https://secretsmanager.eu-west-1.amazonaws.com'); }
 * ```
 */
import { KeyturnError, isKeyturnError } from '../../core/errors.js';

const AUTH = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'AccessDeniedException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'CredentialsProviderError',
]);
const BUSY = new Set(['ThrottlingException', 'TooManyRequestsException', 'RequestLimitExceeded', 'InternalServiceError', 'ServiceUnavailable', 'TimeoutError', 'RequestTimeout']);

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
}

/**
 * The AWS error code (`__type`) of a service error; undefined for anything else (network, credentials).
 *
 * @example
 * ```ts
 * if (awsCode(e) === 'ResourceNotFoundException') return null;
 * ```
 */
export function awsCode(e: unknown): string | undefined {
  const err = e as SdkError;
  return err !== null && typeof err === 'object' && err.$metadata?.httpStatusCode !== undefined ? err.name : undefined;
}

/**
 * The Keyturn error for a failed call to AWS at `endpoint`.
 *
 * @example
 * ```ts
 * storeError(throttled, endpoint).code; // 'KT_STORE_UNAVAILABLE'
 * ```
 */
export function storeError(e: unknown, endpoint: string): KeyturnError {
  if (isKeyturnError(e)) return e;
  const err = (e ?? {}) as SdkError;
  const name = err.name ?? 'Error';
  const status = err.$metadata?.httpStatusCode;
  const said = `${name}: ${(err.message ?? '').slice(0, 300)}`;
  if (AUTH.has(name) || status === 401 || status === 403) {
    return new KeyturnError('KT_STORE_AUTH_FAILED', `AWS Secrets Manager (${endpoint}) refused Keyturn's credentials: ${said}`, { details: { provider: 'aws', code: name } });
  }
  if (BUSY.has(name) || (status !== undefined && status >= 500)) {
    return new KeyturnError('KT_STORE_UNAVAILABLE', `AWS Secrets Manager (${endpoint}) kept answering busy through the SDK's retries: ${said}`, { details: { provider: 'aws', code: name } });
  }
  if (status === undefined) {
    const code = err.code ?? name;
    return new KeyturnError('KT_STORE_UNAVAILABLE', `AWS Secrets Manager (${endpoint}) cannot be reached: ${code}`, { details: { provider: 'aws', code } });
  }
  return new KeyturnError('KT_STORE_FAILED', `AWS Secrets Manager (${endpoint}) answered ${said}`, { details: { provider: 'aws', code: name, status } });
}
