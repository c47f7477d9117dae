/**
 * `GET /v1/jwks/PATH` on a real listening server, read by jose's `createRemoteJWKSet` as a
 * verifier would: the versions of a signing-key secret are staged by hand (the engine's part is
 * tested end to end elsewhere), the previous one with the cleanup row a rotation leaves, and the
 * server's clock moved past maxTokenTtl to see the previous key leave.
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, createRemoteJWKSet, errors, importJWK, jwtVerify, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../src/core/clock.js';
import { CleanupsRepo } from '../src/engine/cleanups-repo.js';
import { generateSigningKey, type SigningKeyValue } from '../src/signing/keys.js';
import { apiHome, type ApiHome } from './helpers/api-home.js';
import { runCli } from './helpers/cli.js';

const PATH = 'prod/jwt/signing';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-03-01T12:00:00Z');
const CONFIG = `version: 1
targets:
  jwt-keys:
    type: signing-key
    alg: ES256
    prePublish: 5m
    maxTokenTtl: 1h
  plain:
    type: generic
secrets:
  prod/app/session:
    type: app-secret
    target: plain
    strategy: simple
  prod/app/untargeted:
    type: app-secret
  ${PATH}:
    type: signing-key
    target: jwt-keys
    schedule: { every: 30d }
`;

const clock = manualClock(T0 - 3 * HOUR);
let h: ApiHome;
let base: string;
let keys: Record<'gone' | 'previous' | 'current' | 'pending', SigningKeyValue & Record<string, never>>;

async function token(key: SigningKeyValue): Promise<string> {
  return new SignJWT({ sub: 'svc' })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(await importJWK(key.privateJwk, key.alg));
}

/** Verifies `jwt` against a fresh remote key set (no cache from an earlier fetch): the kid it found, or the jose error code. */
async function verify(jwt: string): Promise<string> {
  const set = createRemoteJWKSet(new URL(`${base}/v1/jwks/${PATH}`));
  try {
    return (await jwtVerify(jwt, set)).protectedHeader.kid!;
  } catch (e) {
    if (e instanceof errors.JOSEError) return e.code;
    throw e;
  }
}

beforeAll(async () => {
  h = await apiHome({
    config: CONFIG,
    clock,
    secrets: [
      ['prod/app/session', 'not a key'],
      ['prod/app/untargeted', 'x'],
    ],
  });
  const [gone, previous, current, pending] = await Promise.all([generateSigningKey('ES256'), generateSigningKey('ES256'), generateSigningKey('ES256'), generateSigningKey('ES256')]);
  keys = { gone, previous, current, pending } as typeof keys;
  // The history of two rotations: gone → previous (3 h ago), previous → current (at T0), and a run under way (pending).
  const store = h.kt.store;
  const v1 = await store.put(PATH, gone);
  clock.advance(HOUR);
  const v2 = await store.put(PATH, previous, { stages: ['pending'] });
  await store.moveStage(PATH, 'current', v2.id, v1.id);
  clock.set(T0 - 10 * 60_000);
  const v3 = await store.put(PATH, current, { stages: ['pending'] });
  clock.set(T0);
  await store.moveStage(PATH, 'current', v3.id, v2.id);
  const cleanups = new CleanupsRepo(h.kt.state, h.kt.clock);
  await h.kt.state.db.transaction().execute((trx) => cleanups.addWithin(trx, { path: PATH, versionId: v2.id, runId: 'run_test', replacedAt: T0, dueAt: T0 + HOUR }));
  await store.put(PATH, pending, { stages: ['pending'] });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await h?.close();
});

