/**
 * A logged-in session on one token: the module opened (./module.ts), the token found by its
 * label, a read-write session opened and the user logged in with the PIN; then the caller's work
 * (find, generate, read, sign, destroy), then the session closed and the module given back, also
 * when the work fails. Every failure becomes a KeyturnError (./errors.ts) naming the token and
 * what was tried; the PIN is never in one.
 *
 * The PKCS#11 calls cannot be interrupted: the rotation's signal is checked before the session
 * opens and between the steps of {@link withToken}'s callers, not during a call.
 *
 * @example
 * ```ts
 * const found = await withToken(place, pin, 'find the key', ctx.signal, async (t) => t.findKeys('keyturn-v1'));
 * ```
 */
import type { Handle, PKCS11 } from 'pkcs11js';
import type { Pkcs11Binding } from './binding.js';
import { pkcs11Error } from './ckr.js';
import { hsmError, type HsmPlace } from './errors.js';
import { KEY_SPECS, type KeyType } from './key-types.js';
import { openModule } from './module.js';
import type { KeyObject } from 'node:crypto';

/** The objects of one label: its private and public keys (normally one of each). */
export interface LabelledKeys {
  readonly privateKeys: Handle[];
  readonly publicKeys: Handle[];
}

/** The protection attributes of a private key, read back from the token. */
export interface PrivateKeyFlags {
  readonly sensitive: boolean;
  readonly extractable: boolean;
  readonly alwaysSensitive: boolean;
  readonly neverExtractable: boolean;
  readonly sign: boolean;
  readonly token: boolean;
}

export interface TokenSession {
  readonly pkcs11: Pkcs11Binding;
  /** The private and public key objects labelled `label`. */
  findKeys(label: string): LabelledKeys;
  /** A new pair in the token: private part sensitive, never extractable, sign only. */
  generateKeyPair(keyType: KeyType, label: string, id: Buffer): Promise<{ privateKey: Handle; publicKey: Handle }>;
  /** The public key of a public key object. */
  publicKey(keyType: KeyType, handle: Handle): KeyObject;
  /** CKA_ID of an object. */
  id(handle: Handle): Buffer;
  privateKeyFlags(handle: Handle): PrivateKeyFlags;
  /** A signature of `data` with a private key object, in the JOSE form of the key type. */
  sign(keyType: KeyType, handle: Handle, data: Buffer): Promise<Buffer>;
  destroy(handle: Handle): void;
}

/** Largest signature of the key types (RSA-2048: 256 bytes), with room. */
const SIGNATURE_BYTES = 1024;

/**
 * Runs `work` in a logged-in session on the token `place.token`. `action` names the work in error
 * messages ("issue the key keyturn-v1").
 */
export async function withToken<T>(place: HsmPlace, pin: string, action: string, signal: AbortSignal | undefined, work: (session: TokenSession) => Promise<T>): Promise<T> {
  if (signal?.aborted) throw hsmError('KT_TARGET_UNAVAILABLE', place, action, 'aborted (time limit reached)');
  const opened = await openModule(place, action);
  const { pkcs11, lib } = opened;
  let session: Handle | null = null;
  try {
    const slot = findSlot(lib, place.token);
    if (slot === null) throw hsmError('KT_TARGET_UNAVAILABLE', place, action, 'no token with this label is present');
    session = lib.C_OpenSession(slot, pkcs11.CKF_SERIAL_SESSION | pkcs11.CKF_RW_SESSION);
    try {
      lib.C_Login(session, pkcs11.CKU_USER, pin);
    } catch (e) {
      // Another session of this process on the same token logged in already: the login is shared.
      if (!(e instanceof pkcs11.Pkcs11Error && e.code === pkcs11.CKR_USER_ALREADY_LOGGED_IN)) throw e;
    }
    return await work(tokenSession(pkcs11, lib, session, `${place.module}\0${place.token}`));
  } catch (e) {
    throw pkcs11Error(pkcs11, e, place, action);
  } finally {
    // Closing the last session logs the user out (a C_Logout would end the login other sessions share).
    if (session !== null) {
      try {
        lib.C_CloseSession(session);
      } catch {
        // A session the module lost already.
      }
    }
    opened.release();
  }
}

/** The slot whose token has this label (labels are blank-padded to 32 bytes), or null. */
function findSlot(lib: PKCS11, label: string): Handle | null {
  for (const slot of lib.C_GetSlotList(true)) {
    if (lib.C_GetTokenInfo(slot).label.trimEnd() === label) return slot;
  }
  return null;
}

