/**
 * Ed25519 signer and verifier keys in the C2SP signed-note encoding (https://c2sp.org/signed-note).
 *
 * key ID        = first 4 bytes, big-endian, of SHA-256(name || 0x0A || 0x01 || 32-byte public key)
 * verifier key  = <name>+<8 hex digits key ID>+<base64(0x01 || public key)>
 * signer key    = PRIVATE+KEY+<name>+<8 hex digits key ID>+<base64(0x01 || 32-byte seed)>
 *
 * Parsing is strict: canonical base64 only, the algorithm byte must be 0x01 (Ed25519), and the
 * key ID written in the key must match the one computed from the name and public key, so a key
 * with any character changed is refused with KT_AUDIT_KEY_INVALID. Signer keys are secrets:
 * they never appear in an error message.
 *
 * @example
 * ```ts
 * const { signerKey, verifierKey } = generateNoteKey('audit.example/keyturn');
 * const signer = parseSignerKey(signerKey);
 * const verifier = parseVerifierKey(verifierKey);
 * verifier.verify(msg, signer.sign(msg)); // true
 * ```
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { KeyturnError } from '../core/errors.js';
import { decodeBase64Strict } from './base64.js';
import { isWellFormedText } from './text.js';

/** Signature type byte for Ed25519 in signed notes. */
export const ALG_ED25519 = 0x01;
const ED25519_KEY_BYTES = 32;
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Checks a note key name: non-empty, no Unicode whitespace, no "+". */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && isWellFormedText(name) && !/[\s+]/u.test(name);
}

/**
 * The 32-bit key ID of an Ed25519 key under a name.
 *
 * @example
 * ```ts
 * noteKeyId('PeterNeumann', publicKey).toString(16); // 'c74f20a3' for the golang.org/x/mod test key
 * ```
 */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(name, 'utf8')
    .update(Buffer.from([0x0a, ALG_ED25519]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

/** Verifies note signatures made by one named Ed25519 key. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Buffer;
  /** The encoded verifier key (safe to publish). */
  readonly verifierKey: string;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** Signs notes with one named Ed25519 key. Holds a secret: keep it out of logs. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The encoded verifier key matching this signer (safe to publish). */
  readonly verifierKey: string;
  sign(message: Uint8Array): Buffer;
}

/**
 * A fresh Ed25519 key pair for a name, encoded as signer key and verifier key.
 *
 * @example
 * ```ts
 * const { signerKey, verifierKey } = generateNoteKey('audit.example/keyturn');
 * ```
 */
export function generateNoteKey(name: string): { signerKey: string; verifierKey: string } {
  assertName(name);
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
  const signer = signerFromSeed(name, seed);
  return { signerKey: encodeSignerKey(name, signer.keyId, seed), verifierKey: signer.verifierKey };
}

/**
 * The verifier key for a name and a raw 32-byte Ed25519 public key.
 *
 * @example
 * ```ts
 * encodeVerifierKey('PeterNeumann', pub); // 'PeterNeumann+c74f20a3+ARpc2Q...'
 * ```
 */
export function encodeVerifierKey(name: string, publicKey: Uint8Array): string {
  assertName(name);
  if (publicKey.length !== ED25519_KEY_BYTES) throw new KeyturnError('KT_AUDIT_KEY_INVALID', `an Ed25519 public key is ${ED25519_KEY_BYTES} bytes, not ${publicKey.length}`);
  const id = noteKeyId(name, publicKey);
  return `${name}+${hex8(id)}+${Buffer.concat([Buffer.from([ALG_ED25519]), publicKey]).toString('base64')}`;
}

/**
 * Parses a verifier key `<name>+<keyid>+<base64(0x01 || pubkey)>`.
 *
 * @example
 * ```ts
 * parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW').name; // 'PeterNeumann'
 * ```
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const parts = splitKey(vkey, 3);
  if (parts === null) throw new KeyturnError('KT_AUDIT_KEY_INVALID', 'a verifier key is NAME+KEYID+BASE64');
  const [name, idHex, b64] = parts as [string, string, string];
  const id = parseKeyId(idHex);
  const raw = decodeBase64Strict(b64);
  if (!isValidKeyName(name) || id === null || raw === null) {
    throw new KeyturnError('KT_AUDIT_KEY_INVALID', 'the verifier key is malformed (name, 8-digit hex key ID, base64 key)');
  }
  if (raw.length < 1 || raw[0] !== ALG_ED25519) throw new KeyturnError('KT_AUDIT_KEY_INVALID', 'the verifier key is not an Ed25519 key (type byte 0x01)');
  const publicKey = raw.subarray(1);
  if (publicKey.length !== ED25519_KEY_BYTES) throw new KeyturnError('KT_AUDIT_KEY_INVALID', `an Ed25519 public key is ${ED25519_KEY_BYTES} bytes, not ${publicKey.length}`);
  if (noteKeyId(name, publicKey) !== id) throw new KeyturnError('KT_AUDIT_KEY_INVALID', `the verifier key's ID ${idHex} does not match its name and public key`);
  return verifierFrom(name, id, Buffer.from(publicKey));
}

/**
 * Parses a signer key `PRIVATE+KEY+<name>+<keyid>+<base64(0x01 || seed)>`.
 *
 * @example
 * ```ts
 * const signer = parseSignerKey(process.env.KEYTURN_AUDIT_KEY!);
 * signer.verifierKey; // publish this one
 * ```
 */
export function parseSignerKey(skey: string): NoteSigner {
  const parts = splitKey(skey, 5);
  if (parts === null || parts[0] !== 'PRIVATE' || parts[1] !== 'KEY') {
    throw new KeyturnError('KT_AUDIT_KEY_INVALID', 'a signer key is PRIVATE+KEY+NAME+KEYID+BASE64');
  }
  const [, , name, idHex, b64] = parts as [string, string, string, string, string];
  const id = parseKeyId(idHex);
  const raw = decodeBase64Strict(b64);
  if (!isValidKeyName(name) || id === null || raw === null) {
    throw new KeyturnError('KT_AUDIT_KEY_INVALID', 'the signer key is malformed (name, 8-digit hex key ID, base64 key)');
  }
  if (raw.length < 1 || raw[0] !== ALG_ED25519) throw new KeyturnError('KT_AUDIT_KEY_INVALID', 'the signer key is not an Ed25519 key (type byte 0x01)');
  const seed = raw.subarray(1);
  if (seed.length !== ED25519_KEY_BYTES) throw new KeyturnError('KT_AUDIT_KEY_INVALID', `an Ed25519 signer seed is ${ED25519_KEY_BYTES} bytes`);
  const signer = signerFromSeed(name, seed);
  if (signer.keyId !== id) throw new KeyturnError('KT_AUDIT_KEY_INVALID', `the signer key's ID ${idHex} does not match its name and key`);
  return signer;
}

function signerFromSeed(name: string, seed: Uint8Array): NoteSigner {
  const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519_PREFIX.length);
  const keyId = noteKeyId(name, publicKey);
  const verifierKey = encodeVerifierKey(name, publicKey);
  return Object.freeze({
    name,
    keyId,
    verifierKey,
    sign: (message: Uint8Array): Buffer => sign(null, message, privateKey),
    toString: (): string => `[signer ${name}+${hex8(keyId)}]`,
  });
}

