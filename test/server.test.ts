/**
 * `keyturn server`'s API over a real home (fastify's inject for the requests, one real process for
 * listen and SIGTERM): tokens and path policies decide, errors are JSON with KT_ codes, the
 * correlation id comes back and reaches the audit events, and a refused request writes nothing.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { loadSettings } from '../src/config/settings.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { buildServer } from '../src/server/app.js';
import { runCli, SPAWN_MS, startServerProcess } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

let tmp: ReturnType<typeof tempDir>;
let kt: Keyturn;
let app: FastifyInstance;
let admin: string;
let reader: string;

beforeEach(async () => {
  tmp = tempDir();
  const settings = loadSettings({ KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent' });
  await initHome(settings);
  kt = await openKeyturn(settings);
  const access = new AccessRepo(kt.state, kt.clock);
  await access.putPolicy('app-read', 'rules:\n  - path: prod/app/*\n    capabilities: [read, list]\n  - path: prod/app/root\n    capabilities: [deny]\n');
  admin = (await access.createToken({ policies: ['admin'] })).token;
  reader = (await access.createToken({ policies: ['app-read'] })).token;
  await kt.store.put('prod/app/token', { username: 'app', password: 'pw-1' });
  await kt.store.put('prod/app/root', 'root-secret');
  await kt.store.put('prod/db/admin', 'db-secret');
  app = await buildServer(kt);
});

afterEach(async () => {
  await app.close();
  await kt.close();
  tmp.remove();
});

const auth = (token: string) => ({ authorization: `Bearer ${token}` });

describe('the HTTP API', () => {
  it('health and readiness need no token', async () => {
    expect((await app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ok' });
  });

  it('reads what the policy allows, refuses the rest with 401 or 403 and a KT_ code', async () => {
    const ok = await app.inject({ url: '/v1/secrets/prod/app/token', headers: auth(reader) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ path: 'prod/app/token', number: 1, stages: ['current'], value: { username: 'app', password: 'pw-1' } });
    expect((await app.inject({ url: '/v1/secrets/prod/app/token?field=password', headers: auth(reader) })).json()).toMatchObject({ field: 'password', value: 'pw-1' });
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['/v1/secrets/prod/app/token', {}, 401, 'KT_TOKEN_INVALID'],
      ['/v1/secrets/prod/app/token', auth(`kt_${'A'.repeat(43)}`), 401, 'KT_TOKEN_INVALID'],
      ['/v1/secrets/prod/app/root', auth(reader), 403, 'KT_ACCESS_DENIED'],
      ['/v1/secrets/prod/db/admin', auth(reader), 403, 'KT_ACCESS_DENIED'],
      ['/v1/secrets/prod/app/none', auth(reader), 404, 'KT_SECRET_NOT_FOUND'],
      ['/v1/secrets/prod/app/token?field=nope', auth(reader), 404, 'KT_FIELD_NOT_FOUND'],
      ['/v1/secrets/prod/app/token?stage=later', auth(reader), 400, 'KT_USAGE'],
      ['/v1/nothing', auth(admin), 404, 'KT_API_ROUTE_NOT_FOUND'],
      ['/v1/secrets/prod/%zz', auth(admin), 400, 'KT_USAGE'],
    ];
    for (const [url, headers, status, code] of cases) {
      const r = await app.inject({ url, headers });
      expect([url, r.statusCode], r.body).toEqual([url, status]);
      expect(r.json()).toMatchObject({ error: { code, message: expect.any(String), fix: expect.any(String) } });
      // A refusal never shows a value.
      expect(r.body).not.toMatch(/pw-1|root-secret|db-secret/);
    }
  });

  it('writes with write, compare-and-set on the expected version; a refused write stores nothing', async () => {
    const put = (token: string, body: unknown) => app.inject({ method: 'PUT', url: '/v1/secrets/prod/app/token', headers: auth(token), payload: body as object });
    expect((await put(reader, { value: 'x' })).json()).toMatchObject({ error: { code: 'KT_ACCESS_DENIED' } });
    expect((await put(admin, { value: 'x', expectVersion: 7 })).json()).toMatchObject({ error: { code: 'KT_VERSION_MISMATCH' } });
    expect((await put(admin, { value: 'x', extra: 1 })).json()).toMatchObject({ error: { code: 'KT_USAGE' } });
    const bad = await app.inject({ method: 'PUT', url: '/v1/secrets/prod/app/token', headers: { ...auth(admin), 'content-type': 'application/json' }, payload: '{"value": ' });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'KT_USAGE']);
    expect((await kt.store.versions('prod/app/token')).length).toBe(1);
    const ok = await put(admin, { value: { username: 'app', password: 'pw-2' }, expectVersion: 1 });
    expect(ok.json()).toMatchObject({ path: 'prod/app/token', number: 2, stages: ['current'] });
    expect((await kt.store.get('prod/app/token'))!.value).toEqual({ username: 'app', password: 'pw-2' });
  });

  it('slows guessing: after 10 failed tokens from one address, 429 with Retry-After until the window ends', async () => {
    for (let i = 0; i < 10; i++) expect((await app.inject({ url: '/v1/secrets/prod/app/token', headers: auth(`kt_${String(i).padStart(43, 'x')}`) })).statusCode).toBe(401);
    const blocked = await app.inject({ url: '/v1/secrets/prod/app/token', headers: auth(reader) });
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json()).toMatchObject({ error: { code: 'KT_AUTH_THROTTLED' } });
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Health needs no token and stays open.
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
  });

  it('lists only what the token may list', async () => {
    expect((await app.inject({ url: '/v1/secrets?prefix=prod', headers: auth(reader) })).json()).toEqual({ paths: ['prod/app/token'] });
    expect((await app.inject({ url: '/v1/secrets', headers: auth(admin) })).json()).toEqual({ paths: ['prod/app/root', 'prod/app/token', 'prod/db/admin'] });
  });

  it("returns the caller's correlation id (or a fresh one) and records it, with the token, in the audit events", async () => {
    const before = (await kt.audit.head()).size;
    const r = await app.inject({ url: '/v1/secrets/prod/app/token', headers: { ...auth(reader), 'x-correlation-id': 'req-42' } });
    expect(r.headers['x-correlation-id']).toBe('req-42');
    expect((await app.inject({ url: '/healthz', headers: { 'x-correlation-id': 'bad id with spaces' } })).headers['x-correlation-id']).toMatch(/^req_[0-9a-f-]{36}$/);
    const events = (await kt.audit.between(before)).map((row) => JSON.parse(row.leaf) as Record<string, string>);
    const tokenId = (await new AccessRepo(kt.state, kt.clock).tokens()).find((t) => t.policies.includes('app-read'))!.id;
    expect(events).toEqual([expect.objectContaining({ action: 'secret.read', path: 'prod/app/token', outcome: 'success', actor: `token:${tokenId}`, source: 'api', correlationId: 'req-42' })]);
  });
});

describe('keyturn server', () => {
  it('refuses plain HTTP off loopback without --insecure-http', async () => {
    const r = await runCli(['server', '--listen', '0.0.0.0:8787', '--json'], { env: { KEYTURN_HOME: tmp.dir } });
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr).error.code).toBe('KT_LISTEN_INSECURE');
  });

  it('listens, answers, and on SIGTERM stops and exits 0', { timeout: 3 * SPAWN_MS }, async () => {
    const { listening, stop } = await startServerProcess({ KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent' });
    expect(await (await fetch(`${listening}/healthz`)).json()).toEqual({ status: 'ok' });
    const denied = await fetch(`${listening}/v1/secrets/prod/app/token`);
    expect(denied.status).toBe(401);
    expect(await stop()).toBe(0);
  });
});
