/**
 * PKCS#11 return values: the name of the one a binding error carries (CKR_PIN_INCORRECT), and the
 * KeyturnError for it. Only the name is kept, never the binding's message or stack.
 *
 * @example
 * ```ts
 * ckrName(pkcs11, e); // 'CKR_PIN_INCORRECT'
 * throw pkcs11Error(pkcs11, e, place, 'log in');
 * ```
 */
import { isKeyturnError, type KeyturnError } from '../core/errors.js';
import type { Pkcs11Binding } from './binding.js';
import { codeOfCkr, hsmError, type HsmPlace } from './errors.js';

/** The CKR_ name of a binding error, or null when `e` is not a PKCS#11 return value. */
export function ckrName(pkcs11: Pkcs11Binding, e: unknown): string | null {
  if (!(e instanceof pkcs11.Pkcs11Error)) return null;
  const code = e.code;
  for (const [name, value] of Object.entries(pkcs11)) {
    if (name.startsWith('CKR_') && value === code) return name;
  }
  return `CKR_0x${code.toString(16).padStart(8, '0')}`;
}

/** The KeyturnError for `e` thrown while trying to `action` (a KeyturnError passes through; an error neither the token nor the binding raised is rethrown). */
export function pkcs11Error(pkcs11: Pkcs11Binding, e: unknown, place: HsmPlace, action: string): KeyturnError {
  if (isKeyturnError(e)) return e;
  const name = ckrName(pkcs11, e);
  if (name !== null) return hsmError(codeOfCkr(name), place, action, undefined, name);
  if (e instanceof pkcs11.NativeError) return hsmError('KT_TARGET_FAILED', place, action, 'the PKCS#11 binding failed');
  // Not the token's answer: a bug of ours, shown as it is (it never holds the PIN).
  throw e;
}
