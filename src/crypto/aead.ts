/**
 * AES-256-GCM sealing with additional data, the one cipher Keyturn uses at rest.
 *
 * Sealed form: 12-byte random nonce || ciphertext || 16-byte tag. A wrong key, altered bytes or
 * different additional data all fail the same way, with KT_DECRYPT_FAILED, never with garbage.
 *
 * @example
 * ```ts
 * const sealed = seal(key, Buffer.from('hunter2'), aad('value', 'prod/db', 'v1'));
 * open(key, sealed, aad('value', 'prod/db', 'v1')).toString(); // 'hunter2'
 * ```
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { KeyturnError } from '../core/errors.js';
import { secretKeyOf } from './key-object.js';

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** Additional data from labelled parts; NUL-separated so ("a/b","c") and ("a","b/c") differ. */
export function aad(purpose: string, ...parts: string[]): Buffer {
  return Buffer.from(['keyturn', purpose, ...parts].join('\u0000'), 'utf8');
}

export function seal(key: Buffer, plaintext: Buffer, additionalData: Buffer): Buffer {
  if (key.length !== KEY_BYTES) throw new KeyturnError('KT_INTERNAL', 'an AES-256 key must be 32 bytes');
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', secretKeyOf(key), nonce);
  cipher.setAAD(additionalData);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Opens a sealed buffer; `what` names the thing in the error (never its content). */
export function open(key: Buffer, sealed: Buffer, additionalData: Buffer, what = 'a sealed value'): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) {
    throw new KeyturnError('KT_DECRYPT_FAILED', `${what} is truncated and was not decrypted`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', secretKeyOf(key), sealed.subarray(0, NONCE_BYTES));
    decipher.setAAD(additionalData);
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch (e) {
    throw new KeyturnError('KT_DECRYPT_FAILED', `${what} failed authentication and was not decrypted`, { cause: e });
  }
}
