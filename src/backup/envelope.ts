/**
 * The encrypted envelope of a Keyturn backup file: a header, then the payload in AES-256-GCM
 * chunks. Nothing here knows what the payload is (./dump.ts makes it).
 *
 * Layout (all integers big-endian):
 *
 * ```
 * "KTBACKUP" (8 bytes) | u32 header length | header (UTF-8 JSON)
 * then per chunk: u32 sealed length | sealed (ciphertext || 16-byte GCM tag)
 * ```
 *
 * The header names how the file key is made and is never secret:
 * - passphrase: `{"v":1,"mode":"passphrase","kdf":{"name":"scrypt","N":131072,"r":8,"p":1,"salt":B64},"chunk":65536,"kc":B64}`;
 *   the file key is scrypt(passphrase, salt, 32 bytes, N, r, p).
 * - recipient: `{"v":1,"mode":"recipient","epk":B64,"rcpt":FINGERPRINT,"salt":B64,"chunk":65536,"kc":B64}`; an
 *   ephemeral X25519 key pair is made per file; the file key is HKDF-SHA256(ikm = X25519(ephemeral
 *   private, recipient public), salt, info = "keyturn backup v1" || epk || recipient public).
 *
 * Chunk i (from 0) is sealed with nonce = 4 zero bytes || u64 i and AAD = SHA-256(magic || header
 * length || header) || u64 i || final flag (1 on the last chunk, else 0). So the header cannot be
 * changed, chunks cannot be moved, dropped, repeated or cut off (the last one must carry the
 * final flag and nothing may follow it), and every byte is under a tag. Each file has a fresh
 * salt, so a file key, and with it every nonce, is never reused.
 *
 * @example
 * ```ts
 * const file = sealBackup(payload, { passphrase: 'correct horse' });
 * const again = openBackup(file, { passphrase: 'correct horse' }); // Buffer equal to payload
 * ```
 */
import { createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import { KeyturnError } from '../core/errors.js';

export const MAGIC = Buffer.from('KTBACKUP', 'ascii');
/** Plaintext bytes per chunk. */
export const CHUNK_BYTES = 64 * 1024;
/** scrypt cost used when making a backup: N = 2^17, r = 8, p = 1 (128 MiB of memory, about half a second). */
export const SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
/** The largest scrypt cost a file may ask for when opened (so a crafted header cannot exhaust memory). */
const SCRYPT_MAX_N = 2 ** 20;
const TAG_BYTES = 16;
const HEADER_MAX = 4096;
const INFO = Buffer.from('keyturn backup v1', 'ascii');

export type BackupKey = { passphrase: string } | { recipient: KeyObject } | { identity: KeyObject };

interface PassphraseHeader {
  v: 1;
  mode: 'passphrase';
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  chunk: number;
  /** Key check: tells a wrong key from a damaged first chunk (see {@link keyCheck}). */
  kc: string;
}
interface RecipientHeader {
  v: 1;
  mode: 'recipient';
  epk: string;
  rcpt: string;
  salt: string;
  chunk: number;
  kc: string;
}
export type BackupHeader = PassphraseHeader | RecipientHeader;

function corrupt(detail: string): KeyturnError {
  return new KeyturnError('KT_BACKUP_CORRUPT', detail);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/** The raw 32 bytes of an X25519 public key. */
function rawPublic(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

function publicFromRaw(raw: Buffer): KeyObject {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw.toString('base64url') }, format: 'jwk' });
}

/** A short fingerprint naming a recipient key (the first 16 hex digits of SHA-256 of its raw bytes). */
export function recipientFingerprint(publicKey: KeyObject): string {
  return `x25519:${createHash('sha256').update(rawPublic(publicKey)).digest('hex').slice(0, 16)}`;
}

function recipientKey(shared: Buffer, salt: Buffer, epk: Buffer, rcpt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, salt, Buffer.concat([INFO, epk, rcpt]), 32));
}

function scryptKey(passphrase: string, kdf: PassphraseHeader['kdf']): Buffer {
  return scryptSync(passphrase.normalize('NFC'), Buffer.from(kdf.salt, 'base64'), 32, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 });
}

/** Makes a new X25519 key pair for `--recipient` backups, as PEM (private: PKCS#8, public: SPKI). */
export function generateRecipientKeys(): { privatePem: string; publicPem: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    fingerprint: recipientFingerprint(publicKey),
  };
}

