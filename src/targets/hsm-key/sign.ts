/**
 * Signing with an hsm-key, for an application (or a test) holding the secret's value and the
 * token's PIN: the token signs, the private key never leaves it. Signatures are in the JOSE form
 * of the key's `alg` (ES256: r‖s), ready for a JWS; {@link verifyHsmSignature} checks one with
 * the value's public key.
 *
 * @example
 * ```ts
 * const signature = await signWithHsmKey(config, pin, current.value, Buffer.from(signingInput));
 * verifyHsmSignature(current.value, Buffer.from(signingInput), signature); // true
 * ```
 */
import type { SecretValue } from '../../core/types.js';
import { KEY_SPECS } from '../../hsm/key-types.js';
import { withToken } from '../../hsm/session.js';
import { hsmKeyConfigSchema, type HsmKeyTargetConfigInput } from './config.js';
import { privateKeyOf } from './keys.js';
import { parseHsmKeyValue, publicKeyOf } from './value.js';

/**
 * Signs `data` with the key `value` names, in the token of `config` (the target's config).
 * Throws KT_TARGET_UNAVAILABLE (HSM outage), KT_TARGET_AUTH_FAILED (PIN refused) or
 * KT_TARGET_FAILED (the key is gone or not protected).
 */
export async function signWithHsmKey(config: HsmKeyTargetConfigInput, pin: string, value: SecretValue, data: Uint8Array, signal?: AbortSignal): Promise<Buffer> {
  const c = hsmKeyConfigSchema.parse(config);
  const key = parseHsmKeyValue(value);
  const place = { module: c.module, token: c.token };
  const action = `sign with the key "${key.label}"`;
  return withToken(place, pin, action, signal, async (t) => t.sign(key.keyType, privateKeyOf(t, key, place, action), Buffer.from(data)));
}

/** True when `signature` (JOSE form) of `data` verifies with the public key in `value`. */
export function verifyHsmSignature(value: SecretValue, data: Uint8Array, signature: Uint8Array): boolean {
  const key = parseHsmKeyValue(value);
  return KEY_SPECS[key.keyType].verify(publicKeyOf(key), Buffer.from(data), Buffer.from(signature));
}
