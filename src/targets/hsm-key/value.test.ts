import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../../core/errors.js';
import { ecPoint } from '../../hsm/key-types.js';
import { hsmKeyValue, jwkThumbprint, parseHsmKeyValue } from './value.js';

describe('jwkThumbprint', () => {
  it('matches the RFC 7638 (RSA) and RFC 8037 (Ed25519) examples', () => {
    const rsa = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB',
      alg: 'RS256',
      kid: '2011-04-29',
    };
    expect(jwkThumbprint(rsa)).toBe('NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
    expect(jwkThumbprint({ kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' })).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });
});

describe('ecPoint', () => {
  it('unwraps the DER OCTET STRING of CKA_EC_POINT and takes a bare point as it is', () => {
    const point = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 7)]);
    expect(ecPoint(Buffer.concat([Buffer.from([0x04, 0x41]), point]), 65)).toEqual(point);
    expect(ecPoint(point, 65)).toEqual(point);
    expect(ecPoint(Buffer.concat([Buffer.from([0x04, 0x20]), Buffer.alloc(32, 9)]), 32)).toEqual(Buffer.alloc(32, 9));
    expect(() => ecPoint(Buffer.from([0x04, 0x41, 1, 2]), 65)).toThrow('unexpected length');
  });
});

describe('hsm-key value', () => {
  it('holds the public key only, and reads back', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const value = hsmKeyValue({ label: 'keyturn-v1', id: Buffer.alloc(16, 1), keyType: 'ec-p256', publicKey, place: { module: '/m.so', token: 't' } });
    expect(value.publicJwk).not.toHaveProperty('d');
    expect(value.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(parseHsmKeyValue({ ...value })).toEqual(value);
  });

  it('refuses a value of another kind, naming fields only', () => {
    try {
      parseHsmKeyValue({ username: 'app', password: 'hunter2' });
      expect.unreachable();
    } catch (e) {
      expect(isKeyturnError(e, 'KT_TARGET_FAILED')).toBe(true);
      expect((e as Error).message).not.toContain('hunter2');
      expect((e as Error).message).toContain('label');
    }
  });
});