/** Parses a recipient (public) key file; a private key is accepted too (its public half is used). */
export function parseRecipientKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = pem.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(pem)) : createPublicKey(pem);
  } catch {
    throw new KeyturnError('KT_BACKUP_KEY_INVALID', `${source} is not an X25519 public key in PEM`);
  }
  if (key.asymmetricKeyType !== 'x25519') throw new KeyturnError('KT_BACKUP_KEY_INVALID', `${source} is a ${key.asymmetricKeyType} key, not X25519`);
  return key;
}

/** Parses an identity (private) key file. */
export function parseIdentityKey(pem: string, source: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new KeyturnError('KT_BACKUP_KEY_INVALID', `${source} is not an X25519 private key in PEM`);
  }
  if (key.asymmetricKeyType !== 'x25519') throw new KeyturnError('KT_BACKUP_KEY_INVALID', `${source} is a ${key.asymmetricKeyType} key, not X25519`);
  return key;
}

/**
 * 16 bytes derived from the file key (HKDF-SHA256, info "keyturn backup key check"), stored in the
 * header: a key that does not reproduce it is the wrong key (KT_BACKUP_DECRYPT_FAILED); a right
 * key with a chunk that fails is damage (KT_BACKUP_CORRUPT). It lets a guess be checked no faster
 * than trying to open the first chunk would, so it costs the passphrase nothing.
 */
function keyCheck(fileKey: Buffer): string {
  return Buffer.from(hkdfSync('sha256', fileKey, Buffer.alloc(0), Buffer.from('keyturn backup key check', 'ascii'), 16)).toString('base64');
}

function headerBytes(header: BackupHeader): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  return Buffer.concat([MAGIC, u32(json.length), json]);
}

function aad(headerHash: Buffer, index: number, final: boolean): Buffer {
  return Buffer.concat([headerHash, u64(index), Buffer.from([final ? 1 : 0])]);
}

function nonce(index: number): Buffer {
  return Buffer.concat([Buffer.alloc(4), u64(index)]);
}

/** Encrypts `payload` into a backup file's bytes, to a passphrase or a recipient's public key. */
export function sealBackup(payload: Buffer, key: { passphrase: string } | { recipient: KeyObject }, options: { scrypt?: { N: number; r: number; p: number } } = {}): Buffer {
  let header: BackupHeader;
  let fileKey: Buffer;
  if ('passphrase' in key) {
    const kdf = { name: 'scrypt' as const, ...(options.scrypt ?? SCRYPT), salt: randomBytes(16).toString('base64') };
    fileKey = scryptKey(key.passphrase, kdf);
    header = { v: 1, mode: 'passphrase', kdf, chunk: CHUNK_BYTES, kc: keyCheck(fileKey) };
  } else {
    const eph = generateKeyPairSync('x25519');
    const epk = rawPublic(eph.publicKey);
    const rcpt = rawPublic(key.recipient);
    const salt = randomBytes(32);
    fileKey = recipientKey(diffieHellman({ privateKey: eph.privateKey, publicKey: key.recipient }), salt, epk, rcpt);
    header = { v: 1, mode: 'recipient', epk: epk.toString('base64'), rcpt: recipientFingerprint(key.recipient), salt: salt.toString('base64'), chunk: CHUNK_BYTES, kc: keyCheck(fileKey) };
  }
  const head = headerBytes(header);
  const hash = createHash('sha256').update(head).digest();
  const parts: Buffer[] = [head];
  const count = Math.max(1, Math.ceil(payload.length / CHUNK_BYTES));
  for (let i = 0; i < count; i++) {
    const cipher = createCipheriv('aes-256-gcm', fileKey, nonce(i));
    cipher.setAAD(aad(hash, i, i === count - 1));
    const sealed = Buffer.concat([cipher.update(payload.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)), cipher.final(), cipher.getAuthTag()]);
    parts.push(u32(sealed.length), sealed);
  }
  fileKey.fill(0);
  return Buffer.concat(parts);
}

