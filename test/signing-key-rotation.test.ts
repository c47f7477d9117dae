/**
 * Signing keys rotated for real (the engine's `renew` strategy and the signing-key target), verified
 * the way an application does it: jose's remote JWKS against `keyturn server`'s
 * `GET /v1/jwks/PATH`. On a manual clock, a signer signs a token every minute with the key that is
 * current then (each valid maxTokenTtl), across two rotations (each waits prePublish with its new
 * key published before it signs); at every minute every token still unexpired is verified by a
 * strict verifier that refreshes its copy of the JWKS only every 4 minutes (less than prePublish)
 * and never on an unknown kid: 0 failures (with prePublish: 1m the same test fails). A token signed by the first key, verified after
 * that key left (maxTokenTtl after it stopped signing), is refused.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors, importJWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/core/clock.js';
import type { Engine } from '../src/engine/engine.js';
import type { SigningKeyValue } from '../src/signing/keys.js';
import { apiHome, type ApiHome } from './helpers/api-home.js';
import { engineWith } from './helpers/engines.js';

const PATH = 'prod/jwt/signing';
const MINUTE = 60_000;
const TTL_S = 3600;
const CONFIG = `version: 1
targets:
  jwt-keys: { type: signing-key, alg: ES256, prePublish: 5m, maxTokenTtl: 1h }
secrets:
  ${PATH}:
    type: signing-key
    target: jwt-keys
    schedule: { manual: true }
`;

const clock = manualClock(Date.parse('2026-12-01T00:00:00Z'));
let h: ApiHome;
let engine: Engine;
let jwks: URL;

beforeAll(async () => {
  h = await apiHome({ config: CONFIG, clock });
  engine = engineWith(h.kt, undefined, { clock });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  jwks = new URL(`http://127.0.0.1:${(h.app.server.address() as { port: number }).port}/v1/jwks/${PATH}`);
});

afterAll(async () => {
  await h?.close();
});

async function current(): Promise<SigningKeyValue> {
  return (await h.kt.store.get(PATH))!.value as unknown as SigningKeyValue;
}

async function sign(key: SigningKeyValue, ttlS = TTL_S): Promise<{ jwt: string; exp: number; kid: string }> {
  const iat = Math.floor(clock.now() / 1000);
  const jwt = await new SignJWT({ sub: 'svc' })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlS)
    .sign(await importJWK(key.privateJwk, key.alg));
  return { jwt, exp: iat + ttlS, kid: key.kid };
}

/** A verifier's copy of the JWKS, fetched again only once it is CACHE_MS old on the clock (no refetch on an unknown kid: the strictest client). */
const CACHE_MS = 4 * MINUTE;
let cached: { at: number; set: ReturnType<typeof createLocalJWKSet> } | null = null;

async function cachedSet(): Promise<ReturnType<typeof createLocalJWKSet>> {
  if (cached === null || clock.now() - cached.at >= CACHE_MS) {
    const r = await fetch(jwks);
    expect(r.status).toBe(200);
    cached = { at: clock.now(), set: createLocalJWKSet((await r.json()) as Parameters<typeof createLocalJWKSet>[0]) };
  }
  return cached.set;
}

/** Verifies at the clock's time against the verifier's cached JWKS, or a fresh fetch: 'ok' or jose's error code. */
async function verify(jwt: string, fresh = false): Promise<string> {
  const set = fresh ? createRemoteJWKSet(jwks, { cacheMaxAge: 0, cooldownDuration: 0 }) : await cachedSet();
  try {
    await jwtVerify(jwt, set, { currentDate: new Date(clock.now()) });
    return 'ok';
  } catch (e) {
    if (e instanceof errors.JOSEError) return e.code;
    throw e;
  }
}

describe('signing keys rotated twice under a continuous token stream, verified with jose by a client caching the JWKS', () => {
  it('0 failed verifications; the first key is refused once maxTokenTtl has passed after it stopped signing', async () => {
    // The first key too is published prePublish before it signs.
    const first = await engine.rotate(PATH);
    expect(first).toMatchObject({ status: 'retrying', step: 'test' });
    clock.set(first.nextAttemptAt!);
    expect((await engine.rotate(PATH, { ifDue: true })).status).toBe('done');
    const keyA = await current();
    const lateA = await sign(keyA, 3 * TTL_S);

    const outstanding: Array<{ jwt: string; exp: number; kid: string }> = [];
    const failures: string[] = [];
    const kidsSigned = new Set<string>();
    let verified = 0;
    let waited = 0;
    let run: Awaited<ReturnType<Engine['rotate']>> | null = null;
    for (let minute = 0; minute < 200; minute++) {
      // Two rotations: started at minutes 20 and 90; each waits prePublish (5 minutes), resumed when due.
      if (minute === 20 || minute === 90) {
        run = await engine.rotate(PATH);
        expect(run).toMatchObject({ status: 'retrying', step: 'test', errorCode: null });
        waited += 1;
      } else if (run && run.status === 'retrying' && run.nextAttemptAt! <= clock.now()) {
        run = await engine.rotate(PATH, { ifDue: true });
        expect(run.status, JSON.stringify(run)).toBe('done');
      }
      const key = await current();
      kidsSigned.add(key.kid);
      outstanding.push(await sign(key));
      const now = Math.floor(clock.now() / 1000);
      for (const t of outstanding.filter((x) => x.exp > now)) {
        const r = await verify(t.jwt);
        verified += 1;
        if (r !== 'ok') failures.push(`minute ${minute}: a token of ${t.kid} (exp in ${t.exp - now}s): ${r}`);
      }
      clock.advance(MINUTE);
    }
    expect(waited).toBe(2);
    expect(kidsSigned.size, 'three keys signed in turn').toBe(3);
    expect(failures).toEqual([]);
    expect(verified).toBeGreaterThan(10_000);
    // Key A stopped signing at about minute 25; by minute 200 it left the JWKS (1 h later): its long-lived token is refused.
    expect(await verify(lateA.jwt, true)).toBe('ERR_JWKS_NO_MATCHING_KEY');
  }, 300_000);
});
