/**
 * `/v1/audit` over a real home: events filtered to what the token may audit (everything with
 * `audit` on `**`), the export streamed in the `keyturn audit export` format and verifiable
 * offline, server-side verify (intact, then a changed row named), checkpoints, and inclusion
 * proofs that verify with the public key alone; 401 and 403 for the others.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseExport, verifyExport } from '../src/audit/export.js';
import { leafHash } from '../src/audit/merkle.js';
import { parseVerifierKey } from '../src/audit/note-key.js';
import { verifyTlogProof } from '../src/audit/proof.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { apiHome, type ApiHome } from './helpers/api-home.js';

let kt: Keyturn;
let app: FastifyInstance;
const tok: Record<string, string> = {};

let h: ApiHome<'admin' | 'auditor' | 'appAuditor' | 'reader'>;

beforeEach(async () => {
  h = await apiHome({
    policies: {
      auditor: 'rules:\n  - path: "**"\n    capabilities: [audit]\n',
      'app-auditor': 'rules:\n  - path: prod/app/**\n    capabilities: [audit]\n',
      'app-read': 'rules:\n  - path: prod/app/*\n    capabilities: [read]\n',
    },
    tokens: { admin: ['admin'], auditor: ['auditor'], appAuditor: ['app-auditor'], reader: ['app-read'] },
    secrets: [
      ['prod/app/token', 'pw-1'],
      ['prod/db/root', 'root-pw'],
      ['prod/app/token', 'pw-2'],
    ],
    server: { breakGlassSweepMs: false },
  });
  ({ kt, app } = h);
  Object.assign(tok, h.tokens);
});

afterEach(() => h.close());

const get = (url: string, who: string | null) => app.inject({ url, ...(who === null ? {} : { headers: { authorization: `Bearer ${tok[who]}` } }) });
type Ev = { id: string; seq: number; action: string; path: string | null };

describe('/v1/audit', () => {
  it('events: everything with audit on **, only its paths otherwise, filters, and following with after', async () => {
    const all = (await get('/v1/audit/events?limit=1000', 'auditor')).json() as { events: Ev[]; next: number };
    const size = (await kt.audit.head()).size;
    expect(all.events.map((e) => e.seq)).toEqual([...Array(size).keys()]);
    expect(all.next).toBe(size);
    expect(all.events[0]!.action).toBe('audit.init');
    const mine = (await get('/v1/audit/events?limit=1000', 'appAuditor')).json().events as Ev[];
    expect(mine.map((e) => `${e.action} ${e.path}`)).toEqual(['secret.put prod/app/token', 'secret.put prod/app/token']);
    const latest = (await get('/v1/audit/events?limit=2', 'admin')).json().events as Ev[];
    expect(latest.map((e) => e.seq)).toEqual([size - 2, size - 1]);
    expect(((await get('/v1/audit/events?action=secret.&path=prod/db', 'auditor')).json().events as Ev[]).map((e) => e.path)).toEqual(['prod/db/root']);
    // Follow: after the last seq seen, only what came since.
    await kt.store.put('prod/app/token', 'pw-3');
    const since = (await get(`/v1/audit/events?after=${size - 1}`, 'appAuditor')).json() as { events: Ev[]; next: number };
    expect(since.events.map((e) => e.seq)).toEqual([size]);
    expect(since.next).toBe(size + 1);
    expect(JSON.stringify(all)).not.toMatch(/pw-\d|root-pw/);
    for (const [who, status, code] of [
      [null, 401, 'KT_TOKEN_INVALID'],
      ['reader', 403, 'KT_ACCESS_DENIED'],
    ] as const) {
      const r = await get('/v1/audit/events', who);
      expect([r.statusCode, r.json().error.code]).toEqual([status, code]);
    }
    expect((await get('/v1/audit/events?limit=0', 'auditor')).json().error.code).toBe('KT_USAGE');
  });

  it('export: the keyturn audit export format, streamed, verifiable offline with the public key; audit on ** only', async () => {
    const size = (await kt.audit.head()).size;
    const r = await get('/v1/audit/export?all=true', 'auditor');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toContain('application/x-ndjson');
    const parsed = parseExport(r.body);
    const result = verifyExport(parsed, kt.audit.verifierKey);
    expect([result.ok, result.problems]).toEqual([true, []]);
    // Every event; the export itself is recorded after it (as the CLI does).
    expect(parsed.ids.length).toBe(size);
    expect((await kt.audit.tail(1))[0]!.leaf).toContain('"action":"audit.export"');
    const from = (await get('/v1/audit/export?from=3', 'auditor')).body;
    expect(JSON.parse(from.split('\n')[0]!)).toMatchObject({ type: 'header', format: 'keyturn-audit-export/v1', first: 3 });
    expect(verifyExport(parseExport(from), kt.audit.verifierKey).ok).toBe(true);
    for (const [url, who, status, code] of [
      ['/v1/audit/export?all=true', 'appAuditor', 403, 'KT_ACCESS_DENIED'],
      ['/v1/audit/export', 'auditor', 400, 'KT_USAGE'],
      ['/v1/audit/export?all=true&hours=1', 'auditor', 400, 'KT_USAGE'],
      ['/v1/audit/export?since=yesterday', 'auditor', 400, 'KT_USAGE'],
    ] as const) {
      const res = await get(url, who);
      expect([url, res.statusCode, res.json().error.code]).toEqual([url, status, code]);
    }
  });

  it('verify: intact, then a changed row is named; audit on ** only', async () => {
    const ok = (await get('/v1/audit/verify', 'auditor')).json();
    expect(ok).toMatchObject({ ok: true, problems: [], size: (await kt.audit.head()).size, verifierKey: kt.audit.verifierKey });
    expect((await get('/v1/audit/verify', 'appAuditor')).json().error.code).toBe('KT_ACCESS_DENIED');
    await kt.audit.checkpoint();
    const row = (await kt.audit.find('1'))!;
    await kt.state.db
      .updateTable('audit_leaves')
      .set({ leaf: row.leaf.replace('prod/app/token', 'prod/app/tokeN') })
      .where('seq', '=', 1)
      .execute();
    const bad = (await get('/v1/audit/verify', 'auditor')).json();
    expect(bad.ok).toBe(false);
    expect(bad.problems).toContainEqual(expect.objectContaining({ kind: 'leaf_changed', code: 'KT_AUDIT_LEAF_CHANGED' }));
  });

  it('checkpoint: the latest for any token; signing one needs audit on **', async () => {
    const latest = (await get('/v1/audit/checkpoint', 'reader')).json();
    expect(latest).toMatchObject({ note: expect.stringContaining(kt.audit.origin), verifierKey: kt.audit.verifierKey });
    const denied = await app.inject({ method: 'POST', url: '/v1/audit/checkpoint', headers: { authorization: `Bearer ${tok.reader}` } });
    expect([denied.statusCode, denied.json().error.code]).toEqual([403, 'KT_ACCESS_DENIED']);
    const signed = await app.inject({ method: 'POST', url: '/v1/audit/checkpoint', headers: { authorization: `Bearer ${tok.auditor}` } });
    expect(signed.json().size).toBe((await kt.audit.head()).size);
    expect((await get('/v1/audit/checkpoint', null)).statusCode).toBe(401);
  });

  it('proof: verifies with the public key alone; only for events the token may audit', async () => {
    const events = (await get('/v1/audit/events?limit=1000', 'auditor')).json().events as Ev[];
    const app1 = events.find((e) => e.path === 'prod/app/token')!;
    const db = events.find((e) => e.path === 'prod/db/root')!;
    const r = await get(`/v1/audit/proof/${app1.id}`, 'appAuditor');
    expect(r.statusCode).toBe(200);
    const p = r.json() as { leaf: string; proof: string; seq: number };
    expect(p.seq).toBe(app1.seq);
    expect(() => verifyTlogProof(p.proof, leafHash(Buffer.from(p.leaf, 'utf8')), parseVerifierKey(kt.audit.verifierKey), { origin: kt.audit.origin })).not.toThrow();
    expect((await get(`/v1/audit/proof/${app1.seq}`, 'auditor')).json().id).toBe(app1.id);
    for (const [url, who, status, code] of [
      [`/v1/audit/proof/${db.id}`, 'appAuditor', 404, 'KT_AUDIT_EVENT_NOT_FOUND'],
      ['/v1/audit/proof/0', 'appAuditor', 404, 'KT_AUDIT_EVENT_NOT_FOUND'],
      ['/v1/audit/proof/ev_999_000000000000', 'auditor', 404, 'KT_AUDIT_EVENT_NOT_FOUND'],
      [`/v1/audit/proof/${app1.id}`, 'reader', 403, 'KT_ACCESS_DENIED'],
    ] as const) {
      const res = await get(url, who);
      expect([url, res.statusCode, res.json().error.code]).toEqual([url, status, code]);
    }
  });
});
