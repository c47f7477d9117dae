/**
 * SSH keys of the ssh target. The credential's `password` is a PRIVATE key as text: OpenSSH
 * (`-----BEGIN OPENSSH PRIVATE KEY-----`, unencrypted) or PEM (PKCS#8 `BEGIN PRIVATE KEY`,
 * PKCS#1 RSA, SEC1 EC). `newPrivateKey` makes a fresh Ed25519 key (node:crypto) in OpenSSH form,
 * the form the ssh2 client takes; `clientKey` brings the other forms to one ssh2 takes;
 * `publicKeyOf` derives the public key (`ssh-ed25519 AAAA...`) the account's authorized_keys
 * holds. Keys live in memory only: nothing here writes a file. Errors name the problem, never
 * the key's text.
 *
 * @example
 * ```ts
 * const key = newPrivateKey();                    // '-----BEGIN OPENSSH PRIVATE KEY-----\n...'
 * const pub = await publicKeyOf(key);             // { type: 'ssh-ed25519', blob: 'AAAAC3Nz...', line: 'ssh-ed25519 AAAAC3Nz...' }
 * ```
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { loadSsh2 } from '../../core/drivers.js';

const OPENSSH_HEADER = '-----BEGIN OPENSSH PRIVATE KEY-----';

/** A key the target cannot use (not a private key, encrypted, an unsupported type). The message never holds key text. */
export class BadKeyError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'BadKeyError';
  }
}

/** An SSH wire `string`: uint32 length, then the bytes. */
function sshString(b: Buffer | string): Buffer {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** An Ed25519 KeyObject in the unencrypted OpenSSH private key format (PROTOCOL.key of OpenSSH). */
function openSshEd25519(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(jwk.x!, 'base64url');
  const type = 'ssh-ed25519';
  const publicBlob = Buffer.concat([sshString(type), sshString(pub)]);
  const check = randomBytes(4).readUInt32BE();
  let secret = Buffer.concat([uint32(check), uint32(check), sshString(type), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString('')]);
  const pad = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: pad }, (_, i) => i + 1))]);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0', 'latin1'), sshString('none'), sshString('none'), sshString(''), uint32(1), sshString(publicBlob), sshString(secret)]);
  const b64 = body.toString('base64').replace(/.{1,70}/g, '$&\n');
  return `${OPENSSH_HEADER}\n${b64}-----END OPENSSH PRIVATE KEY-----\n`;
}

/**
 * A fresh Ed25519 private key in OpenSSH form (the ssh target's `newSecret`).
 *
 * @example
 * ```ts
 * newPrivateKey().startsWith('-----BEGIN OPENSSH PRIVATE KEY-----'); // true
 * ```
 */
export function newPrivateKey(): string {
  return openSshEd25519(generateKeyPairSync('ed25519').privateKey);
}

/**
 * The private key in a form the ssh2 client takes: OpenSSH text as it is; a PEM key (PKCS#8,
 * PKCS#1, SEC1) read with node:crypto and re-exported (Ed25519 as OpenSSH, RSA as PKCS#1, EC as
 * SEC1). Throws BadKeyError for anything else.
 *
 * @example
 * ```ts
 * clientKey(pkcs8Ed25519Pem).startsWith('-----BEGIN OPENSSH PRIVATE KEY-----'); // true
 * ```
 */
export function clientKey(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith(OPENSSH_HEADER)) return `${trimmed}\n`;
  if (!/^-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(trimmed)) throw new BadKeyError('not an SSH private key (OpenSSH or PEM text)');
  if (/ENCRYPTED/.test(trimmed.split('\n', 3).join('\n'))) throw new BadKeyError('an encrypted private key (the target needs it without a passphrase)');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: trimmed, format: 'pem' });
  } catch {
    throw new BadKeyError('a PEM private key that cannot be read');
  }
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return openSshEd25519(key);
    case 'rsa':
      return key.export({ type: 'pkcs1', format: 'pem' }) as string;
    case 'ec':
      return key.export({ type: 'sec1', format: 'pem' }) as string;
    default:
      throw new BadKeyError(`a ${key.asymmetricKeyType ?? 'unknown'} key (the target takes Ed25519, RSA and ECDSA keys)`);
  }
}

/** A public key as authorized_keys holds it. */
export interface PublicKey {
  /** `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ... */
  readonly type: string;
  /** The key blob, base64: what identifies the key on an authorized_keys line. */
  readonly blob: string;
  /** `<type> <blob>` (no comment, no options). */
  readonly line: string;
  /** `SHA256:...`, as ssh-keygen -l prints it (safe to log). */
  readonly fingerprint: string;
}

/**
 * The public key of a private key (see `clientKey` for the forms taken).
 *
 * @example
 * ```ts
 * (await publicKeyOf(newPrivateKey())).line; // 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI...'
 * ```
 */
export async function publicKeyOf(privateKey: string): Promise<PublicKey> {
  const ssh2 = await loadSsh2();
  const parsed = ssh2.utils.parseKey(clientKey(privateKey));
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || !key.isPrivateKey()) throw new BadKeyError('not an unencrypted SSH private key');
  const raw = key.getPublicSSH();
  const blob = raw.toString('base64');
  return { type: key.type, blob, line: `${key.type} ${blob}`, fingerprint: fingerprintOf(raw) };
}

/**
 * The SHA-256 fingerprint of a public key blob, as OpenSSH prints it (`SHA256:` + unpadded base64).
 *
 * @example
 * ```ts
 * fingerprintOf(hostKeyBlob); // 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s'
 * ```
 */
export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}
