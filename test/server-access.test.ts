/**
 * `/v1/policies` and `/v1/tokens` over a real home: an admin on `**` manages them, anyone else
 * gets 401 or 403 and changes nothing; a created token works at once and a revoked one stops;
 * every change is audited with the calling token; no answer carries a token hash.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenHash } from '../src/access/access-repo.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { apiHome, type ApiHome } from './helpers/api-home.js';

let kt: Keyturn;
let app: FastifyInstance;
let admin: string;
let adminId: string;
let prodAdmin: string;
let reader: string;
const hashes: string[] = [];

let h: ApiHome<'admin' | 'prodAdmin' | 'reader'>;

beforeEach(async () => {
  h = await apiHome({
    policies: { 'app-read': 'rules:\n  - path: prod/app/*\n    capabilities: [read, list]\n', 'prod-admin': 'rules:\n  - path: prod/**\n    capabilities: [read, write, admin]\n' },
    tokens: { admin: { policies: ['admin'], subject: 'root' }, prodAdmin: ['prod-admin'], reader: ['app-read'] },
    secrets: [['prod/app/token', 'pw-1']],
    server: { breakGlassSweepMs: false },
  });
  ({ kt, app } = h);
  ({ admin, prodAdmin, reader } = h.tokens);
  adminId = h.ids.admin;
  hashes.splice(0, hashes.length, ...[admin, prodAdmin, reader].map(tokenHash));
});

afterEach(() => h.close());

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';
const call = (method: Method, url: string, token: string | null, payload?: object) =>
  app.inject({ method, url, ...(token === null ? {} : { headers: auth(token) }), ...(payload === undefined ? {} : { payload }) });

const REFUSAL = /"action":"access\.(denied|authenticate)"/;
/** What the server's anomaly detection writes about those refusals (a burst of them is an anomaly). */
const ANOMALY = /"action":"anomaly\./;

async function snapshot(): Promise<string> {
  const policies = await kt.state.db.selectFrom('access_policies').selectAll().orderBy('name').execute();
  const tokens = await kt.state.db.selectFrom('tokens').select(['id', 'policies', 'revoked_at']).orderBy('id').execute();
  // Refusals are recorded (for the anomaly detectors), and the anomalies they may set off; every other event counts as a change.
  const events = (await kt.audit.between(0)).filter((row) => !REFUSAL.test(row.leaf) && !ANOMALY.test(row.leaf));
  return JSON.stringify({ policies, tokens, audit: events.length });
}

