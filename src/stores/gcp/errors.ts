/**
 * Secret Manager errors as Keyturn errors: refused credentials or permissions are
 * KT_STORE_AUTH_FAILED, an unreachable or busy service (after the client's retries) is
 * KT_STORE_UNAVAILABLE, anything else unexpected is KT_STORE_FAILED with the gRPC code and the
 * service's message (which never holds a secret value: values travel only in payloads).
 *
 * @example
 * ```ts
 * try { await client.getSecret({ name }); } catch (e) { throw storeError(e, 'GetSecret', endpoint); }
 * ```
 */
import { KeyturnError, isKeyturnError } from '../../core/errors.js';

/** gRPC status codes (google.rpc.Code). */
export const Code = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

const NAMES = new Map<number, string>(Object.entries(Code).map(([k, v]) => [v, k]));

/** The gRPC code of an error the client threw (undefined when it has none). */
export function codeOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** True when `e` is a gRPC error with that code. */
export function hasCode(e: unknown, code: number): boolean {
  return codeOf(e) === code;
}

function detailsOf(e: unknown): string {
  const details = (e as { details?: unknown } | null)?.details;
  if (typeof details === 'string' && details !== '') return details;
  return e instanceof Error ? e.message : String(e);
}

/** The Keyturn error for a failed call `op` to `endpoint`. */
export function storeError(e: unknown, op: string, endpoint: string): KeyturnError {
  if (isKeyturnError(e)) return e;
  const code = codeOf(e);
  const name = code === undefined ? 'ERROR' : (NAMES.get(code) ?? `CODE_${code}`);
  const text = detailsOf(e).slice(0, 500);
  const details = { provider: 'gcp', operation: op, endpoint, grpcCode: name };
  if (code === Code.UNAUTHENTICATED || code === Code.PERMISSION_DENIED) {
    return new KeyturnError('KT_STORE_AUTH_FAILED', `GCP Secret Manager at ${endpoint} refused ${op}: ${name} ${text}`, { details });
  }
  if (code === undefined && /credential|private key|token/i.test(text)) {
    return new KeyturnError('KT_STORE_AUTH_FAILED', `GCP Secret Manager: no usable Application Default Credentials for ${op}: ${text}`, { details });
  }
  if (code === Code.UNAVAILABLE || code === Code.RESOURCE_EXHAUSTED || code === Code.DEADLINE_EXCEEDED || code === Code.INTERNAL || code === Code.CANCELLED) {
    return new KeyturnError('KT_STORE_UNAVAILABLE', `GCP Secret Manager at ${endpoint} did not complete ${op}: ${name} ${text}`, { details });
  }
  return new KeyturnError('KT_STORE_FAILED', `GCP Secret Manager at ${endpoint} answered ${op} with ${name}: ${text}`, { details });
}
