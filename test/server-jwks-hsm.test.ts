/**
 * `GET /v1/jwks/PATH` for hsm-key secrets (src/signing/publishers.ts), on a real listening server
 * read by jose's `createRemoteJWKSet` as a verifier would.
 *
 * - Versions staged by hand, shaped like hsm-key values over key pairs made here (the JWKS reads
 *   stored values only: that target's token does not even exist): current and pending published,
 *   the previous key until `replacedAt + grace`, or until its cleanup row says it was retired;
 *   with no grace, while it is previous.
 * - With a real SoftHSM2 token (test/helpers/softhsm.ts): keys issued in the token by the
 *   renewer, a JWT signed IN the token (signWithHsmKey) verifies against the served JWKS; the
 *   previous key's token too, until the key is destroyed and its cleanup says so.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/core/clock.js';
import { createLogger } from '../src/core/logger.js';
import type { JsonValue, SecretValue } from '../src/core/types.js';
import { CleanupsRepo } from '../src/engine/cleanups-repo.js';
import { signWithHsmKey } from '../src/targets/hsm-key/sign.js';
import { hsmKeyValue, toSecretValue, type HsmKeyValue } from '../src/targets/hsm-key/value.js';
import { createTarget } from '../src/targets/registry.js';
import type { TargetContext } from '../src/targets/target.js';
import { apiHome, type ApiHome } from './helpers/api-home.js';
import { runCli } from './helpers/cli.js';
import { SOFTHSM_MODULE, softHsm, type SoftHsm, type SoftHsmToken } from './helpers/softhsm.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-01T12:00:00Z');
const HAND = 'prod/jwt/hsm';
const NO_GRACE = 'prod/jwt/hsm-nograce';
const REAL = 'prod/jwt/softhsm';
const REAL_TOKEN = 'kt-jwks';
const CONFIG = `version: 1
targets:
  hand-hsm:
    type: hsm-key
    module: ${SOFTHSM_MODULE}
    token: no-such-token
  real-hsm:
    type: hsm-key
    module: ${SOFTHSM_MODULE}
    token: ${REAL_TOKEN}
secrets:
  ${HAND}:
    type: signing-key
    target: hand-hsm
    schedule: { every: 90d, grace: 1d }
  ${NO_GRACE}:
    type: signing-key
    target: hand-hsm
    schedule: { every: 90d }
  ${REAL}:
    type: signing-key
    target: real-hsm
    schedule: { every: 90d, grace: 1d }
`;

type Value = HsmKeyValue & { [field: string]: JsonValue };
interface HandKey {
  value: Value;
  privateKey: KeyObject;
}

const clock = manualClock(T0 - 3 * HOUR);
let h: ApiHome;
let base: string;
let hsm: SoftHsm;
let token: SoftHsmToken;

/** An hsm-key value as the renewer makes it, over a P-256 pair made here (its private half kept by the test to sign). */
function handKey(): HandKey {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const value = toSecretValue(
    hsmKeyValue({ label: `keyturn-${randomBytes(4).toString('hex')}`, id: randomBytes(16), keyType: 'ec-p256', publicKey: pair.publicKey, place: { module: SOFTHSM_MODULE, token: 'no-such-token' } }),
  ) as Value;
  return { value, privateKey: pair.privateKey };
}

async function handToken(key: HandKey): Promise<string> {
  return new SignJWT({ sub: 'svc' }).setProtectedHeader({ alg: 'ES256', kid: key.value.kid }).setIssuedAt().setExpirationTime('2h').sign(key.privateKey);
}

/** Verifies `jwt` against a fresh remote key set of `path`: the kid it found, or the jose error code. */
async function verify(path: string, jwt: string): Promise<string> {
  const set = createRemoteJWKSet(new URL(`${base}/v1/jwks/${path}`));
  try {
    return (await jwtVerify(jwt, set)).protectedHeader.kid!;
  } catch (e) {
    if (e instanceof errors.JOSEError) return e.code;
    throw e;
  }
}

