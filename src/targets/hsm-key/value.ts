/**
 * The value an hsm-key version holds: where the key lives and its public half, never private
 * material (the private key stays in the token, sensitive and not extractable).
 *
 * `{ label, id, keyType, alg, publicKey, publicJwk, kid, module, token }`: `label` and `id` (hex)
 * are the key objects' CKA_LABEL and CKA_ID, `publicKey` the SPKI PEM, `publicJwk` the public JWK
 * with `kid` (its RFC 7638 SHA-256 thumbprint), `alg` and `use: 'sig'`.
 *
 * @example
 * ```ts
 * const value = hsmKeyValue({ label: 'keyturn-v1', id, keyType: 'ec-p256', publicKey, place });
 * parseHsmKeyValue(value).kid === value.kid; // true
 * ```
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { KeyturnError } from '../../core/errors.js';
import type { JsonValue, SecretValue } from '../../core/types.js';
import type { HsmPlace } from '../../hsm/errors.js';
import { KEY_SPECS, KEY_TYPES, type KeyType, type SigningAlg } from '../../hsm/key-types.js';

export interface HsmKeyValue {
  readonly label: string;
  /** CKA_ID, hex. */
  readonly id: string;
  readonly keyType: KeyType;
  readonly alg: SigningAlg;
  /** SPKI, PEM. */
  readonly publicKey: string;
  readonly publicJwk: { [member: string]: string };
  readonly kid: string;
  readonly module: string;
  readonly token: string;
}

/** The members RFC 7638 hashes, per key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Readonly<Record<string, readonly string[]>> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] };

/**
 * The RFC 7638 JWK thumbprint (SHA-256, base64url) of a public JWK.
 *
 * @example
 * ```ts
 * jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }); // 'kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k'
 * ```
 */
export function jwkThumbprint(jwk: { readonly [member: string]: unknown }): string {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (!members) throw new Error(`no thumbprint for key type ${String(jwk.kty)}`);
  const canonical = `{${members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',')}}`;
  return createHash('sha256').update(canonical).digest('base64url');
}

/** Makes the value of a key found or generated in the token. */
export function hsmKeyValue(key: { label: string; id: Buffer; keyType: KeyType; publicKey: KeyObject; place: HsmPlace }): HsmKeyValue {
  const alg = KEY_SPECS[key.keyType].alg;
  const jwk = key.publicKey.export({ format: 'jwk' }) as { [member: string]: string };
  const kid = jwkThumbprint(jwk);
  return {
    label: key.label,
    id: key.id.toString('hex'),
    keyType: key.keyType,
    alg,
    publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicJwk: { ...jwk, kid, alg, use: 'sig' },
    kid,
    module: key.place.module,
    token: key.place.token,
  };
}

const valueSchema = z.object({
  label: z.string().min(1),
  id: z.string().regex(/^([0-9a-f]{2})+$/),
  keyType: z.enum(KEY_TYPES),
  alg: z.string(),
  publicKey: z.string().startsWith('-----BEGIN PUBLIC KEY-----'),
  publicJwk: z.record(z.string(), z.string()),
  kid: z.string(),
  module: z.string(),
  token: z.string(),
});

/** Reads a stored value back; KT_TARGET_FAILED (naming only the fields) when it is not an hsm-key value. */
export function parseHsmKeyValue(value: SecretValue): HsmKeyValue {
  const parsed = valueSchema.safeParse(value);
  if (!parsed.success) {
    const fields = [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? '(value)')))].join(', ');
    throw new KeyturnError('KT_TARGET_FAILED', `the value is not an hsm-key value (fields: ${fields})`, { details: { target: 'hsm-key' } });
  }
  return parsed.data as HsmKeyValue;
}

/** The value as a secret value (JSON fields). */
export function toSecretValue(value: HsmKeyValue): SecretValue {
  return { ...value } as { [field: string]: JsonValue };
}

/** The value's public key as a node:crypto key. */
export function publicKeyOf(value: HsmKeyValue): KeyObject {
  return createPublicKey(value.publicKey);
}