describe('GET /v1/jwks/PATH', () => {
  it('serves current, pending and previous public keys without a token, cached at most 60 s, nothing private', async () => {
    clock.set(T0 + 30 * 60_000);
    const before = (await h.kt.audit.head()).size;
    const r = await fetch(`${base}/v1/jwks/${PATH}`);
    expect(r.status).toBe(200);
    // Public keys only: the read is not audited.
    expect((await h.kt.audit.head()).size).toBe(before);
    expect(r.headers.get('cache-control')).toBe('public, max-age=60');
    const body = (await r.json()) as { keys: Array<Record<string, string>> };
    expect(body.keys.map((k) => k.kid)).toEqual([keys.current.kid, keys.pending.kid, keys.previous.kid]);
    for (const k of body.keys) {
      expect(Object.keys(k).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      expect(k).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    }
    const text = JSON.stringify(body);
    for (const k of Object.values(keys)) expect(text).not.toContain(k.privateJwk.d);
  });

  it('verifies tokens of the current key and of the previous one within maxTokenTtl; refuses a key no longer published', async () => {
    clock.set(T0 + 30 * 60_000);
    expect(await verify(await token(keys.current))).toBe(keys.current.kid);
    expect(await verify(await token(keys.previous))).toBe(keys.previous.kid);
    expect(await verify(await token(keys.gone))).toBe('ERR_JWKS_NO_MATCHING_KEY');
  });

  it('drops the previous key maxTokenTtl after it stopped signing: its tokens are refused, the current key still verifies', async () => {
    clock.set(T0 + HOUR - 20_000);
    const r = await fetch(`${base}/v1/jwks/${PATH}`);
    expect(r.headers.get('cache-control')).toBe('public, max-age=20');
    clock.set(T0 + HOUR);
    const previousToken = await token(keys.previous);
    expect(await verify(previousToken)).toBe('ERR_JWKS_NO_MATCHING_KEY');
    expect(await verify(await token(keys.current))).toBe(keys.current.kid);
    const after = (await (await fetch(`${base}/v1/jwks/${PATH}`)).json()) as { keys: Array<{ kid: string }> };
    expect(after.keys.map((k) => k.kid)).toEqual([keys.current.kid, keys.pending.kid]);
  });

  it('answers the same 404 KT_JWKS_NOT_FOUND for a missing secret, secrets that are not signing keys and a path that is not valid', async () => {
    const answers = await Promise.all(['prod/jwt/other', 'prod/app/session', 'prod/app/untargeted', 'prod//x', '..%2Fetc'].map((p) => h.call('GET', `/v1/jwks/${p}`, null)));
    for (const r of answers) {
      expect(r.statusCode).toBe(404);
      expect(r.json()).toEqual(answers[0]!.json());
    }
    expect(answers[0]!.json()).toMatchObject({ error: { code: 'KT_JWKS_NOT_FOUND', message: 'no JWKS is served at that path' } });
    // A token changes nothing: the answer does not depend on who asks.
    const h2 = await h.app.inject({ method: 'GET', url: '/v1/jwks/prod/app/session', headers: { authorization: 'Bearer kt_nonsense' } });
    expect(h2.statusCode).toBe(404);
  });

  it('is in /openapi.json, without a token requirement', async () => {
    const doc = (await h.call('GET', '/openapi.json', null)).json() as { paths: Record<string, { get?: { security?: unknown; tags: string[] } }> };
    expect(doc.paths['/v1/jwks/{path}']?.get).toMatchObject({ tags: ['signing-keys'] });
    expect(doc.paths['/v1/jwks/{path}']!.get!.security).toBeUndefined();
  });
});

describe('keyturn jwks PATH', () => {
  it('prints the key set the server serves, and writes it to a file (0644) a verifier reads', async () => {
    // The CLI opens the home with the real clock: long after T0 + maxTokenTtl, so the previous key is out.
    const printed = await runCli(['jwks', PATH], { env: h.env });
    expect(printed.code, printed.stderr).toBe(0);
    const jwks = JSON.parse(printed.stdout) as { keys: Array<{ kid: string; d?: string }> };
    expect(jwks.keys.map((k) => k.kid)).toEqual([keys.current.kid, keys.pending.kid]);
    const file = join(h.dir, 'www', 'jwks.json');
    const noFolder = await runCli(['jwks', PATH, '--out', file], { env: h.env });
    expect([noFolder.code, noFolder.stderr]).toEqual([2, expect.stringContaining('(ENOENT): --out must name a file in a folder that exists')]);
    mkdirSync(join(h.dir, 'www'));
    const written = await runCli(['jwks', PATH, '--out', file, '--json'], { env: h.env });
    expect(written.code, written.stderr).toBe(0);
    expect(JSON.parse(written.stdout)).toMatchObject({ path: PATH, file, outcome: 'written', kids: [keys.current.kid, keys.pending.kid] });
    expect(statSync(file).mode & 0o777).toBe(0o644);
    const set = createLocalJWKSet(JSON.parse(readFileSync(file, 'utf8')) as { keys: [] });
    expect((await jwtVerify(await token(keys.current), set)).protectedHeader.kid).toBe(keys.current.kid);
    const again = await runCli(['jwks', PATH, '--out', file, '--json'], { env: h.env });
    expect(JSON.parse(again.stdout)).toMatchObject({ outcome: 'unchanged' });
    const missing = await runCli(['jwks', 'prod/app/session'], { env: h.env });
    expect([missing.code, missing.stderr]).toEqual([3, expect.stringContaining('KT_JWKS_NOT_FOUND')]);
  });
});
