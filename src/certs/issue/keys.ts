/**
 * Key pairs for certificates: a new one per certificate, of a key type (`ec-p256`, the default;
 * `rsa-2048`; `ed25519`), made with Node's Web Crypto; the private key leaves as PEM PKCS#8, and
 * an issuer's PEM key comes back as a Web Crypto signing key with the algorithm to sign with.
 *
 * @example
 * ```ts
 * const pair = await generateKeyPair('ec-p256');
 * const signer = await importSigningKey(pair.pem); // { key, algorithm: { name: 'ECDSA', hash: 'SHA-256' } }
 * ```
 */
import { createPrivateKey, webcrypto } from 'node:crypto';
import { KeyturnError } from '../../core/errors.js';

const { subtle } = webcrypto;

export const KEY_TYPES = ['ec-p256', 'rsa-2048', 'ed25519'] as const;
export type KeyType = (typeof KEY_TYPES)[number];
export const DEFAULT_KEY_TYPE: KeyType = 'ec-p256';

type WebAlgorithm = webcrypto.RsaHashedImportParams | webcrypto.EcKeyImportParams | webcrypto.Algorithm;

/** The Web Crypto algorithm of a key type (for generating and importing), and how it signs. */
const ALGORITHMS: Record<KeyType, { key: WebAlgorithm; sign: webcrypto.Algorithm & { hash?: string } }> = {
  'ec-p256': { key: { name: 'ECDSA', namedCurve: 'P-256' }, sign: { name: 'ECDSA', hash: 'SHA-256' } },
  'rsa-2048': { key: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sign: { name: 'RSASSA-PKCS1-v1_5' } },
  ed25519: { key: { name: 'Ed25519' }, sign: { name: 'Ed25519' } },
};

export interface GeneratedKeyPair {
  readonly keyType: KeyType;
  readonly keys: webcrypto.CryptoKeyPair;
  /** The private key, PEM PKCS#8. */
  readonly pem: string;
}

/** PEM text of DER bytes, 64 characters a line. */
export function toPem(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/**
 * A new key pair of `keyType` (extractable, so its PKCS#8 PEM can be stored).
 *
 * @example
 * ```ts
 * (await generateKeyPair('rsa-2048')).pem.startsWith('-----BEGIN PRIVATE KEY-----'); // true
 * ```
 */
export async function generateKeyPair(keyType: KeyType): Promise<GeneratedKeyPair> {
  const alg = ALGORITHMS[keyType];
  const params = keyType === 'rsa-2048' ? { ...alg.key, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) } : alg.key;
  const keys = (await subtle.generateKey(params as webcrypto.RsaHashedKeyGenParams, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const pem = toPem('PRIVATE KEY', await subtle.exportKey('pkcs8', keys.privateKey));
  return { keyType, keys, pem };
}

/**
 * The key type of a PEM private key, or null when it is none of {@link KEY_TYPES} (an RSA key of
 * another size counts as rsa-2048's family: any RSA key signs with SHA-256).
 */
export function keyTypeOf(pem: string): KeyType | null {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType === 'ec') return key.asymmetricKeyDetails?.namedCurve === 'prime256v1' ? 'ec-p256' : null;
  if (key.asymmetricKeyType === 'rsa') return 'rsa-2048';
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  return null;
}

/**
 * An issuer's PEM PKCS#8 key as a Web Crypto signing key, with the algorithm it signs with;
 * KT_CA_INVALID when its type is not one Keyturn signs with.
 *
 * @example
 * ```ts
 * const { key, algorithm } = await importSigningKey(ca.key);
 * ```
 */
export async function importSigningKey(pem: string): Promise<{ key: webcrypto.CryptoKey; algorithm: webcrypto.Algorithm & { hash?: string }; keyType: KeyType }> {
  const keyType = keyTypeOf(pem);
  if (keyType === null) throw new KeyturnError('KT_CA_INVALID', `the CA key is of a type Keyturn does not sign with: it signs with ${KEY_TYPES.join(', ')} keys`);
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  const key = await subtle.importKey('pkcs8', der, ALGORITHMS[keyType].key as webcrypto.RsaHashedImportParams, false, ['sign']);
  return { key, algorithm: ALGORITHMS[keyType].sign, keyType };
}
