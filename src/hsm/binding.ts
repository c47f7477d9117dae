/**
 * The PKCS#11 binding (pkcs11js, PeculiarVentures' N-API addon, an optional dependency built by
 * node-gyp at install), imported on first use: a command that never touches an HSM never loads
 * it, and the CLI bundle leaves it in node_modules (scripts/bundle-cli.js). A machine where it did
 * not build gets KT_TARGET_UNAVAILABLE when an HSM is used, and nothing else changes.
 *
 * @example
 * ```ts
 * const pkcs11 = await loadPkcs11(place);
 * const module = new pkcs11.PKCS11();
 * ```
 */
import type * as Pkcs11js from 'pkcs11js';
import { hsmError, type HsmPlace } from './errors.js';

export type Pkcs11Binding = typeof Pkcs11js;

let binding: Pkcs11Binding | undefined;

/** pkcs11js, or KT_TARGET_UNAVAILABLE naming the package when it is not installed or did not build. */
export async function loadPkcs11(place: HsmPlace, action: string): Promise<Pkcs11Binding> {
  if (binding) return binding;
  try {
    // CommonJS: the named exports may only be on `default`.
    const m = (await import('pkcs11js')) as Pkcs11Binding & { default?: Pkcs11Binding };
    return (binding = m.default ?? m);
  } catch {
    throw hsmError(
      'KT_TARGET_UNAVAILABLE',
      place,
      action,
      'the PKCS#11 binding (the npm package pkcs11js) is not installed or did not build: run `npm rebuild pkcs11js` (it needs python3, make and a C++ compiler)',
    );
  }
}
