import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { aad, open, seal } from './aead.js';

describe('AES-256-GCM sealing', () => {
  const key = randomBytes(32);

  it('round-trips with the same additional data', () => {
    const sealed = seal(key, Buffer.from('hello'), aad('value', 'a/b', 'v1'));
    expect(open(key, sealed, aad('value', 'a/b', 'v1')).toString()).toBe('hello');
  });

  it('uses a fresh nonce for every seal', () => {
    const a = seal(key, Buffer.from('same'), aad('x'));
    const b = seal(key, Buffer.from('same'), aad('x'));
    expect(a.equals(b)).toBe(false);
  });

  it.each([
    ['another path', aad('value', 'a/c', 'v1')],
    ['another version', aad('value', 'a/b', 'v2')],
    ['parts joined differently', aad('value', 'a/bv1')],
  ])('refuses %s with KT_DECRYPT_FAILED', (_name, other) => {
    const sealed = seal(key, Buffer.from('hello'), aad('value', 'a/b', 'v1'));
    let caught: unknown;
    try {
      open(key, sealed, other);
    } catch (e) {
      caught = e;
    }
    expect(isKeyturnError(caught, 'KT_DECRYPT_FAILED')).toBe(true);
  });

  it('refuses a flipped bit, a wrong key and a truncated buffer', () => {
    const sealed = seal(key, Buffer.from('hello'), aad('v'));
    const flipped = Buffer.from(sealed);
    flipped[14]! ^= 1;
    expect(() => open(key, flipped, aad('v'))).toThrow(/failed authentication/);
    expect(() => open(randomBytes(32), sealed, aad('v'))).toThrow(/failed authentication/);
    expect(() => open(key, sealed.subarray(0, 20), aad('v'))).toThrow(/truncated/);
  });
});
