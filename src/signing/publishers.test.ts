import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../core/types.js';
import type { KeyType } from '../hsm/key-types.js';
import { hsmKeyValue, toSecretValue, type HsmKeyValue } from '../targets/hsm-key/value.js';
import { createTarget } from '../targets/registry.js';
import { jwksFor } from './jwks.js';
import { generateSigningKey } from './keys.js';
import { hsmKeyPublisher, publisherFor } from './publishers.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T12:00:00Z');
const PLACE = { module: '/usr/lib/softhsm/libsofthsm2.so', token: 'signing' };

/** An hsm-key value as the renewer makes it, over a key pair made here (no HSM: the JWKS reads values only). */
function hsmValue(keyType: KeyType = 'ec-p256', label = `keyturn-${randomBytes(4).toString('hex')}`): HsmKeyValue & { [field: string]: JsonValue } {
  const pair =
    keyType === 'ec-p256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : keyType === 'rsa-2048' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  return toSecretValue(hsmKeyValue({ label, id: randomBytes(16), keyType, publicKey: pair.publicKey, place: PLACE })) as HsmKeyValue & { [field: string]: JsonValue };
}

const kids = (view: { keys: Array<{ kid: string }> }) => view.keys.map((k) => k.kid);

describe('hsm-key JWKS', () => {
  it('publishes current and pending, and the previous key until replacedAt + grace', () => {
    const [cur, pen, prev] = [hsmValue(), hsmValue('rsa-2048'), hsmValue('ed25519')];
    const at = (now: number) => jwksFor({ current: cur, pending: pen, previous: prev, previousReplacedAt: T0, previousRetired: false, now, publisher: hsmKeyPublisher(7 * DAY) });
    expect(kids(at(T0))).toEqual([cur.kid, pen.kid, prev.kid]);
    expect(at(T0).keys.map((k) => k.alg)).toEqual(['ES256', 'RS256', 'EdDSA']);
    expect(at(T0 + 7 * DAY - 1).until).toBe(T0 + 7 * DAY);
    expect(kids(at(T0 + 7 * DAY - 1))).toEqual([cur.kid, pen.kid, prev.kid]);
    // The grace is over: the cleanup destroys the key; it is no longer published, even before the cleanup ran.
    expect(at(T0 + 7 * DAY)).toEqual({ keys: at(T0 + 7 * DAY).keys, until: null, unusable: [] });
    expect(kids(at(T0 + 7 * DAY))).toEqual([cur.kid, pen.kid]);
  });

  it('drops the previous key once its cleanup retired it, even within the grace or with a null grace', () => {
    const [cur, prev] = [hsmValue(), hsmValue()];
    for (const grace of [7 * DAY, null]) {
      const view = jwksFor({ current: cur, pending: null, previous: prev, previousReplacedAt: T0, previousRetired: true, now: T0 + 1, publisher: hsmKeyPublisher(grace) });
      expect(kids(view)).toEqual([cur.kid]);
      expect(view.until).toBeNull();
    }
  });

  it('with a null grace keeps the previous key while it is previous (even when its replacement time is unknown)', () => {
    const [cur, prev] = [hsmValue(), hsmValue()];
    for (const replacedAt of [T0, null]) {
      const view = jwksFor({ current: cur, pending: null, previous: prev, previousReplacedAt: replacedAt, previousRetired: false, now: T0 + 365 * DAY, publisher: hsmKeyPublisher(null) });
      expect(kids(view)).toEqual([cur.kid, prev.kid]);
      expect(view.until).toBeNull();
    }
    // With a grace, an unknown replacement time leaves it out (never kept longer than the grace).
    expect(kids(jwksFor({ current: cur, pending: null, previous: prev, previousReplacedAt: null, previousRetired: false, now: T0, publisher: hsmKeyPublisher(DAY) }))).toEqual([cur.kid]);
  });

  it('publishes public members only, rebuilt from publicJwk, whatever else the value holds', () => {
    const cur = hsmValue('rsa-2048');
    const view = jwksFor({ current: cur, pending: null, previous: null, previousReplacedAt: null, previousRetired: false, now: T0, publisher: hsmKeyPublisher(DAY) });
    expect(Object.keys(view.keys[0]!).sort()).toEqual(['alg', 'e', 'kid', 'kty', 'n', 'use']);
    // A value edited by hand whose publicJwk carries private members: they are not published.
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const priv = pair.privateKey.export({ format: 'jwk' }) as Record<string, string>;
    const leaky = { ...hsmValue(), publicJwk: { ...priv, kid: '', alg: 'ES256', use: 'sig' } } as HsmKeyValue;
    const kid = hsmKeyValue({ label: 'x', id: randomBytes(16), keyType: 'ec-p256', publicKey: pair.publicKey, place: PLACE }).kid;
    const published = hsmKeyPublisher(DAY).publicJwk(toSecretValue({ ...leaky, kid }));
    expect(published).not.toBeNull();
    expect(Object.keys(published!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(JSON.stringify(published)).not.toContain(priv.d!);
  });

  it('leaves out values that are not hsm-key values, or whose kid or alg does not match the key, and says which stage', async () => {
    const cur = hsmValue();
    const other = hsmValue();
    const wrongKid = toSecretValue({ ...hsmValue(), kid: other.kid });
    const wrongAlg = toSecretValue({ ...hsmValue(), alg: 'RS256' });
    const signingKey = await generateSigningKey('ES256');
    const p = hsmKeyPublisher(DAY);
    expect(p.publicJwk(wrongAlg)).toBeNull();
    expect(p.publicJwk('a string')).toBeNull();
    const view = jwksFor({ current: cur, pending: signingKey, previous: wrongKid, previousReplacedAt: T0, previousRetired: false, now: T0, publisher: p });
    expect(kids(view)).toEqual([cur.kid]);
    expect(view.unusable).toEqual(['pending', 'previous']);
  });
});

describe('publisherFor', () => {
  it('chooses by the target kind: signing-key (maxTokenTtl), hsm-key (the policy grace), none for other kinds', () => {
    const sk = createTarget({ type: 'signing-key', alg: 'ES256', prePublish: '5m', maxTokenTtl: '1h' });
    const hsm = createTarget({ type: 'hsm-key', module: PLACE.module, token: PLACE.token });
    const generic = createTarget({ type: 'generic' });
    expect(publisherFor(sk, { effectiveSchedule: { grace: '7d' } })).toMatchObject({ kind: 'signing-key', keepPreviousMs: 3_600_000 });
    expect(publisherFor(hsm, { effectiveSchedule: { grace: '7d' } })).toMatchObject({ kind: 'hsm-key', keepPreviousMs: 7 * DAY });
    expect(publisherFor(hsm, { effectiveSchedule: { grace: null } })).toMatchObject({ kind: 'hsm-key', keepPreviousMs: null });
    expect(publisherFor(generic, { effectiveSchedule: { grace: '7d' } })).toBeNull();
  });
});
