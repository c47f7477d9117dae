/**
 * The errors of HSM work. Messages name the token, the module and what was tried, plus the
 * PKCS#11 return value's name (CKR_PIN_INCORRECT); never the PIN, never the binding's own text.
 *
 * | failure | code |
 * | --- | --- |
 * | module missing or not loadable, C_Initialize failing (SoftHSM: its config or token folder unreadable), no token of that label, device errors | KT_TARGET_UNAVAILABLE |
 * | the user PIN refused (CKR_PIN_INCORRECT, _LOCKED, _EXPIRED, _INVALID, _LEN_RANGE) | KT_TARGET_AUTH_FAILED |
 * | anything else the token answers | KT_TARGET_FAILED |
 *
 * @example
 * ```ts
 * throw hsmError('KT_TARGET_UNAVAILABLE', { module, token }, 'open a session', 'no token with this label');
 * ```
 */
import { KeyturnError } from '../core/errors.js';
import type { TargetErrorCode } from '../targets/target-error.js';

/** Which token of which PKCS#11 module, for messages. */
export interface HsmPlace {
  /** The PKCS#11 module's path. */
  readonly module: string;
  /** The token's label. */
  readonly token: string;
}

/** The PKCS#11 return values that mean the user PIN was refused. */
const AUTH = new Set(['CKR_PIN_INCORRECT', 'CKR_PIN_LOCKED', 'CKR_PIN_EXPIRED', 'CKR_PIN_INVALID', 'CKR_PIN_LEN_RANGE', 'CKR_USER_PIN_NOT_INITIALIZED']);

/** The PKCS#11 return values that mean the token or its module cannot serve now. */
const OUTAGE = new Set([
  'CKR_GENERAL_ERROR',
  'CKR_HOST_MEMORY',
  'CKR_DEVICE_ERROR',
  'CKR_DEVICE_MEMORY',
  'CKR_DEVICE_REMOVED',
  'CKR_TOKEN_NOT_PRESENT',
  'CKR_TOKEN_NOT_RECOGNIZED',
  'CKR_SLOT_ID_INVALID',
  'CKR_SESSION_CLOSED',
  'CKR_SESSION_COUNT',
  'CKR_SESSION_HANDLE_INVALID',
  'CKR_CRYPTOKI_NOT_INITIALIZED',
  'CKR_LIBRARY_LOAD_FAILED',
]);

/** The error code a PKCS#11 return value (by name) maps to. */
export function codeOfCkr(ckr: string): TargetErrorCode {
  if (AUTH.has(ckr)) return 'KT_TARGET_AUTH_FAILED';
  if (OUTAGE.has(ckr)) return 'KT_TARGET_UNAVAILABLE';
  return 'KT_TARGET_FAILED';
}

/**
 * Builds an HSM error. `reason` is a fixed phrase of ours; `ckr` the PKCS#11 return value's name.
 *
 * @example
 * ```ts
 * hsmError('KT_TARGET_AUTH_FAILED', place, 'log in', undefined, 'CKR_PIN_INCORRECT');
 * // hsm-key token "keys" (PKCS#11 module /usr/lib/softhsm/libsofthsm2.so) refused the user PIN trying to log in (CKR_PIN_INCORRECT)
 * ```
 */
export function hsmError(code: TargetErrorCode, place: HsmPlace, action: string, reason?: string, ckr?: string): KeyturnError {
  const where = `hsm-key token "${place.token}" (PKCS#11 module ${place.module})`;
  const tail = ckr === undefined ? '' : ` (${ckr})`;
  let message: string;
  switch (code) {
    case 'KT_TARGET_AUTH_FAILED':
      message = `${where} refused the user PIN trying to ${action}${reason ? `: ${reason}` : ''}${tail}`;
      break;
    case 'KT_TARGET_UNAVAILABLE':
      message = `${where} cannot be reached to ${action}: ${reason ?? 'the module or the token failed'}${tail}`;
      break;
    default:
      message = `${where} failed to ${action}${reason ? `: ${reason}` : ''}${tail}`;
  }
  const details: Record<string, unknown> = { target: 'hsm-key', module: place.module, token: place.token };
  if (ckr !== undefined) details.driverCode = ckr;
  return new KeyturnError(code, message, { details });
}