/**
 * Key generations in flight, per module and token: each waits for the one before it. SoftHSM2
 * answered CKR_GENERAL_ERROR to about one in six runs of four concurrent C_GenerateKeyPair calls on
 * one token (test/hsm-key.test.ts); a key is made once per rotation, so one at a time costs nothing.
 */
const generating = new Map<string, Promise<unknown>>();

function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = generating.get(key) ?? Promise.resolve();
  const mine = before.then(work, work);
  const settled = mine.catch(() => undefined);
  generating.set(key, settled);
  void settled.then(() => {
    if (generating.get(key) === settled) generating.delete(key);
  });
  return mine;
}

function tokenSession(pkcs11: Pkcs11Binding, lib: PKCS11, session: Handle, tokenKey: string): TokenSession {
  const find = (template: { type: number; value: number | string }[]): Handle[] => {
    lib.C_FindObjectsInit(session, template);
    try {
      const found: Handle[] = [];
      for (;;) {
        const batch = lib.C_FindObjects(session, 16);
        if (batch.length === 0) return found;
        found.push(...batch);
      }
    } finally {
      lib.C_FindObjectsFinal(session);
    }
  };
  const bool = (value: Buffer): boolean => value.length > 0 && value[0] !== 0;
  return {
    pkcs11,
    findKeys: (label) => ({
      privateKeys: find([
        { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
        { type: pkcs11.CKA_LABEL, value: label },
      ]),
      publicKeys: find([
        { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY },
        { type: pkcs11.CKA_LABEL, value: label },
      ]),
    }),
    async generateKeyPair(keyType, label, id) {
      const { mechanism, publicAttributes } = KEY_SPECS[keyType].generate(pkcs11);
      const common = [
        { type: pkcs11.CKA_TOKEN, value: true },
        { type: pkcs11.CKA_LABEL, value: label },
        { type: pkcs11.CKA_ID, value: id },
      ];
      return oneAtATime(tokenKey, () =>
        lib.C_GenerateKeyPairAsync(
          session,
          mechanism,
          [{ type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PUBLIC_KEY }, ...common, { type: pkcs11.CKA_PRIVATE, value: false }, { type: pkcs11.CKA_VERIFY, value: true }, ...publicAttributes],
          [
            { type: pkcs11.CKA_CLASS, value: pkcs11.CKO_PRIVATE_KEY },
            ...common,
            { type: pkcs11.CKA_PRIVATE, value: true },
            { type: pkcs11.CKA_SENSITIVE, value: true },
            { type: pkcs11.CKA_EXTRACTABLE, value: false },
            { type: pkcs11.CKA_SIGN, value: true },
            { type: pkcs11.CKA_DECRYPT, value: false },
            { type: pkcs11.CKA_UNWRAP, value: false },
            { type: pkcs11.CKA_DERIVE, value: false },
          ],
        ),
      );
    },
    publicKey(keyType, handle) {
      const spec = KEY_SPECS[keyType];
      const attributes = lib.C_GetAttributeValue(
        session,
        handle,
        spec.publicAttributeTypes(pkcs11).map((type) => ({ type })),
      );
      return spec.publicKey(attributes);
    },
    id: (handle) => lib.C_GetAttributeValue(session, handle, [{ type: pkcs11.CKA_ID }])[0]!.value,
    privateKeyFlags(handle) {
      const types = [pkcs11.CKA_SENSITIVE, pkcs11.CKA_EXTRACTABLE, pkcs11.CKA_ALWAYS_SENSITIVE, pkcs11.CKA_NEVER_EXTRACTABLE, pkcs11.CKA_SIGN, pkcs11.CKA_TOKEN];
      const [sensitive, extractable, alwaysSensitive, neverExtractable, sign, token] = lib
        .C_GetAttributeValue(
          session,
          handle,
          types.map((type) => ({ type })),
        )
        .map((a) => bool(a.value));
      return { sensitive: sensitive!, extractable: extractable!, alwaysSensitive: alwaysSensitive!, neverExtractable: neverExtractable!, sign: sign!, token: token! };
    },
    async sign(keyType, handle, data) {
      const spec = KEY_SPECS[keyType];
      lib.C_SignInit(session, spec.signMechanism(pkcs11), handle);
      return lib.C_SignAsync(session, spec.toBeSigned(data), Buffer.alloc(SIGNATURE_BYTES));
    },
    destroy: (handle) => lib.C_DestroyObject(session, handle),
  };
}
