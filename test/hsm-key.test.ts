/**
 * The hsm-key target against a real SoftHSM2 (test/helpers/softhsm.ts: tokens of this process's
 * own in a temp folder): keys generated inside the token (private half sensitive and never
 * extractable, read back from the token and listed by pkcs11-tool), values without private
 * material, issue idempotent per versionId, check, retire, the overlap (the old key still signs
 * until it is retired), and outages (module missing, token absent, token folder gone, PIN wrong)
 * that fail cleanly while the current key keeps working once the HSM is back.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isKeyturnError, type KeyturnError } from '../src/core/errors.js';
import { createLogger } from '../src/core/logger.js';
import type { SecretValue } from '../src/core/types.js';
import { KEY_TYPES, type KeyType } from '../src/hsm/key-types.js';
import { withToken } from '../src/hsm/session.js';
import type { HsmKeyTargetConfigInput } from '../src/targets/hsm-key/config.js';
import { signWithHsmKey, verifyHsmSignature } from '../src/targets/hsm-key/sign.js';
import { jwkThumbprint, parseHsmKeyValue } from '../src/targets/hsm-key/value.js';
import { createTarget } from '../src/targets/registry.js';
import type { Renewer, TargetContext } from '../src/targets/target.js';
import { softHsm, type SoftHsm, type SoftHsmToken } from './helpers/softhsm.js';

let hsm: SoftHsm;
let token: SoftHsmToken;
const logLines: string[] = [];
const log = createLogger(
  'debug',
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
);

beforeAll(() => {
  hsm = softHsm();
  token = hsm.initToken('keyturn-test');
});
afterAll(() => {
  // No PIN in any log line of the whole file.
  const logs = logLines.join('');
  expect(logs).not.toContain(token.pin);
  hsm?.cleanup();
});

function config(keyType: KeyType = 'ec-p256', extra: Partial<HsmKeyTargetConfigInput> = {}): HsmKeyTargetConfigInput {
  return { type: 'hsm-key', module: hsm.module, token: token.label, keyType, ...extra };
}

function renewer(c: HsmKeyTargetConfigInput = config()): Renewer {
  return createTarget(c).renewer!;
}

function ctx(adminValue: SecretValue | null = { pin: token.pin }): TargetContext {
  return { strategy: 'renew', admin: null, adminValue, primaryUsername: '', log, signal: AbortSignal.timeout(20_000) };
}

const when = () => ({ pendingSince: Date.now(), now: Date.now() });

/** The error `work` throws (fails the test when it throws none). */
async function failure(work: Promise<unknown>): Promise<KeyturnError> {
  const e = await work.then(
    () => null,
    (err: unknown) => err,
  );
  expect(isKeyturnError(e), `expected a KeyturnError, got ${String(e)}`).toBe(true);
  return e as KeyturnError;
}

/** The private and public key counts of a label, and the private key's protection, read from the token. */
async function inToken(label: string) {
  return withToken({ module: hsm.module, token: token.label }, token.pin, 'inspect', undefined, async (t) => {
    const found = t.findKeys(label);
    return { privateKeys: found.privateKeys.length, publicKeys: found.publicKeys.length, flags: found.privateKeys.map((h) => t.privateKeyFlags(h)) };
  });
}