function verifierFrom(name: string, keyId: number, publicKey: Buffer): NoteVerifier {
  const key: KeyObject = createPublicKey({ key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return Object.freeze({
    name,
    keyId,
    publicKey,
    verifierKey: `${name}+${hex8(keyId)}+${Buffer.concat([Buffer.from([ALG_ED25519]), publicKey]).toString('base64')}`,
    verify: (message: Uint8Array, signature: Uint8Array): boolean => signature.length === 64 && verify(null, message, key, signature),
  });
}

function encodeSignerKey(name: string, keyId: number, seed: Uint8Array): string {
  return `PRIVATE+KEY+${name}+${hex8(keyId)}+${Buffer.concat([Buffer.from([ALG_ED25519]), seed]).toString('base64')}`;
}

/** Splits at the first `count - 1` "+" signs (base64 may itself contain "+"). */
function splitKey(key: string, count: number): string[] | null {
  if (typeof key !== 'string') return null;
  const parts: string[] = [];
  let rest = key;
  for (let i = 0; i < count - 1; i++) {
    const at = rest.indexOf('+');
    if (at < 0) return null;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + 1);
  }
  parts.push(rest);
  return parts;
}

function parseKeyId(text: string): number | null {
  return /^[0-9a-fA-F]{8}$/.test(text) ? Number.parseInt(text, 16) : null;
}

/** A key ID as 8 lowercase hex digits. */
export function hex8(id: number): string {
  return id.toString(16).padStart(8, '0');
}

function assertName(name: string): void {
  if (!isValidKeyName(name)) throw new KeyturnError('KT_AUDIT_KEY_INVALID', 'a key name must be non-empty, without spaces or "+"');
}