describe('/v1/policies and /v1/tokens', () => {
  it('refuse every caller without admin on ** (a token admin over prod/** too) and change nothing', async () => {
    const before = await snapshot();
    const refusalsBefore = (await kt.audit.between(0)).filter((row) => REFUSAL.test(row.leaf)).length;
    const routes: Array<[Method, string, object?]> = [
      ['GET', '/v1/policies'],
      ['GET', '/v1/policies/app-read'],
      ['PUT', '/v1/policies/x', { document: 'rules:\n  - path: "**"\n    capabilities: [admin]\n' }],
      ['DELETE', '/v1/policies/app-read'],
      ['POST', '/v1/tokens', { policies: ['admin'] }],
      ['GET', '/v1/tokens'],
      ['DELETE', `/v1/tokens/${adminId}`],
    ];
    for (const [method, url, body] of routes) {
      for (const [token, status, code] of [
        [null, 401, 'KT_TOKEN_INVALID'],
        [reader, 403, 'KT_ACCESS_DENIED'],
        [prodAdmin, 403, 'KT_ACCESS_DENIED'],
      ] as const) {
        const r = await call(method, url, token, body);
        expect([method, url, r.statusCode, r.json().error.code]).toEqual([method, url, status, code]);
      }
    }
    expect(await snapshot()).toBe(before);
    // Each refusal is recorded once: 7 routes, 3 callers.
    expect((await kt.audit.between(0)).filter((row) => REFUSAL.test(row.leaf)).length - refusalsBefore).toBe(21);
  });

  it('list, show, store and delete policies, audited with the calling token', async () => {
    const start = (await kt.audit.head()).size;
    expect((await call('GET', '/v1/policies', admin)).json().policies.map((p: { name: string }) => p.name)).toEqual(['admin', 'app-read', 'prod-admin']);
    const doc = 'description: the db team\nrules:\n  - path: prod/db/root\n    capabilities: [read]\n    breakGlass: { maxTtl: 2h }\n';
    const put = await call('PUT', '/v1/policies/db', admin, { document: doc });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toEqual({
      name: 'db',
      description: 'the db team',
      builtIn: false,
      rules: [{ path: 'prod/db/root', capabilities: ['read'], breakGlass: { maxTtlSeconds: 7200 } }],
      document: doc,
    });
    expect((await call('GET', '/v1/policies/db', admin)).json()).toMatchObject({ name: 'db', document: doc });
    expect((await call('GET', '/v1/policies/admin', admin)).json()).toMatchObject({ name: 'admin', builtIn: true, document: null });
    const bad = await call('PUT', '/v1/policies/db', admin, { document: 'rules:\n  - path: a//b\n    capabilities: [read]\n' });
    expect([bad.statusCode, bad.json().error.code, bad.json().error.message]).toEqual([400, 'KT_ACCESS_POLICY_INVALID', expect.stringContaining('rules.0.path')]);
    expect((await call('GET', '/v1/policies/db', admin)).json().document).toBe(doc);
    for (const [method, url, body, status, code] of [
      ['PUT', '/v1/policies/admin', { document: doc }, 400, 'KT_ACCESS_POLICY_RESERVED'],
      ['DELETE', '/v1/policies/admin', undefined, 400, 'KT_ACCESS_POLICY_RESERVED'],
      ['PUT', '/v1/policies/Bad%20Name', { document: doc }, 400, 'KT_ACCESS_POLICY_INVALID'],
      ['PUT', '/v1/policies/db', { doc }, 400, 'KT_USAGE'],
      ['GET', '/v1/policies/nope', undefined, 404, 'KT_ACCESS_POLICY_NOT_FOUND'],
      ['DELETE', '/v1/policies/nope', undefined, 404, 'KT_ACCESS_POLICY_NOT_FOUND'],
    ] as Array<[Method, string, object | undefined, number, string]>) {
      const r = await call(method, url, admin, body);
      expect([method, url, r.statusCode, r.json().error.code]).toEqual([method, url, status, code]);
    }
    expect((await call('DELETE', '/v1/policies/db', admin)).json()).toEqual({ name: 'db', deleted: true });
    expect((await call('GET', '/v1/policies/db', admin)).statusCode).toBe(404);
    const events = (await kt.audit.between(start)).map((row) => JSON.parse(row.leaf) as Record<string, string>);
    expect(events.map((e) => [e.action, e.path, e.actor, e.source])).toEqual([
      ['access.policy.put', 'db', `token:${adminId}`, 'api'],
      ['access.policy.delete', 'db', `token:${adminId}`, 'api'],
    ]);
  });

  it('create a token shown once, list without tokens or hashes, revoke it; refusals create nothing', async () => {
    const start = (await kt.audit.head()).size;
    const made = await call('POST', '/v1/tokens', admin, { policies: ['app-read'], ttl: '1h', description: 'ci', subject: 'ci:deploy' });
    expect(made.statusCode).toBe(201);
    const created = made.json() as { token: string; id: string; subject: string; expiresAt: string };
    expect(created).toMatchObject({ token: expect.stringMatching(/^kt_[A-Za-z0-9_-]{43}$/), subject: 'ci:deploy', policies: ['app-read'], description: 'ci' });
    expect((await call('GET', '/v1/secrets/prod/app/token', created.token)).json().value).toBe('pw-1');

    const before = await snapshot();
    for (const [body, code] of [
      [{ policies: [] }, 'KT_USAGE'],
      [{ policies: ['nope'] }, 'KT_ACCESS_POLICY_NOT_FOUND'],
      [{ policies: ['app-read'], ttl: 'forever' }, 'KT_USAGE'],
      [{ policies: ['app-read'], subject: 'has space' }, 'KT_USAGE'],
      [{ policies: ['app-read'], extra: 1 }, 'KT_USAGE'],
    ] as Array<[object, string]>) {
      expect([JSON.stringify(body), (await call('POST', '/v1/tokens', admin, body)).json().error.code]).toEqual([JSON.stringify(body), code]);
    }
    expect(await snapshot()).toBe(before);

    const list = await call('GET', '/v1/tokens', admin);
    const ids = (list.json().tokens as Array<{ id: string }>).map((t) => t.id);
    expect(ids).toContain(created.id);
    expect(ids.length).toBe(4);
    const revoked = await call('DELETE', `/v1/tokens/${created.id}`, admin);
    expect(revoked.json()).toMatchObject({ id: created.id, revokedAt: expect.any(String) });
    expect((await call('GET', '/v1/secrets/prod/app/token', created.token)).statusCode).toBe(401);
    expect((await call('DELETE', `/v1/tokens/${created.id}`, admin)).statusCode).toBe(200);
    expect((await call('DELETE', '/v1/tokens/tok_nope', admin)).json().error.code).toBe('KT_TOKEN_NOT_FOUND');

    // No answer here carries a token hash, nor (but the create) a token.
    const bodies = [list.body, revoked.body, (await call('GET', '/v1/policies', admin)).body, (await call('GET', '/v1/tokens', admin)).body];
    for (const body of bodies) {
      for (const h of [...hashes, tokenHash(created.token)]) expect(body).not.toContain(h);
      expect(body).not.toMatch(/kt_[A-Za-z0-9_-]{43}/);
      expect(body).not.toContain('"hash"');
    }
    const events = (await kt.audit.between(start)).map((row) => JSON.parse(row.leaf) as Record<string, string>).filter((e) => e.action!.startsWith('access.'));
    expect(events.map((e) => [e.action, e.path, e.actor])).toEqual([
      ['access.token.create', created.id, `token:${adminId}`],
      ['access.token.revoke', created.id, `token:${adminId}`],
      // The revoked token's read, refused (recorded for the anomaly detectors).
      ['access.authenticate', null, 'anonymous'],
    ]);
  });
});