describe('hsm-key on SoftHSM2', () => {
  test('issue generates the pair inside the token: private half sensitive, never extractable; the value holds no private material', async () => {
    const value = await renewer().issue(ctx(), null, 'v-issue');
    const v = parseHsmKeyValue(value);
    expect(v).toMatchObject({ label: 'keyturn-v-issue', alg: 'ES256', keyType: 'ec-p256', module: hsm.module, token: token.label });
    expect(v.id).toMatch(/^[0-9a-f]{32}$/);
    expect(v.kid).toBe(jwkThumbprint(v.publicJwk));
    expect(v.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', kid: v.kid, alg: 'ES256', use: 'sig' });

    const json = JSON.stringify(value);
    expect(json).not.toContain('PRIVATE KEY');
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(Object.keys(v.publicJwk)).not.toContain(member);
    expect(Object.keys(value as object).sort()).toEqual(['alg', 'id', 'keyType', 'kid', 'label', 'module', 'publicJwk', 'publicKey', 'token']);

    const found = await inToken(v.label);
    expect(found).toMatchObject({ privateKeys: 1, publicKeys: 1 });
    expect(found.flags[0]).toEqual({ sensitive: true, extractable: false, alwaysSensitive: true, neverExtractable: true, sign: true, token: true });

    // An independent reader of the token: opensc's pkcs11-tool lists the same protection.
    const listing = hsm.pkcs11Tool(['--token-label', token.label, '--login', '--pin', token.pin, '--list-objects', '--type', 'privkey']);
    const entry = listing.split(/\n(?=\S)/).find((block) => block.includes(`label:      ${v.label}`));
    expect(entry, listing).toBeDefined();
    expect(entry).toMatch(/Access:.*\bsensitive\b.*\bnever extractable\b/);
    expect(entry).toContain(`ID:         ${v.id}`);
  });

  test('issue is idempotent per versionId: a retry returns the same key, one pair in the token', async () => {
    const r = renewer();
    const first = parseHsmKeyValue(await r.issue(ctx(), null, 'v-retry'));
    const again = parseHsmKeyValue(await r.issue(ctx(), null, 'v-retry'));
    expect(again).toEqual(first);
    expect(await inToken('keyturn-v-retry')).toMatchObject({ privateKeys: 1, publicKeys: 1 });
    const other = parseHsmKeyValue(await r.issue(ctx(), null, 'v-retry-2'));
    expect(other.kid).not.toBe(first.kid);
    // Two issues of one version at once (two renewers of one target): one generates, the other finds it.
    const [a, b] = await Promise.all([renewer().issue(ctx(), null, 'v-race'), renewer().issue(ctx(), null, 'v-race')]);
    expect(parseHsmKeyValue(a)).toEqual(parseHsmKeyValue(b));
    expect(await inToken('keyturn-v-race')).toMatchObject({ privateKeys: 1, publicKeys: 1 });
  });

  test('half a pair left by a generation cut short (kill -9) is destroyed and the pair made again; two pairs of one label fail the run', async () => {
    const r = renewer();
    const first = parseHsmKeyValue(await r.issue(ctx(), null, 'v-half'));
    // What a kill -9 inside C_GenerateKeyPair leaves: SoftHSM wrote the public object, not the private one.
    await withToken({ module: hsm.module, token: token.label }, token.pin, 'cut', undefined, async (t) => {
      for (const h of t.findKeys(first.label).privateKeys) t.destroy(h);
    });
    expect(await inToken(first.label)).toMatchObject({ privateKeys: 0, publicKeys: 1 });
    const again = parseHsmKeyValue(await r.issue(ctx(), null, 'v-half'));
    expect(again.kid).not.toBe(first.kid);
    expect(await inToken(first.label)).toMatchObject({ privateKeys: 1, publicKeys: 1 });
    await r.check(ctx(), again as unknown as SecretValue, when());

    // A second whole pair of the same label is not ours to pick from or destroy.
    await withToken({ module: hsm.module, token: token.label }, token.pin, 'extra', undefined, async (t) => t.generateKeyPair('ec-p256', first.label, Buffer.alloc(16, 7)));
    const e = await failure(r.issue(ctx(), null, 'v-half'));
    expect(e.code).toBe('KT_TARGET_FAILED');
    expect(e.message).toContain('2 private and 2 public keys labelled "keyturn-v-half", more than one pair');
    expect(await inToken(first.label)).toMatchObject({ privateKeys: 2, publicKeys: 2 });
  });

  test('check passes for a good key; retire destroys both objects, check then fails; retire again is success', async () => {
    const r = renewer();
    const value = await r.issue(ctx(), null, 'v-retire');
    await r.check(ctx(), value, when());
    await r.retire!(ctx(), value);
    expect(await inToken('keyturn-v-retire')).toMatchObject({ privateKeys: 0, publicKeys: 0 });
    const e = await failure(r.check(ctx(), value, when()));
    expect(e.code).toBe('KT_TARGET_FAILED');
    expect(e.message).toContain('no private key labelled "keyturn-v-retire"');
    await r.retire!(ctx(), value);
  });

  test('retire destroys only the objects of its value: another key of the same label (another CKA_ID) stays', async () => {
    const r = renewer();
    const value = parseHsmKeyValue(await r.issue(ctx(), null, 'v-same-label'));
    const stranger = { ...value, id: '00'.repeat(16) };
    await r.retire!(ctx(), stranger);
    expect(await inToken(value.label)).toMatchObject({ privateKeys: 1, publicKeys: 1 });
    await r.check(ctx(), value as unknown as SecretValue, when());
  });

  test.each(KEY_TYPES)('%s: issue, check, sign with the token and verify with the value', async (keyType) => {
    const c = config(keyType);
    const r = renewer(c);
    const value = await r.issue(ctx(), null, `v-type-${keyType}`);
    const v = parseHsmKeyValue(value);
    expect(v.alg).toBe({ 'ec-p256': 'ES256', 'rsa-2048': 'RS256', ed25519: 'EdDSA' }[keyType]);
    await r.check(ctx(), value, when());
    const data = Buffer.from(`signed by ${keyType}`);
    const signature = await signWithHsmKey(c, token.pin, value, data);
    expect(verifyHsmSignature(value, data, signature)).toBe(true);
    expect(verifyHsmSignature(value, Buffer.from('something else'), signature)).toBe(false);
    if (keyType === 'ec-p256') expect(signature.length).toBe(64); // JOSE r‖s
    const flags = (await inToken(v.label)).flags[0];
    expect(flags).toMatchObject({ sensitive: true, extractable: false });
    expect(JSON.stringify(value)).not.toContain('PRIVATE KEY');
    await r.retire!(ctx(), value);
  });

  test('overlap: after the next key is issued the old one still signs and verifies, until it is retired', async () => {
    const c = config();
    const r = renewer(c);
    const old = await r.issue(ctx(), null, 'v-overlap-1');
    const next = await r.issue(ctx(), old, 'v-overlap-2');
    const data = Buffer.from('a token signed during the overlap');
    expect(verifyHsmSignature(old, data, await signWithHsmKey(c, token.pin, old, data))).toBe(true);
    expect(verifyHsmSignature(next, data, await signWithHsmKey(c, token.pin, next, data))).toBe(true);
    await r.retire!(ctx(), old);
    expect((await failure(signWithHsmKey(c, token.pin, old, data))).code).toBe('KT_TARGET_FAILED');
    expect(verifyHsmSignature(next, data, await signWithHsmKey(c, token.pin, next, data))).toBe(true);
  });

  test('concurrent issues and checks share the module: each versionId gets its own key', async () => {
    const r = renewer();
    const ids = ['v-par-a', 'v-par-b', 'v-par-c', 'v-par-d'];
    const values = await Promise.all(ids.map((id) => r.issue(ctx(), null, id)));
    expect(new Set(values.map((v) => parseHsmKeyValue(v).kid)).size).toBe(ids.length);
    await Promise.all(values.map((v) => r.check(ctx(), v, when())));
    await Promise.all(values.map((v) => r.retire!(ctx(), v)));
  });

  test('outage: the token folder gone fails issue and check with KT_TARGET_UNAVAILABLE; back again, the current key still signs', async () => {
    const c = config();
    const r = renewer(c);
    const current = await r.issue(ctx(), null, 'v-outage-current');
    hsm.takeAway();
    try {
      const issued = await failure(r.issue(ctx(), current, 'v-outage-next'));
      expect(issued.code).toBe('KT_TARGET_UNAVAILABLE');
      expect(issued.message).toContain('cannot be reached to issue the key "keyturn-v-outage-next"');
      expect(issued.message).not.toContain(token.pin);
      expect((await failure(r.check(ctx(), current, when()))).code).toBe('KT_TARGET_UNAVAILABLE');
      expect((await failure(signWithHsmKey(c, token.pin, current, Buffer.from('x')))).code).toBe('KT_TARGET_UNAVAILABLE');
    } finally {
      hsm.bringBack();
    }
    await r.check(ctx(), current, when());
    const data = Buffer.from('after the outage');
    expect(verifyHsmSignature(current, data, await signWithHsmKey(c, token.pin, current, data))).toBe(true);
    // The failed issue made nothing.
    expect(await inToken('keyturn-v-outage-next')).toMatchObject({ privateKeys: 0, publicKeys: 0 });
  });

  test('outage: a missing module or an absent token is KT_TARGET_UNAVAILABLE', async () => {
    const missing = await failure(renewer(config('ec-p256', { module: '/nonexistent/libpkcs11.so' })).issue(ctx(), null, 'v-nomodule'));
    expect(missing.code).toBe('KT_TARGET_UNAVAILABLE');
    expect(missing.message).toContain('the module file does not exist');
    const notLibrary = await failure(renewer(config('ec-p256', { module: hsm.conf })).issue(ctx(), null, 'v-notlib'));
    expect(notLibrary.code).toBe('KT_TARGET_UNAVAILABLE');
    expect(notLibrary.message).toContain('cannot be loaded');
    const absent = await failure(renewer(config('ec-p256', { token: 'no-such-token' })).issue(ctx(), null, 'v-notoken'));
    expect(absent.code).toBe('KT_TARGET_UNAVAILABLE');
    expect(absent.message).toContain('no token with this label is present');
  });

  test('a wrong PIN is KT_TARGET_AUTH_FAILED without the PIN in the message; no PIN is KT_TARGET_ADMIN_REQUIRED', async () => {
    const wrongPin = 'wrong-pin-4711';
    const wrong = await failure(renewer().issue(ctx({ pin: wrongPin }), null, 'v-wrongpin'));
    expect(wrong.code).toBe('KT_TARGET_AUTH_FAILED');
    expect(wrong.message).toContain('refused the user PIN');
    expect(JSON.stringify({ message: wrong.message, details: wrong.details })).not.toContain(wrongPin);
    for (const admin of [null, {}, { pin: 1234 } as unknown as SecretValue, '']) {
      const e = await failure(renewer().issue(ctx(admin), null, 'v-nopin'));
      expect(e.code).toBe('KT_TARGET_ADMIN_REQUIRED');
    }
    // The PIN as a plain string works too.
    const value = await renewer().issue(ctx(token.pin), null, 'v-stringpin');
    await renewer().check(ctx(token.pin), value, when());
  });

  test('registry: renew only; set and test refuse other strategies; renewAt is null', async () => {
    const target = createTarget(config());
    expect(target.kind).toBe('hsm-key');
    expect(target.strategies).toEqual(['renew']);
    const e = await failure(target.set({ ...ctx(), strategy: 'single-user' }, { username: 'x', password: 'y' }, null));
    expect(e.code).toBe('KT_TARGET_STRATEGY_UNSUPPORTED');
    expect(target.renewer!.renewAt({})).toBeNull();
  });
});
