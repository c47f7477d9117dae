import { generateKeyPair, exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import type { SecretValue } from '../core/types.js';
import { jwksFor } from './jwks.js';
import { jwksMaxAge } from './jwks-of.js';
import { generateSigningKey, publicJwkOf, SIGNING_ALGS } from './keys.js';
import { signingKeyPublisher } from './publishers.js';

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi'];
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T12:00:00Z');
const SK = signingKeyPublisher(HOUR);

describe('jwksFor', () => {
  it('lists current, then pending, then previous (within maxTokenTtl of its replacement), each key once', async () => {
    const [cur, pen, prev] = await Promise.all([generateSigningKey('EdDSA'), generateSigningKey('ES256'), generateSigningKey('RS256')]);
    const view = jwksFor({ current: cur, pending: pen, previous: prev, previousReplacedAt: T0, now: T0 + HOUR - 1, previousRetired: false, publisher: SK });
    expect(view.keys.map((k) => k.kid)).toEqual([cur.kid, pen.kid, prev.kid]);
    expect(view.keys.map((k) => k.alg)).toEqual(['EdDSA', 'ES256', 'RS256']);
    expect(view.until).toBe(T0 + HOUR);
    expect(view.unusable).toEqual([]);
    // The same key under two stages (a rollback) is listed once.
    expect(jwksFor({ current: cur, pending: null, previous: cur, previousReplacedAt: T0, now: T0, previousRetired: false, publisher: SK }).keys.map((k) => k.kid)).toEqual([cur.kid]);
  });

  it('drops the previous key once maxTokenTtl has passed since it stopped signing, or when that time is unknown', async () => {
    const [cur, prev] = await Promise.all([generateSigningKey('EdDSA'), generateSigningKey('EdDSA')]);
    const at = (now: number, replacedAt: number | null = T0) => jwksFor({ current: cur, pending: null, previous: prev, previousReplacedAt: replacedAt, now, previousRetired: false, publisher: SK });
    expect(at(T0 + HOUR - 1).keys.map((k) => k.kid)).toEqual([cur.kid, prev.kid]);
    expect(at(T0 + HOUR).keys.map((k) => k.kid)).toEqual([cur.kid]);
    expect(at(T0 + HOUR).until).toBeNull();
    expect(at(T0, null).keys.map((k) => k.kid)).toEqual([cur.kid]);
  });

  it('publishes a pending key before it signs (the first key of a secret: pending only)', async () => {
    const pen = await generateSigningKey('ES256');
    expect(jwksFor({ current: null, pending: pen, previous: null, previousReplacedAt: null, now: T0, previousRetired: false, publisher: SK }).keys.map((k) => k.kid)).toEqual([pen.kid]);
    expect(jwksFor({ current: null, pending: null, previous: null, previousReplacedAt: null, now: T0, previousRetired: false, publisher: SK })).toEqual({ keys: [], until: null, unusable: [] });
  });

  it('publishes no private member, even of a value whose publicJwk was given private members', async () => {
    const keys = await Promise.all(SIGNING_ALGS.map((alg) => generateSigningKey(alg)));
    for (const k of keys) expect(Object.keys(k.privateJwk)).toContain('d');
    // A value stored by hand whose "public" key is the whole private JWK.
    const leaky = { ...keys[2]!, publicJwk: { ...keys[2]!.privateJwk, use: 'sig' } } as unknown as SecretValue;
    const view = jwksFor({ current: keys[0]!, pending: keys[1]!, previous: leaky, previousReplacedAt: T0, now: T0, previousRetired: false, publisher: SK });
    expect(view.keys).toHaveLength(3);
    for (const jwk of view.keys) {
      for (const m of PRIVATE_MEMBERS) expect(jwk).not.toHaveProperty(m);
      expect(jwk.use).toBe('sig');
    }
    expect(Object.keys(view.keys[2]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    expect(JSON.stringify(view)).not.toContain(keys[0]!.privateJwk.d);
  });

  it('leaves out a value that is not a signing key and says which stage', async () => {
    const cur = await generateSigningKey('EdDSA');
    const pair = await generateKeyPair('ES256', { extractable: true });
    const noKid = { alg: 'ES256', privateJwk: {}, publicJwk: await exportJWK(pair.publicKey) } as unknown as SecretValue;
    const view = jwksFor({ current: cur, pending: 'a plain string', previous: noKid, previousReplacedAt: T0, now: T0, previousRetired: false, publisher: SK });
    expect(view.keys.map((k) => k.kid)).toEqual([cur.kid]);
    expect(view.unusable).toEqual(['pending', 'previous']);
    // A public key of the wrong type for its alg.
    expect(publicJwkOf({ ...cur, alg: 'ES256' })).toBeNull();
  });
});

describe('jwksMaxAge', () => {
  it('is 60 s, less when the previous key leaves sooner, never negative', () => {
    expect(jwksMaxAge({ until: null }, T0)).toBe(60);
    expect(jwksMaxAge({ until: T0 + 3_600_000 }, T0)).toBe(60);
    expect(jwksMaxAge({ until: T0 + 12_500 }, T0)).toBe(12);
    expect(jwksMaxAge({ until: T0 - 1 }, T0)).toBe(0);
  });
});
