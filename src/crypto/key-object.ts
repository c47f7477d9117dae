/**
 * Node KeyObjects for raw key bytes, made once per key. `createCipheriv` and `createHmac` given a
 * Buffer build a KeyObject on every call (about 16-24 µs each on Node 24, most of an AES-GCM seal
 * of a small value); given the KeyObject, they skip it. Keys here are long-lived and never changed
 * in place (data keys, the root key, audit keys), so caching by the Buffer's identity is right.
 *
 * @example
 * ```ts
 * createHmac('sha256', secretKeyOf(key)).update(bytes).digest('base64');
 * ```
 */
import { createSecretKey, type KeyObject } from 'node:crypto';

const cache = new WeakMap<Buffer, KeyObject>();

/** The KeyObject of `key`'s bytes (made at the first call for this Buffer). */
export function secretKeyOf(key: Buffer): KeyObject {
  let ko = cache.get(key);
  if (ko === undefined) {
    ko = createSecretKey(key);
    cache.set(key, ko);
  }
  return ko;
}
