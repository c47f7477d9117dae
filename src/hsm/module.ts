/**
 * Opening a PKCS#11 module: loaded and `C_Initialize`d on first use, shared by reference count
 * between the operations in flight in this process (a module is initialized once per process),
 * and finalized and unloaded when the last one releases it. Each operation so sees the token as it
 * is now (an HSM that went away fails the next operation at once, one that came back works again),
 * and nothing stays open between rotations.
 *
 * @example
 * ```ts
 * const opened = await openModule({ module: '/usr/lib/softhsm/libsofthsm2.so', token: 'keys' }, 'issue a key');
 * try { opened.lib.C_GetSlotList(true); } finally { opened.release(); }
 * ```
 */
import { existsSync, realpathSync } from 'node:fs';
import type { PKCS11 } from 'pkcs11js';
import { loadPkcs11, type Pkcs11Binding } from './binding.js';
import { hsmError, type HsmPlace } from './errors.js';
import { ckrName, pkcs11Error } from './ckr.js';

interface Opened {
  readonly lib: PKCS11;
  users: number;
}

/** Initialized modules by real path (two paths of one library are one module). */
const opened = new Map<string, Opened>();

export interface OpenModule {
  readonly pkcs11: Pkcs11Binding;
  readonly lib: PKCS11;
  /** Gives the module back; the last holder finalizes and unloads it. Idempotent. */
  release(): void;
}

/** Loads and initializes `place.module` (or shares it); KT_TARGET_UNAVAILABLE when it cannot. */
export async function openModule(place: HsmPlace, action: string): Promise<OpenModule> {
  const pkcs11 = await loadPkcs11(place, action);
  if (!existsSync(place.module)) throw hsmError('KT_TARGET_UNAVAILABLE', place, action, 'the module file does not exist');
  const key = realpathSync(place.module);
  let entry = opened.get(key);
  if (!entry) {
    const lib = new pkcs11.PKCS11();
    try {
      lib.load(key);
    } catch {
      throw hsmError('KT_TARGET_UNAVAILABLE', place, action, 'the module cannot be loaded (not a PKCS#11 library for this machine, or a library it needs is missing)');
    }
    try {
      lib.C_Initialize({ flags: pkcs11.CKF_OS_LOCKING_OK });
    } catch (e) {
      const name = ckrName(pkcs11, e);
      closeQuietly(lib);
      // SoftHSM answers CKR_GENERAL_ERROR when its config file or token folder cannot be read.
      throw name === 'CKR_GENERAL_ERROR'
        ? hsmError('KT_TARGET_UNAVAILABLE', place, action, 'the module failed to start (for SoftHSM: its config file or token folder cannot be read)', name)
        : pkcs11Error(pkcs11, e, place, action);
    }
    entry = { lib, users: 0 };
    opened.set(key, entry);
  }
  const held = entry;
  held.users += 1;
  let released = false;
  return {
    pkcs11,
    lib: held.lib,
    release() {
      if (released) return;
      released = true;
      held.users -= 1;
      if (held.users > 0) return;
      opened.delete(key);
      try {
        held.lib.C_Finalize();
      } catch {
        // Finalizing a module that failed under us: nothing more to do.
      }
      closeQuietly(held.lib);
    },
  };
}

function closeQuietly(lib: PKCS11): void {
  try {
    lib.close();
  } catch {
    // Unloading is best effort.
  }
}