async function kidsOf(path: string): Promise<string[]> {
  const r = await fetch(`${base}/v1/jwks/${path}`);
  expect(r.status).toBe(200);
  return ((await r.json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
}

/**
 * Stages `gone` → `previous` → `current` (replaced at T0, with the cleanup row a rotation leaves)
 * and `pending` on `path`, as the engine would; returns the previous version's id.
 */
async function stage(path: string, values: { gone: SecretValue; previous: SecretValue; current: SecretValue; pending?: SecretValue }): Promise<string> {
  const store = h.kt.store;
  clock.set(T0 - 3 * HOUR);
  const v1 = await store.put(path, values.gone);
  clock.set(T0 - 2 * HOUR);
  const v2 = await store.put(path, values.previous, { stages: ['pending'] });
  await store.moveStage(path, 'current', v2.id, v1.id);
  clock.set(T0 - 10 * 60_000);
  const v3 = await store.put(path, values.current, { stages: ['pending'] });
  clock.set(T0);
  await store.moveStage(path, 'current', v3.id, v2.id);
  const cleanups = new CleanupsRepo(h.kt.state, h.kt.clock);
  await h.kt.state.db.transaction().execute((trx) => cleanups.addWithin(trx, { path, versionId: v2.id, runId: 'run_test', replacedAt: T0, dueAt: T0 + DAY }));
  if (values.pending !== undefined) await store.put(path, values.pending, { stages: ['pending'] });
  return v2.id;
}

/** Marks the previous version's cleanup row as the engine's retire leaves it: revoke done, purge pending. */
async function markRetired(path: string, versionId: string): Promise<void> {
  const cleanups = new CleanupsRepo(h.kt.state, h.kt.clock);
  const row = await cleanups.get(path, versionId);
  expect(row).not.toBeNull();
  await cleanups.update(row!, { revoke: 'done' });
}

let hand: Record<'gone' | 'previous' | 'current' | 'pending', HandKey>;
let handPreviousId: string;
let noGrace: Record<'gone' | 'previous' | 'current', HandKey>;

beforeAll(async () => {
  hsm = softHsm();
  token = hsm.initToken(REAL_TOKEN);
  h = await apiHome({ config: CONFIG, clock });
  hand = { gone: handKey(), previous: handKey(), current: handKey(), pending: handKey() };
  handPreviousId = await stage(HAND, { gone: hand.gone.value, previous: hand.previous.value, current: hand.current.value, pending: hand.pending.value });
  noGrace = { gone: handKey(), previous: handKey(), current: handKey() };
  await stage(NO_GRACE, { gone: noGrace.gone.value, previous: noGrace.previous.value, current: noGrace.current.value });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await h?.close();
  hsm?.cleanup();
});

describe('GET /v1/jwks/PATH of an hsm-key secret (versions staged by hand)', () => {
  it('serves current, pending and previous public keys without a token, nothing but public members', async () => {
    clock.set(T0 + HOUR);
    const r = await fetch(`${base}/v1/jwks/${HAND}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('public, max-age=60');
    const body = (await r.json()) as { keys: Array<Record<string, string>> };
    expect(body.keys.map((k) => k.kid)).toEqual([hand.current.value.kid, hand.pending.value.kid, hand.previous.value.kid]);
    for (const k of body.keys) {
      expect(Object.keys(k).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    }
    // The stored value's other fields (where the key lives) are not published.
    expect(JSON.stringify(body)).not.toContain(hand.current.value.label);
  });

  it('verifies tokens of the current and previous keys within the grace; refuses a key no longer published', async () => {
    clock.set(T0 + DAY - 1);
    expect(await verify(HAND, await handToken(hand.current))).toBe(hand.current.value.kid);
    expect(await verify(HAND, await handToken(hand.previous))).toBe(hand.previous.value.kid);
    expect(await verify(HAND, await handToken(hand.gone))).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('drops the previous key when the grace ends (cache shortened before), and at once once its cleanup retired it', async () => {
    clock.set(T0 + DAY - 30_000);
    expect((await fetch(`${base}/v1/jwks/${HAND}`)).headers.get('cache-control')).toBe('public, max-age=30');
    clock.set(T0 + DAY);
    expect(await verify(HAND, await handToken(hand.previous))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(await kidsOf(HAND)).toEqual([hand.current.value.kid, hand.pending.value.kid]);
    // Within the grace again (the clock moved back), the retired key stays out.
    clock.set(T0 + HOUR);
    expect(await kidsOf(HAND)).toContain(hand.previous.value.kid);
    await markRetired(HAND, handPreviousId);
    expect(await kidsOf(HAND)).toEqual([hand.current.value.kid, hand.pending.value.kid]);
  });

  it('with no grace keeps the previous key while it is previous', async () => {
    clock.set(T0 + 365 * DAY);
    expect(await kidsOf(NO_GRACE)).toEqual([noGrace.current.value.kid, noGrace.previous.value.kid]);
    expect(await verify(NO_GRACE, await handToken(noGrace.previous))).toBe(noGrace.previous.value.kid);
  });

  it('keyturn jwks PATH prints the same key set', async () => {
    // The CLI opens the home with the real clock (after T0 + grace): current and pending.
    const printed = await runCli(['jwks', HAND], { env: h.env });
    expect(printed.code, printed.stderr).toBe(0);
    expect((JSON.parse(printed.stdout) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)).toEqual([hand.current.value.kid, hand.pending.value.kid]);
  });
});

describe('GET /v1/jwks/PATH with keys in a real SoftHSM2 token', () => {
  const log = createLogger('silent');
  const config = () => ({ type: 'hsm-key' as const, module: hsm.module, token: REAL_TOKEN });
  const ctx = (): TargetContext => ({ strategy: 'renew', admin: null, adminValue: { pin: token.pin }, primaryUsername: '', log, signal: AbortSignal.timeout(20_000) });

  /** A JWT (ES256) signed inside the token: the JWS signing input built here, its signature made by the HSM. */
  async function hsmToken(value: SecretValue): Promise<string> {
    const v = value as Value;
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64({ alg: 'ES256', typ: 'JWT', kid: v.kid })}.${b64({ sub: 'svc', iat: now, exp: now + 3600 })}`;
    const signature = await signWithHsmKey(config(), token.pin, value, Buffer.from(input));
    return `${input}.${signature.toString('base64url')}`;
  }

  it('a token signed in the HSM verifies against the served JWKS; the previous key until it is destroyed and retired', async () => {
    const renewer = createTarget(config()).renewer!;
    const [gone, previous, current] = [await renewer.issue(ctx(), null, 'v1'), await renewer.issue(ctx(), null, 'v2'), await renewer.issue(ctx(), null, 'v3')];
    const previousId = await stage(REAL, { gone, previous, current });
    clock.set(T0 + HOUR);
    expect(await kidsOf(REAL)).toEqual([(current as Value).kid, (previous as Value).kid]);
    const currentJwt = await hsmToken(current);
    expect(await verify(REAL, currentJwt)).toBe((current as Value).kid);
    expect(await verify(REAL, await hsmToken(previous))).toBe((previous as Value).kid);
    expect(await verify(REAL, await hsmToken(gone))).toBe('ERR_JWKS_NO_MATCHING_KEY');
    // The same served set, as a local key set (what `keyturn jwks --out` writes).
    const served = (await (await fetch(`${base}/v1/jwks/${REAL}`)).json()) as { keys: [] };
    expect((await jwtVerify(currentJwt, createLocalJWKSet(served))).payload.sub).toBe('svc');

    // The cleanup after the grace: the key is destroyed in the token, the row says revoke done.
    await renewer.retire!(ctx(), previous);
    await markRetired(REAL, previousId);
    await expect(hsmToken(previous)).rejects.toMatchObject({ code: 'KT_TARGET_FAILED' });
    expect(await kidsOf(REAL)).toEqual([(current as Value).kid]);
    expect(await verify(REAL, await hsmToken(current))).toBe((current as Value).kid);
  });
});