/** Reads and checks the header (never secret): how the file is encrypted. Throws KT_BACKUP_CORRUPT. */
export function readHeader(file: Buffer): { header: BackupHeader; end: number; hash: Buffer } {
  if (file.length < MAGIC.length + 4 || !file.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('the file is not a Keyturn backup (no KTBACKUP header)');
  const len = file.readUInt32BE(MAGIC.length);
  const end = MAGIC.length + 4 + len;
  if (len > HEADER_MAX || end > file.length) throw corrupt('the backup header is cut off or too long');
  let header: BackupHeader;
  try {
    header = JSON.parse(file.subarray(MAGIC.length + 4, end).toString('utf8')) as BackupHeader;
  } catch {
    throw corrupt('the backup header is not valid JSON');
  }
  const b64 = (s: unknown): boolean => typeof s === 'string' && /^[A-Za-z0-9+/]+=*$/.test(s);
  const ok =
    header !== null &&
    typeof header === 'object' &&
    header.v === 1 &&
    header.chunk === CHUNK_BYTES &&
    b64(header.kc) &&
    ((header.mode === 'passphrase' &&
      header.kdf?.name === 'scrypt' &&
      Number.isInteger(header.kdf.N) &&
      header.kdf.N >= 2 ** 10 &&
      header.kdf.N <= SCRYPT_MAX_N &&
      (header.kdf.N & (header.kdf.N - 1)) === 0 &&
      header.kdf.r >= 1 &&
      header.kdf.r <= 32 &&
      header.kdf.p >= 1 &&
      header.kdf.p <= 16 &&
      b64(header.kdf.salt)) ||
      (header.mode === 'recipient' && b64(header.epk) && Buffer.from(header.epk, 'base64').length === 32 && b64(header.salt) && typeof header.rcpt === 'string'));
  if (!ok) throw corrupt('the backup header is not a known format (version 1, passphrase or recipient)');
  return { header, end, hash: createHash('sha256').update(file.subarray(0, end)).digest() };
}

/**
 * Decrypts a backup file and checks every chunk and the file's end; returns the payload.
 * Throws KT_BACKUP_CORRUPT (damaged, cut off, reordered), KT_BACKUP_DECRYPT_FAILED (wrong
 * passphrase or key, or a damaged header: the key check in it fails), KT_BACKUP_KEY_INVALID (a key
 * of the wrong kind for this file).
 */
export function openBackup(file: Buffer, key: { passphrase: string } | { identity: KeyObject }): Buffer {
  const { header, end, hash } = readHeader(file);
  let fileKey: Buffer;
  if (header.mode === 'passphrase') {
    if (!('passphrase' in key)) throw new KeyturnError('KT_BACKUP_KEY_INVALID', 'this backup is encrypted to a passphrase: give --passphrase-file (or type it on a terminal), not --identity');
    fileKey = scryptKey(key.passphrase, header.kdf);
  } else {
    if (!('identity' in key)) throw new KeyturnError('KT_BACKUP_KEY_INVALID', `this backup is encrypted to the recipient key ${header.rcpt}: give its private key with --identity KEYFILE`);
    const rcptPub = createPublicKey(key.identity);
    if (recipientFingerprint(rcptPub) !== header.rcpt) {
      throw new KeyturnError('KT_BACKUP_DECRYPT_FAILED', `this backup is encrypted to ${header.rcpt}, not to the given key ${recipientFingerprint(rcptPub)}`);
    }
    const epk = Buffer.from(header.epk, 'base64');
    fileKey = recipientKey(diffieHellman({ privateKey: key.identity, publicKey: publicFromRaw(epk) }), Buffer.from(header.salt, 'base64'), epk, rawPublic(rcptPub));
  }
  try {
    if (keyCheck(fileKey) !== header.kc) throw new KeyturnError('KT_BACKUP_DECRYPT_FAILED', 'the backup does not open with this key or passphrase (or its header is damaged)');
    const out: Buffer[] = [];
    let at = end;
    for (let i = 0; ; i++) {
      if (at + 4 > file.length) throw corrupt(`the backup is cut off: chunk ${i} is missing and no chunk carried the final mark`);
      const len = file.readUInt32BE(at);
      if (len < TAG_BYTES || len > CHUNK_BYTES + TAG_BYTES || at + 4 + len > file.length) throw corrupt(`chunk ${i} has a bad length or is cut off`);
      const sealed = file.subarray(at + 4, at + 4 + len);
      at += 4 + len;
      const final = at === file.length;
      // Where the file ends the chunk must carry the final mark; a chunk that opens only with the
      // other mark is a file cut off after it, or one with bytes appended after its end.
      const plain = decryptChunk(fileKey, hash, i, final, sealed);
      if (plain === null) {
        if (decryptChunk(fileKey, hash, i, !final, sealed) !== null) {
          throw corrupt(final ? `the backup is cut off after chunk ${i} (it has no final chunk)` : `the backup has data after its final chunk ${i}`);
        }
        throw corrupt(`chunk ${i} failed authentication: the file was altered or its chunks reordered`);
      }
      out.push(plain.data);
      if (final) return Buffer.concat(out);
    }
  } finally {
    fileKey.fill(0);
  }
}

function decryptChunk(key: Buffer, hash: Buffer, index: number, final: boolean, sealed: Buffer): { data: Buffer } | null {
  try {
    const d = createDecipheriv('aes-256-gcm', key, nonce(index));
    d.setAAD(aad(hash, index, final));
    d.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return { data: Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_BYTES)), d.final()]) };
  } catch {
    return null;
  }
}
