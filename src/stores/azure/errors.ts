/**
 * Key Vault and credential failures as Keyturn errors: unreachable, 5xx or throttled after the
 * SDK's retries is KT_STORE_UNAVAILABLE; 401/403 and a credential chain that found no identity
 * is KT_STORE_AUTH_FAILED; anything else is KT_STORE_FAILED. Messages carry the service's code
 * and message (Key Vault never echoes a value) and never a request body.
 *
 * @example
 * ```ts
 * try { await client.getSecret(name); } catch (e) { throw azureError(e, 'read', path); }
 * ```
 */
import { KeyturnError } from '../../core/errors.js';

interface RestLike {
  name?: string;
  message?: string;
  code?: string;
  statusCode?: number;
}

/**
 * The HTTP status of an SDK error, when it has one.
 *
 * @example
 * ```ts
 * if (statusOf(e) === 404) return null;
 * ```
 */
export function statusOf(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null ? (e as RestLike).statusCode : undefined;
}

const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError']);

/**
 * Maps what the SDK threw while doing `what` on `path` (null: the vault as a whole) to a KeyturnError.
 *
 * @example
 * ```ts
 * azureError(restError429, 'write a version', 'prod/db').code; // 'KT_STORE_UNAVAILABLE'
 * ```
 */
export function azureError(e: unknown, what: string, path: string | null): KeyturnError {
  if (e instanceof KeyturnError) return e;
  const err = (typeof e === 'object' && e !== null ? e : {}) as RestLike;
  const status = err.statusCode;
  const where = path === null ? 'Azure Key Vault' : `Azure Key Vault (${path})`;
  const said = `${err.code ?? err.name ?? 'error'}${status === undefined ? '' : ` (HTTP ${status})`}: ${oneLine(err.message ?? String(e))}`;
  const details = { provider: 'azure', operation: what, ...(status === undefined ? {} : { status }), ...(err.code === undefined ? {} : { providerCode: err.code }) };
  if (status === 401 || status === 403 || CREDENTIAL_ERRORS.has(err.name ?? '')) {
    return new KeyturnError('KT_STORE_AUTH_FAILED', `${where} refused to ${what}: ${said}`, { details, cause: e });
  }
  if ((status === undefined && err.name === 'RestError') || status === 408 || status === 429 || (status !== undefined && status >= 500)) {
    return new KeyturnError('KT_STORE_UNAVAILABLE', `${where} could not ${what}: ${said}`, { details, cause: e });
  }
  return new KeyturnError('KT_STORE_FAILED', `${where} failed to ${what}: ${said}`, { details, cause: e });
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}...` : line;
}
