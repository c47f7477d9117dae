/**
 * OIDC / JWT login against a real JWKS endpoint (node:http on 127.0.0.1, RS256, ES256 and EdDSA keys generated with jose)
 * and real signed JWTs, through the real server (fastify's inject) on a home whose clock the test
 * moves: Kubernetes-like and GitHub-Actions-like tokens become sessions with exactly the policies
 * their rules grant; every bad JWT is the same 401; sessions end at the JWT's exp at the latest;
 * a new key in the set is fetched; failed logins are throttled with bad tokens; a key set that
 * cannot be fetched is a 503 of its own.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { exportSPKI, SignJWT, type JWK, type JWTPayload } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { OidcRepo } from '../src/access/oidc-repo.js';
import { loadSettings } from '../src/config/settings.js';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { createLogger } from '../src/core/logger.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { buildServer, type ServerOptions } from '../src/server/app.js';
import { jwksServer, newKey, type Key } from './helpers/jwks.js';
import { seeded } from './helpers/seeded.js';
import { tempDir } from './helpers/state.js';

const K8S_ISS = 'https://kubernetes.default.svc.cluster.local';
const GH_ISS = 'https://token.actions.githubusercontent.com';

let tmp: ReturnType<typeof tempDir>;
let clock: ManualClock;
let kt: Keyturn;
let logs: string;
let jwks: Awaited<ReturnType<typeof jwksServer>>;
let rsa: Key;
let ec: Key;
let apps: FastifyInstance[];

const now = () => Math.floor(clock.now() / 1000);

function sign(key: Key, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);
}

/** A Kubernetes projected service-account token's claims. */
const k8sClaims = (sa = 'system:serviceaccount:prod:app', extra: JWTPayload = {}): JWTPayload => ({
  iss: K8S_ISS,
  sub: sa,
  aud: ['keyturn'],
  iat: now(),
  nbf: now(),
  exp: now() + 3600,
  'kubernetes.io': { namespace: sa.split(':')[2], serviceaccount: { name: sa.split(':')[3] } },
  ...extra,
});

/** A GitHub Actions OIDC token's claims. */
const ghClaims = (extra: JWTPayload = {}): JWTPayload => ({
  iss: GH_ISS,
  sub: 'repo:org/app:ref:refs/heads/main',
  aud: 'keyturn',
  repository: 'org/app',
  repository_owner: 'org',
  ref: 'refs/heads/main',
  event_name: 'push',
  iat: now(),
  nbf: now(),
  exp: now() + 300,
  ...extra,
});

