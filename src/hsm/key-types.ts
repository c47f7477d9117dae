/**
 * The key types an HSM key can be, and per type: the PKCS#11 mechanism and template that make
 * the pair, the public key read back from the token's attributes, the signing mechanism, and the
 * check of a signature with node:crypto. Signatures are in the JOSE form (ES256: r‖s, 64 bytes),
 * so a JWS made with {@link KeySpec.sign} verifies with the value's `publicJwk`.
 *
 * | keyType | alg | generation | signing |
 * | --- | --- | --- | --- |
 * | `ec-p256` | ES256 | CKM_EC_KEY_PAIR_GEN, prime256v1 | CKM_ECDSA over SHA-256 (hashed here) |
 * | `rsa-2048` | RS256 | CKM_RSA_PKCS_KEY_PAIR_GEN, 2048 bits, e = 65537 | CKM_SHA256_RSA_PKCS |
 * | `ed25519` | EdDSA | CKM_EC_EDWARDS_KEY_PAIR_GEN, edwards25519 | CKM_EDDSA |
 *
 * @example
 * ```ts
 * const spec = KEY_SPECS['ec-p256'];
 * spec.verify(publicKey, data, signature); // true
 * ```
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import type { Attribute, AttributeResult, Mechanism } from 'pkcs11js';
import type { Pkcs11Binding } from './binding.js';

export const KEY_TYPES = ['ec-p256', 'rsa-2048', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
export type SigningAlg = 'ES256' | 'RS256' | 'EdDSA';

/** PKCS#11 3.0 values the binding's constants lack. */
const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055;
const CKM_EDDSA = 0x1057;

/** DER of the curves' object identifiers (CKA_EC_PARAMS). */
const P256_OID = Buffer.from('06082a8648ce3d030107', 'hex');
const ED25519_OID = Buffer.from('06032b6570', 'hex');

export interface KeySpec {
  readonly alg: SigningAlg;
  /** The generation mechanism and the type's own attributes of the public template. */
  generate(pkcs11: Pkcs11Binding): { mechanism: Mechanism; publicAttributes: Attribute[] };
  /** The public key's attributes {@link publicKey} reads. */
  publicAttributeTypes(pkcs11: Pkcs11Binding): number[];
  /** The public key from those attributes (same order). */
  publicKey(attributes: AttributeResult[]): KeyObject;
  signMechanism(pkcs11: Pkcs11Binding): Mechanism;
  /** What the token signs for `data` (ECDSA: its SHA-256; the others hash or take it themselves). */
  toBeSigned(data: Buffer): Buffer;
  verify(publicKey: KeyObject, data: Buffer, signature: Buffer): boolean;
}

/**
 * The content of a CKA_EC_POINT: a DER OCTET STRING around the point (the standard's form), or
 * the bare point some modules give. `rawLength` (65 for P-256 uncompressed, 32 for Ed25519)
 * tells them apart.
 */
export function ecPoint(value: Buffer, rawLength: number): Buffer {
  if (value.length === rawLength) return value;
  if (value[0] !== 0x04 || value.length < 2) throw new Error('CKA_EC_POINT is not an OCTET STRING');
  let length = value[1]!;
  let start = 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + value[2 + i]!;
    start = 2 + bytes;
  }
  const point = value.subarray(start, start + length);
  if (point.length !== rawLength || start + length !== value.length) throw new Error('CKA_EC_POINT has an unexpected length');
  return point;
}

/** An unsigned big-endian integer as base64url without leading zero bytes (JWK `n`, `e`). */
function b64uint(bytes: Buffer): string {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  return bytes.subarray(i).toString('base64url');
}

const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

export const KEY_SPECS: Readonly<Record<KeyType, KeySpec>> = {
  'ec-p256': {
    alg: 'ES256',
    generate: (p) => ({ mechanism: { mechanism: p.CKM_EC_KEY_PAIR_GEN }, publicAttributes: [{ type: p.CKA_EC_PARAMS, value: P256_OID }] }),
    publicAttributeTypes: (p) => [p.CKA_EC_POINT],
    publicKey: ([point]) => {
      const q = ecPoint(point!.value, 65);
      if (q[0] !== 0x04) throw new Error('CKA_EC_POINT is not an uncompressed point');
      return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: q.subarray(1, 33).toString('base64url'), y: q.subarray(33).toString('base64url') }, format: 'jwk' });
    },
    signMechanism: (p) => ({ mechanism: p.CKM_ECDSA }),
    toBeSigned: sha256,
    verify: (key, data, signature) => verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature),
  },
  'rsa-2048': {
    alg: 'RS256',
    generate: (p) => ({
      mechanism: { mechanism: p.CKM_RSA_PKCS_KEY_PAIR_GEN },
      publicAttributes: [
        { type: p.CKA_MODULUS_BITS, value: 2048 },
        { type: p.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
    }),
    publicAttributeTypes: (p) => [p.CKA_MODULUS, p.CKA_PUBLIC_EXPONENT],
    publicKey: ([n, e]) => createPublicKey({ key: { kty: 'RSA', n: b64uint(n!.value), e: b64uint(e!.value) }, format: 'jwk' }),
    signMechanism: (p) => ({ mechanism: p.CKM_SHA256_RSA_PKCS }),
    toBeSigned: (data) => data,
    verify: (key, data, signature) => verify('sha256', data, key, signature),
  },
  ed25519: {
    alg: 'EdDSA',
    generate: (p) => ({ mechanism: { mechanism: CKM_EC_EDWARDS_KEY_PAIR_GEN }, publicAttributes: [{ type: p.CKA_EC_PARAMS, value: ED25519_OID }] }),
    publicAttributeTypes: (p) => [p.CKA_EC_POINT],
    publicKey: ([point]) => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: ecPoint(point!.value, 32).toString('base64url') }, format: 'jwk' }),
    signMechanism: () => ({ mechanism: CKM_EDDSA }),
    toBeSigned: (data) => data,
    verify: (key, data, signature) => verify(null, data, key, signature),
  },
};
