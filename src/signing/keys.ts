/**
 * A JWT signing key as a secret value: `{ kid, alg, privateJwk, publicJwk }`. `kid` is the RFC 7638
 * thumbprint (SHA-256) of the public key; `publicJwk` carries `kid`, `alg` and `use: 'sig'` and is
 * what a JWKS publishes; `privateJwk` (same `kid` and `alg`) is what the signer imports. Made by
 * the signing-key target (src/targets/signing-key/), read by the JWKS (./jwks.ts).
 *
 * {@link publicJwkOf} rebuilds the public key from the public members of its key type only
 * (OKP: crv, x; EC: crv, x, y; RSA: n, e), so nothing private can reach a JWKS whatever the
 * stored value holds.
 *
 * @example
 * ```ts
 * const value = await generateSigningKey('EdDSA');
 * await verifySigningKey(value, 'EdDSA');      // throws KT_SIGNING_KEY_INVALID when not usable
 * publicJwkOf(value);                           // { kty: 'OKP', crv: 'Ed25519', x, kid, alg: 'EdDSA', use: 'sig' }
 * const key = await importJWK(value.privateJwk, value.alg); // sign with it (jose's SignJWT)
 * ```
 */
import { calculateJwkThumbprint, CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import { z } from 'zod';
import { KeyturnError } from '../core/errors.js';
import type { JsonValue, SecretValue } from '../core/types.js';

export const SIGNING_ALGS = ['EdDSA', 'ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

/** A public JWK as a JWKS publishes it. */
export interface PublicJwk {
  readonly kty: 'OKP' | 'EC' | 'RSA';
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly use: 'sig';
  readonly [member: string]: string;
}

/** A signing key's stored value. */
export interface SigningKeyValue {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly privateJwk: Record<string, string>;
  readonly publicJwk: PublicJwk;
}

/** The key type and the public members of each algorithm's keys. */
const SHAPE: Record<SigningAlg, { kty: PublicJwk['kty']; crv?: string; members: readonly string[] }> = {
  EdDSA: { kty: 'OKP', crv: 'Ed25519', members: ['crv', 'x'] },
  ES256: { kty: 'EC', crv: 'P-256', members: ['crv', 'x', 'y'] },
  RS256: { kty: 'RSA', members: ['n', 'e'] },
};

const RSA_MODULUS_BITS = 2048;

const jwkSchema = z.record(z.string(), z.string());
const valueSchema = z.object({ kid: z.string().min(1), alg: z.enum(SIGNING_ALGS), privateJwk: jwkSchema, publicJwk: jwkSchema });

/** The value's fields when it has the shape of a signing key (nothing more is checked), else null. */
export function parseSigningKey(value: SecretValue): SigningKeyValue | null {
  if (typeof value === 'string') return null;
  const r = valueSchema.safeParse(value);
  return r.success ? (r.data as SigningKeyValue) : null;
}

/**
 * The public JWK to publish, rebuilt from the public members of the key's type, or null when the
 * value is not shaped like a signing key (or its public key lacks a member).
 */
export function publicJwkOf(value: SecretValue): PublicJwk | null {
  const key = parseSigningKey(value);
  return key ? publicJwkFrom(key.publicJwk, key.alg, key.kid) : null;
}

/**
 * The public JWK of `alg` named `kid`, rebuilt from the public members of `jwk` only (whatever
 * else it holds), or null when `alg` is not one of {@link SIGNING_ALGS}, or `jwk` is not a key of
 * its type (or lacks a member). Used for every kind of key a JWKS publishes (./publishers.ts).
 */
export function publicJwkFrom(jwk: { readonly [member: string]: unknown }, alg: string, kid: string): PublicJwk | null {
  if (!(SIGNING_ALGS as readonly string[]).includes(alg) || kid === '') return null;
  const shape = SHAPE[alg as SigningAlg];
  if (jwk.kty !== shape.kty) return null;
  const out: Record<string, string> = { kty: shape.kty };
  for (const m of shape.members) {
    const v = jwk[m];
    if (typeof v !== 'string' || v === '') return null;
    out[m] = v;
  }
  if (shape.crv !== undefined && out.crv !== shape.crv) return null;
  return { ...out, kid, alg, use: 'sig' } as PublicJwk;
}

/** Makes a new key pair of `alg` (RSA: 2048 bits), named by its thumbprint. */
export async function generateSigningKey(alg: SigningAlg): Promise<SigningKeyValue & { [field: string]: JsonValue }> {
  const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: RSA_MODULUS_BITS } : {}) });
  const pub = await exportJWK(pair.publicKey);
  const priv = await exportJWK(pair.privateKey);
  const kid = await calculateJwkThumbprint(pub, 'sha256');
  const strings = (jwk: JWK): Record<string, string> => Object.fromEntries(Object.entries(jwk).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return {
    kid,
    alg,
    privateJwk: { ...strings(priv), kid, alg },
    publicJwk: { ...strings(pub), kid, alg, use: 'sig' } as PublicJwk,
  };
}

function invalid(reason: string): KeyturnError {
  return new KeyturnError('KT_SIGNING_KEY_INVALID', `the signing key is not usable: ${reason}`);
}

/**
 * Checks that `value` is a usable signing key of `alg`: its shape, its kid (the thumbprint of its
 * public key), and that its private key signs what its public key verifies. Throws
 * KT_SIGNING_KEY_INVALID naming what is wrong (never a key member).
 */
export async function verifySigningKey(value: SecretValue, alg: SigningAlg): Promise<SigningKeyValue> {
  const key = parseSigningKey(value);
  if (!key) throw invalid('the value is not { kid, alg, privateJwk, publicJwk }');
  if (key.alg !== alg) throw invalid(`its algorithm is ${key.alg}, the target makes ${alg} keys`);
  const pub = publicJwkOf(key as unknown as SecretValue);
  if (!pub) throw invalid(`its public key is not a ${SHAPE[alg].kty} key of ${alg}`);
  if ((await calculateJwkThumbprint(pub, 'sha256')) !== key.kid) throw invalid('its kid is not the thumbprint of its public key');
  const proof = new TextEncoder().encode(`keyturn signing-key check ${key.kid}`);
  try {
    const signer = await importJWK({ ...key.privateJwk, alg }, alg);
    const verifier = await importJWK(pub, alg);
    const jws = await new CompactSign(proof).setProtectedHeader({ alg, kid: key.kid }).sign(signer);
    await compactVerify(jws, verifier);
  } catch {
    // jose's messages may describe the key material: only the fact reaches the error.
    throw invalid('its private key does not sign for its public key');
  }
  return key;
}