beforeEach(async () => {
  tmp = tempDir();
  clock = manualClock();
  const settings = loadSettings({ KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent' });
  await initHome(settings);
  const sink = new PassThrough();
  logs = '';
  sink.on('data', (d: Buffer) => (logs += d.toString()));
  kt = await openKeyturn(settings, { clock, log: createLogger('debug', sink) });
  jwks = await jwksServer();
  rsa = await newKey('RS256', 'k8s-1');
  ec = await newKey('ES256', 'gh-1');
  jwks.sets.set('/k8s/jwks', [rsa.jwk]);
  jwks.sets.set('/gh/jwks', [ec.jwk]);
  const access = new AccessRepo(kt.state, kt.clock);
  await access.putPolicy('app-read', 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n');
  await access.putPolicy('deploy', 'rules:\n  - path: prod/deploy/*\n    capabilities: [read, write]\n');
  const oidc = new OidcRepo(kt.state, kt.clock, access);
  await oidc.put(
    'k8s',
    `issuer: ${K8S_ISS}\njwksUrl: ${jwks.url}/k8s/jwks\naudiences: [keyturn]\nalgorithms: [RS256]\nmaxSessionTtl: 15m\nrules:\n  - claims:\n      sub: "system:serviceaccount:prod:*"\n    policies: [app-read]\n`,
  );
  await oidc.put(
    'github',
    `issuer: ${GH_ISS}\njwksUrl: ${jwks.url}/gh/jwks\naudiences: [keyturn]\nrules:\n  - claims:\n      repository: org/app\n      ref: refs/heads/main\n    policies: [deploy]\n`,
  );
  await kt.store.put('prod/app/token', 'app-secret');
  await kt.store.put('prod/deploy/config', 'deploy-secret');
  apps = [];
});

afterEach(async () => {
  for (const app of apps) await app.close();
  await jwks.close();
  await kt.close();
  tmp.remove();
});

async function server(options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = await buildServer(kt, options);
  apps.push(app);
  return app;
}

const login = (app: FastifyInstance, body: Record<string, unknown>, remoteAddress = '127.0.0.1') => app.inject({ method: 'POST', url: '/v1/auth/oidc/login', payload: body, remoteAddress });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('OIDC login', () => {
  it('a Kubernetes service-account token and a GitHub Actions token become sessions with exactly their policies', async () => {
    const app = await server();
    const k8s = await login(app, { jwt: await sign(rsa, k8sClaims()) });
    expect(k8s.statusCode, k8s.body).toBe(200);
    const session = k8s.json() as { token: string; id: string; expiresAt: string; expiresIn: number; subject: string; policies: string[] };
    // The issuer's 15 min cap, sooner than the JWT's exp (1 h).
    expect(session).toEqual({
      token: expect.stringMatching(/^kt_[A-Za-z0-9_-]{43}$/),
      id: expect.stringMatching(/^tok_/),
      expiresAt: new Date(clock.now() + 15 * 60_000).toISOString(),
      expiresIn: 900,
      subject: 'oidc:k8s:system:serviceaccount:prod:app',
      policies: ['app-read'],
    });
    expect((await app.inject({ url: '/v1/secrets/prod/app/token', headers: bearer(session.token) })).json()).toMatchObject({ value: 'app-secret' });
    expect((await app.inject({ url: '/v1/secrets/prod/deploy/config', headers: bearer(session.token) })).json()).toMatchObject({ error: { code: 'KT_ACCESS_DENIED' } });
    expect((await app.inject({ method: 'PUT', url: '/v1/secrets/prod/app/token', headers: bearer(session.token), payload: { value: 'x' } })).statusCode).toBe(403);

    const ed = await newKey('EdDSA', 'gh-ed');
    jwks.sets.set('/gh/jwks', [ec.jwk, ed.jwk]);
    // Named issuer; the GitHub token's exp (5 min) is sooner than the issuer's 1 h default.
    const gh = await login(app, { issuer: 'github', jwt: await sign(ec, ghClaims()) });
    expect(gh.statusCode, gh.body).toBe(200);
    const ghSession = gh.json() as { token: string; expiresAt: string; subject: string; policies: string[] };
    expect(ghSession).toMatchObject({ expiresAt: new Date((now() + 300) * 1000).toISOString(), subject: 'oidc:github:repo:org/app:ref:refs/heads/main', policies: ['deploy'] });
    const put = await app.inject({ method: 'PUT', url: '/v1/secrets/prod/deploy/config', headers: bearer(ghSession.token), payload: { value: 'v2' } });
    expect(put.statusCode, put.body).toBe(200);
    expect((await app.inject({ url: '/v1/secrets/prod/app/token', headers: bearer(ghSession.token) })).statusCode).toBe(403);
    // EdDSA, the third default algorithm, from the same set.
    const edLogin = await login(app, { jwt: await sign(ed, ghClaims()) });
    expect([edLogin.statusCode, edLogin.json().policies], edLogin.body).toEqual([200, ['deploy']]);

    // Sessions are normal tokens: listed with their subject and issuer, never stored in clear.
    const tokens = await new AccessRepo(kt.state, kt.clock).tokens();
    expect(tokens.map((t) => [t.subject, t.description]).sort()).toEqual([
      ['oidc:github:repo:org/app:ref:refs/heads/main', 'OIDC login through issuer github'],
      ['oidc:github:repo:org/app:ref:refs/heads/main', 'OIDC login through issuer github'],
      ['oidc:k8s:system:serviceaccount:prod:app', 'OIDC login through issuer k8s'],
    ]);
    // The session's creation is audited under its subject, with the request's correlation id.
    const events = (await kt.audit.between(0)).map((r) => JSON.parse(r.leaf) as { action: string; actor: string; source: string; path: string });
    expect(events.filter((e) => e.action === 'access.token.create').map((e) => [e.actor, e.source, e.path])).toEqual([
      ['oidc:k8s:system:serviceaccount:prod:app', 'api', session.id],
      ['oidc:github:repo:org/app:ref:refs/heads/main', 'api', expect.stringMatching(/^tok_/)],
      ['oidc:github:repo:org/app:ref:refs/heads/main', 'api', expect.stringMatching(/^tok_/)],
    ]);
    expect(JSON.stringify(await kt.audit.between(0))).not.toContain(session.token.slice(3));

    // The GitHub session ends with its JWT, the Kubernetes one 10 minutes later.
    clock.advance(300_000);
    expect((await app.inject({ url: '/v1/secrets/prod/deploy/config', headers: bearer(ghSession.token) })).json()).toMatchObject({ error: { code: 'KT_TOKEN_INVALID' } });
    expect((await app.inject({ url: '/v1/secrets/prod/app/token', headers: bearer(session.token) })).statusCode).toBe(200);
    clock.advance(600_000);
    expect((await app.inject({ url: '/v1/secrets/prod/app/token', headers: bearer(session.token) })).statusCode).toBe(401);
  });

  it('refuses every bad JWT with the same 401 KT_OIDC_LOGIN_FAILED, creates no session, and logs which check failed (never the JWT)', async () => {
    const app = await server({ authFailures: { limit: 1000 } });
    const stranger = await newKey('RS256', 'nobody');
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const good = await sign(rsa, k8sClaims());
    const [h, p, s] = good.split('.') as [string, string, string];
    const pem = await exportSPKI(rsa.publicKey);
    const { exp: _exp, ...noExp } = k8sClaims();
    const cases: Array<[string, Record<string, unknown>]> = [
      ['wrong issuer', { jwt: await sign(rsa, k8sClaims(undefined, { iss: 'https://evil.example' })) }],
      ['a JWT of one issuer sent to another', { issuer: 'github', jwt: good }],
      ['another iss for the issuer named', { issuer: 'k8s', jwt: await sign(rsa, k8sClaims(undefined, { iss: 'https://evil.example' })) }],
      ['unknown issuer name', { issuer: 'nope', jwt: good }],
      ['wrong audience', { jwt: await sign(rsa, k8sClaims(undefined, { aud: ['someone-else'] })) }],
      ['expired', { jwt: await sign(rsa, k8sClaims(undefined, { iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 })) }],
      ['expired within the clock tolerance', { jwt: await sign(rsa, k8sClaims(undefined, { exp: now() - 10 })) }],
      ['not yet valid', { jwt: await sign(rsa, k8sClaims(undefined, { nbf: now() + 3600, exp: now() + 7200 })) }],
      ['no exp', { jwt: await sign(rsa, noExp) }],
      ['bad signature', { jwt: `${h}.${b64({ ...k8sClaims(), sub: 'system:serviceaccount:prod:admin' })}.${s}` }],
      ['signature of another payload', { jwt: `${h}.${p}.${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}` }],
      ['alg none', { jwt: `${b64({ alg: 'none', typ: 'JWT' })}.${p}.` }],
      ['HS256 with the public key as its secret', { jwt: await new SignJWT(k8sClaims()).setProtectedHeader({ alg: 'HS256', kid: rsa.kid }).sign(new TextEncoder().encode(pem)) }],
      ['an algorithm the issuer does not allow', { jwt: await sign(ec, k8sClaims(), { kid: rsa.kid }) }],
      ['unknown kid', { jwt: await sign(stranger, k8sClaims()) }],
      ['a key not in the set under a known kid', { jwt: await sign({ ...stranger, kid: rsa.kid }, k8sClaims()) }],
      ['claims no rule matches', { jwt: await sign(rsa, k8sClaims('system:serviceaccount:dev:app')) }],
      ['not a JWT', { jwt: 'not-a-jwt' }],
      ['no iss to pick an issuer by', { jwt: await sign(rsa, { ...k8sClaims(), iss: undefined }) }],
    ];
    const before = (await new AccessRepo(kt.state, kt.clock).tokens()).length;
    const bodies = new Set<string>();
    for (const [what, body] of cases) {
      const r = await login(app, body);
      expect([what, r.statusCode]).toEqual([what, 401]);
      expect(r.json(), what).toMatchObject({ error: { code: 'KT_OIDC_LOGIN_FAILED' } });
      bodies.add(r.body);
    }
    // One answer for all: the caller cannot tell which check failed.
    expect(bodies.size).toBe(1);
    expect((await new AccessRepo(kt.state, kt.clock).tokens()).length).toBe(before);
    // The server's debug log says why, and never holds a JWT.
    expect(logs).toContain('"reason":"no rule matches the claims"');
    expect(logs).toContain('ERR_JWT_CLAIM_VALIDATION_FAILED');
    expect(logs).toContain('ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
    expect(logs).toContain('unexpected \\"iss\\" claim value');
    expect(logs).not.toContain(p);
    expect(logs).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
    // The good JWT still logs in.
    expect((await login(app, { jwt: good })).statusCode).toBe(200);
  });

  it('300 seeded random headers and payloads, signed and not (seed 20261205): each 401 or a session, never another answer', async () => {
    const app = await server({ authFailures: { limit: 10_000 } });
    const rng = seeded(20261205);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const b64 = (o: unknown) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
    const odd = [null, 0, -1, 1e308, '', 'x', [], {}, ['keyturn'], true, 'A'.repeat(2000)];
    for (let i = 0; i < 300; i++) {
      const claims: Record<string, unknown> = { ...k8sClaims() };
      for (const k of ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat']) if (rng() < 0.2) claims[k] = pick(odd);
      const header: Record<string, unknown> = { alg: pick(['RS256', 'none', 'HS256', 'ES256', 'PS256', 7, null]), kid: pick([rsa.kid, 'x', 1, null]), typ: 'JWT' };
      if (rng() < 0.1) header.crit = pick([['b64'], ['x'], 'b64', []]);
      if (rng() < 0.1) header.b64 = false;
      const form = rng();
      let jwt: string;
      if (form < 0.3 && header.alg === 'RS256' && typeof claims.exp === 'number' && header.crit === undefined && header.b64 === undefined) jwt = await sign(rsa, claims as JWTPayload);
      else if (form < 0.6) jwt = `${b64(header)}.${b64(claims)}.${b64(pick(['', 'sig', 'A'.repeat(342)]))}`;
      else jwt = pick([`${b64('{')}.${b64(claims)}.x`, `..`, `a.b.c.d.e`, `${b64(header)}..`, `.${b64(claims)}.`, `${b64(header)}.${b64('[1]')}.x`, b64(claims)]);
      const r = await login(app, pick([{ jwt }, { issuer: 'k8s', jwt }]));
      expect([i, r.statusCode === 200 || (r.statusCode === 401 && r.json().error.code === 'KT_OIDC_LOGIN_FAILED')], r.body).toEqual([i, true]);
    }
  });

  it('a new key in the issuer set is fetched when a JWT names it; no refetch within the cooldown', async () => {
    const app = await server({ oidc: { jwksCooldownMs: 0 } });
    expect((await login(app, { jwt: await sign(rsa, k8sClaims()) })).statusCode).toBe(200);
    const fetched = jwks.fetches();
    const next = await newKey('RS256', 'k8s-2');
    jwks.sets.set('/k8s/jwks', [rsa.jwk, next.jwk]);
    const r = await login(app, { jwt: await sign(next, k8sClaims()) });
    expect(r.statusCode, r.body).toBe(200);
    expect(jwks.fetches()).toBe(fetched + 1);
    // A known key is served from the cache.
    expect((await login(app, { jwt: await sign(rsa, k8sClaims()) })).statusCode).toBe(200);
    expect(jwks.fetches()).toBe(fetched + 1);

    // With a cooldown (one hour here), an unknown kid right after a fetch is refused without fetching.
    const cool = await server({ oidc: { jwksCooldownMs: 3_600_000 } });
    expect((await login(cool, { jwt: await sign(rsa, k8sClaims()) })).statusCode).toBe(200);
    const third = await newKey('RS256', 'k8s-3');
    jwks.sets.set('/k8s/jwks', [rsa.jwk, next.jwk, third.jwk]);
    const count = jwks.fetches();
    expect((await login(cool, { jwt: await sign(third, k8sClaims()) })).statusCode).toBe(401);
    expect(jwks.fetches()).toBe(count);
  });

  it('failed logins count with bad tokens towards the same throttle: then 429 KT_AUTH_THROTTLED, even for a good JWT', async () => {
    const app = await server();
    const bad = await sign(rsa, k8sClaims('system:serviceaccount:dev:app'));
    for (let i = 0; i < 5; i++) expect((await login(app, { jwt: bad })).statusCode).toBe(401);
    for (let i = 0; i < 5; i++) expect((await app.inject({ url: '/v1/secrets/prod/app/token', headers: bearer(`kt_${String(i).padStart(43, 'x')}`) })).statusCode).toBe(401);
    const blocked = await login(app, { jwt: await sign(rsa, k8sClaims()) });
    expect([blocked.statusCode, blocked.json().error.code]).toEqual([429, 'KT_AUTH_THROTTLED']);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    // Another address is not blocked; the window ends and the address logs in again.
    expect((await login(app, { jwt: await sign(rsa, k8sClaims()) }, '127.0.0.2')).statusCode).toBe(200);
    clock.advance(60_000);
    expect((await login(app, { jwt: await sign(rsa, k8sClaims()) })).statusCode).toBe(200);
  });

  it('a key set that cannot be fetched is 503 KT_OIDC_JWKS_UNAVAILABLE, not counted as a failed login', async () => {
    const app = await server({ authFailures: { limit: 2 } });
    jwks.status.code = 500;
    for (let i = 0; i < 3; i++) {
      const r = await login(app, { jwt: await sign(rsa, k8sClaims()) });
      expect([r.statusCode, r.json().error.code]).toEqual([503, 'KT_OIDC_JWKS_UNAVAILABLE']);
      expect(r.body).not.toContain(jwks.url);
    }
    expect(logs).toContain('"reason":"answered 500"');
    // Not JSON, not a key set: unavailable too.
    jwks.status.code = 200;
    jwks.sets.set('/gh/jwks', { not: 'a key set' } as unknown as JWK[]);
    expect((await login(app, { jwt: await sign(ec, ghClaims()) })).json()).toMatchObject({ error: { code: 'KT_OIDC_JWKS_UNAVAILABLE' } });
    // Back: the login works (no throttle from the 503s).
    expect((await login(app, { jwt: await sign(rsa, k8sClaims()) })).statusCode).toBe(200);
    // An endpoint that never answers (the server's fetch timeout, 300 ms here), one that answers too much.
    const oidc = new OidcRepo(kt.state, kt.clock, new AccessRepo(kt.state, kt.clock));
    const base = 'jwksUrl: URL\naudiences: [keyturn]\nrules:\n  - claims: { sub: "*" }\n    policies: [app-read]\n';
    await oidc.put('slow', `issuer: https://slow.example\n${base.replace('URL', `${jwks.url}/hang`)}`);
    await oidc.put('big', `issuer: https://big.example\n${base.replace('URL', `${jwks.url}/big`)}`);
    const timed = await server({ oidc: { jwksTimeoutMs: 300 } });
    expect((await login(timed, { jwt: await sign(rsa, k8sClaims(undefined, { iss: 'https://slow.example' })) })).json()).toMatchObject({ error: { code: 'KT_OIDC_JWKS_UNAVAILABLE' } });
    expect(logs).toContain('"reason":"timed out"');
    expect((await login(timed, { jwt: await sign(rsa, k8sClaims(undefined, { iss: 'https://big.example' })) })).json()).toMatchObject({ error: { code: 'KT_OIDC_JWKS_UNAVAILABLE' } });
    expect(logs).toContain('"reason":"answer too large"');
    // An endpoint that does not answer at all.
    await jwks.close();
    const gone = await server();
    expect((await login(gone, { jwt: await sign(rsa, k8sClaims()) })).json()).toMatchObject({ error: { code: 'KT_OIDC_JWKS_UNAVAILABLE' } });
    jwks = await jwksServer();
  });

  it('a key set served over https with a private CA: fetched when the issuer names the CA (jwksCa), refused (503) when it does not', async () => {
    const cert = join(tmp.dir, 'jwks.crt');
    const key = join(tmp.dir, 'jwks.key');
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=jwks', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { stdio: 'ignore' },
    );
    const pem = readFileSync(cert, 'utf8');
    const https = createHttpsServer({ cert: pem, key: readFileSync(key) }, (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [rsa.jwk] })));
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    try {
      const url = `https://127.0.0.1:${(https.address() as { port: number }).port}/jwks`;
      const oidc = new OidcRepo(kt.state, kt.clock, new AccessRepo(kt.state, kt.clock));
      const doc = (iss: string, ca: string | null) =>
        `issuer: ${iss}\njwksUrl: ${url}\n${ca === null ? '' : `jwksCa: |\n${ca.trim().replace(/^/gm, '  ')}\n`}audiences: [keyturn]\nrules:\n  - claims: { sub: "system:serviceaccount:prod:*" }\n    policies: [app-read]\n`;
      await oidc.put('private', doc('https://private.example', pem));
      await oidc.put('system-cas', doc('https://system-cas.example', null));
      await expect(oidc.put('bad-ca', doc('https://bad.example', '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----'))).rejects.toMatchObject({
        code: 'KT_OIDC_ISSUER_INVALID',
      });
      const app = await server();
      const ok = await login(app, { jwt: await sign(rsa, k8sClaims(undefined, { iss: 'https://private.example' })) });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ subject: 'oidc:private:system:serviceaccount:prod:app', policies: ['app-read'] });
      const refused = await login(app, { jwt: await sign(rsa, k8sClaims(undefined, { iss: 'https://system-cas.example' })) });
      expect([refused.statusCode, refused.json().error.code]).toEqual([503, 'KT_OIDC_JWKS_UNAVAILABLE']);
    } finally {
      https.closeAllConnections();
      await new Promise<void>((resolve) => https.close(() => resolve()));
    }
  });

  it('is in /openapi.json without a security requirement; a malformed body is 400 KT_USAGE', async () => {
    const app = await server();
    const doc = (await app.inject({ url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { security?: unknown; tags: string[] }>> };
    expect(doc.paths['/v1/auth/oidc/login']!.post).toMatchObject({ tags: ['auth'] });
    expect(doc.paths['/v1/auth/oidc/login']!.post!.security).toBeUndefined();
    for (const body of [{}, { jwt: '' }, { jwt: 'x', extra: 1 }, { jwt: 'x'.repeat(20_000) }]) expect((await login(app, body)).json()).toMatchObject({ error: { code: 'KT_USAGE' } });
  });
});
