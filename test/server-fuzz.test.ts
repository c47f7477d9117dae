/**
 * 5,000 random and malformed requests against every route of the API (fastify's inject, seeded; the seed is in the
 * test name, KEYTURN_API_FUZZ_SEED replays a run): bad JSON, huge bodies, odd paths and query
 * strings, wrong types, bad, expired and revoked tokens, wrong methods. Every answer is a JSON
 * error with a KT_ code or a success, never a 5xx; the server answers normally afterwards; and
 * nothing was written by a refused request (the secrets and their versions, the policies, the tokens
 * and the break-glass requests are exactly what the accepted requests made).
 */
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { loadSettings } from '../src/config/settings.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { buildServer, detectionOf } from '../src/server/app.js';
import { AnomaliesRepo } from '../src/detect/anomalies-repo.js';
import { seeded } from './helpers/seeded.js';
import { tempDir } from './helpers/state.js';

const SEED = Number(process.env.KEYTURN_API_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const REQUESTS = Number(process.env.KEYTURN_API_FUZZ_REQUESTS ?? 5000);

let tmp: ReturnType<typeof tempDir>;
let kt: Keyturn;
let app: FastifyInstance;
const tokens: Record<'admin' | 'reader' | 'expired' | 'revoked', string> = { admin: '', reader: '', expired: '', revoked: '' };

beforeAll(async () => {
  tmp = tempDir();
  const settings = loadSettings({ KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent' });
  await initHome(settings);
  kt = await openKeyturn(settings);
  const access = new AccessRepo(kt.state, kt.clock);
  await access.putPolicy('reader', 'rules:\n  - path: "fz/**"\n    capabilities: [read, list]\n');
  tokens.admin = (await access.createToken({ policies: ['admin'] })).token;
  tokens.reader = (await access.createToken({ policies: ['reader'] })).token;
  const expired = await access.createToken({ policies: ['admin'], ttlMs: 1 });
  tokens.expired = expired.token;
  const revoked = await access.createToken({ policies: ['admin'] });
  await access.revokeToken(revoked.info.id);
  tokens.revoked = revoked.token;
  for (const p of ['fz/a', 'fz/b/c', 'other/x']) await kt.store.put(p, { user: 'u', password: `pw-${p}` });
  // Every injected request comes from one address: no slow-down for failed tokens here (test/server.test.ts tests it).
  app = await buildServer(kt, { authFailures: { limit: Number.MAX_SAFE_INTEGER } });
}, 60_000);

afterAll(async () => {
  await app.close();
  await kt.close();
  tmp.remove();
});

describe(`the API under ${REQUESTS} random and malformed requests (KEYTURN_API_FUZZ_SEED=${SEED})`, () => {
  it('never answers 5xx, answers every refusal with a KT_ code, writes only what it accepted', { timeout: 240_000 }, async () => {
    const rng = seeded(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
    const junk = (n: number) => Array.from({ length: n }, () => String.fromCharCode(1 + Math.floor(rng() * 0xd7fe))).join('');
    const paths = ['fz/a', 'fz/b/c', 'other/x', 'fz/new', '', '/', 'fz//a', 'fz/../x', 'fz/%00', '%2e%2e/x', 'a'.repeat(3000), `fz/${junk(8)}`, 'fz/a?stage=current', 'fz/a#x'];
    const headers = (): Record<string, string> => {
      const kind = pick(['admin', 'reader', 'expired', 'revoked', 'none', 'garbage', 'basic', 'lower'] as const);
      if (kind === 'none') return {};
      if (kind === 'garbage') return { authorization: `Bearer ${junk(Math.floor(rng() * 80))}`.replace(/[^\t\x20-\x7e]/g, 'x') };
      if (kind === 'basic') return { authorization: 'Basic dXNlcjpwYXNz' };
      if (kind === 'lower') return { authorization: `bearer ${tokens.admin}` };
      return { authorization: `Bearer ${tokens[kind]}` };
    };
    const HUGE = JSON.stringify({ value: 'x'.repeat(2 * 1024 * 1024) });
    // Thunks: only the body picked is built (a 2 MiB string per request made this test take minutes).
    const bodies = (): InjectOptions['payload'] | undefined =>
      pick<() => InjectOptions['payload'] | undefined>([
        () => undefined,
        () => '{"value": ',
        () => '[]',
        () => 'null',
        () => '{"value": 1}',
        () => '{"value": {"a": 1}}',
        () => '{"value": "v", "expectVersion": -1}',
        () => '{"value": "v", "expectVersion": "1"}',
        () => '{"value": "v", "stages": ["nope"]}',
        () => '{"value": "v", "extra": true}',
        () => HUGE,
        () => JSON.stringify({ value: junk(64) }),
        () => JSON.stringify({ value: { username: 'u', password: junk(16) } }),
        () => JSON.stringify({ value: 'ok-value', expectVersion: Math.floor(rng() * 4) }),
        // The other routes' bodies: policies, tokens, break-glass, OIDC login.
        () => JSON.stringify({ document: pick(['rules:\n  - path: fz/*\n    capabilities: [read]\n', 'rules: [', `rules:\n  - path: ${junk(5)}\n    capabilities: [fly]\n`, '']) }),
        () => JSON.stringify({ policies: pick([['reader'], ['admin'], ['nope'], [], 'reader']), ttl: pick(['1h', '0s', 'x', 5]), subject: pick(['alice', 'bad subject', junk(3)]) }),
        () => JSON.stringify({ path: pick(paths), reason: pick(['incident', '', junk(20)]), ttl: pick(['30m', '30d', 'x']) }),
        () => JSON.stringify({ jwt: pick(['a.b.c', junk(40), 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']), issuer: pick(['k8s', '', junk(4)]) }),
      ])();
    const accepted: string[] = [];
    const policies = new Set(['admin', 'reader']);
    let tokensCreated = 0;
    let requests = 0;
    const unexpected: string[] = [];
    const deletes = new Set<string>();
    let fiveXx = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const method = pick(['GET', 'GET', 'PUT', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'] as const);
      const path = pick(paths);
      const url = pick([
        `/v1/secrets/${path}`,
        `/v1/secrets/${path}?${pick(['stage=pending', 'version=1', 'version=x', 'field=password', 'field=', 'stage=', 'junk=1', `field=${junk(4)}`]).replace(/[^\x21-\x7e]/g, 'x')}`,
        '/v1/secrets',
        `/v1/secrets?prefix=${encodeURIComponent(path)}`,
        '/v1',
        '/readyz',
        '/metrics',
        '/openapi.json',
        '/v1/policies',
        `/v1/policies/${pick(['reader', 'admin', 'fuzzed', junk(3)])}`,
        '/v1/tokens',
        `/v1/tokens/${pick(['tok_nope', junk(6)])}`,
        `/v1/audit/${pick(['events', 'events?limit=5', 'events?after=x', 'export?all=true', 'export', 'verify', 'checkpoint', 'proof/nope', `proof/${junk(4)}`])}`,
        '/v1/breakglass',
        `/v1/breakglass/${pick(['bg_nope', junk(5)])}/${pick(['approve', 'deny'])}`,
        '/v1/auth/oidc/login',
        `/${junk(3)}`,
      ]);
      const payload = bodies();
      const r = await app.inject({
        method,
        url: url.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)),
        headers: { ...headers(), ...(payload !== undefined ? { 'content-type': pick(['application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded']) } : {}) },
        ...(payload !== undefined ? { payload } : {}),
      });
      if (r.statusCode >= 500) {
        fiveXx += 1;
        continue;
      }
      if (r.statusCode >= 400 && method !== 'HEAD')
        expect(r.json(), `${method} ${url} -> ${r.statusCode}: ${r.body.slice(0, 200)}`).toMatchObject({ error: { code: expect.stringMatching(/^KT_[A-Z_]+$/) } });
      if (r.statusCode < 300 && method !== 'GET' && method !== 'HEAD') {
        if (url.startsWith('/v1/secrets/') && method === 'PUT') accepted.push((r.json() as { path: string; id: string }).path + ' ' + (r.json() as { id: string }).id);
        else if (url.startsWith('/v1/secrets/') && method === 'DELETE') deletes.add((r.json() as { path: string }).path);
        else if (url.startsWith('/v1/policies/') && method === 'PUT') policies.add(url.slice('/v1/policies/'.length));
        else if (url.startsWith('/v1/policies/') && method === 'DELETE') policies.delete(url.slice('/v1/policies/'.length));
        else if (url === '/v1/tokens' && method === 'POST') tokensCreated += 1;
        else if (url === '/v1/breakglass' && method === 'POST') requests += 1;
        else if (!url.startsWith('/v1/audit/checkpoint')) unexpected.push(`${method} ${url} -> ${r.statusCode}`);
      }
    }
    expect(fiveXx, 'responses with a 5xx status').toBe(0);
    // The anomaly detection the server runs took every event of the storm, and saw the bad tokens' burst from the one address.
    await detectionOf(app)!.caughtUp();
    const bursts = await new AnomaliesRepo(kt.state, kt.audit, kt.clock).list({ type: 'failed-burst' });
    expect(bursts.map((b) => b.actor)).toContain('address:127.0.0.1');
    // A DELETE the API accepted soft-deleted its secret: restored, it is counted with its versions below.
    const deleted: string[] = [];
    for await (const p of kt.store.list('', { deleted: true })) deleted.push(p);
    expect(new Set(deleted), 'the soft-deleted secrets are those the API answered a DELETE for').toEqual(deletes);
    for (const p of deleted) await kt.store.restore(p);
    // Still answering.
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ok' });
    const ok = await app.inject({ url: '/v1/secrets/fz/a', headers: { authorization: `Bearer ${tokens.admin}` } });
    expect(ok.statusCode).toBe(200);
    // Nothing but the accepted writes: every stored version beyond the three first ones is one the API answered 200 for.
    const stored: string[] = [];
    for await (const p of kt.store.list('')) for (const v of await kt.store.versions(p)) stored.push(`${p} ${v.id}`);
    const initial = 3;
    expect(stored.length).toBe(initial + accepted.length);
    for (const a of accepted) expect(stored).toContain(a);
    // Policies, tokens and break-glass requests: exactly what the accepted requests made.
    expect(unexpected, 'changes the API accepted that this test does not account for').toEqual([]);
    expect(new Set((await new AccessRepo(kt.state, kt.clock).policies()).map((p) => p.name))).toEqual(policies);
    expect((await kt.state.db.selectFrom('tokens').select('id').execute()).length).toBe(4 + tokensCreated);
    expect((await kt.state.db.selectFrom('breakglass_requests').select('id').execute()).length).toBe(requests);
  });
});
