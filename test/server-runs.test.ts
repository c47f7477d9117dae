/**
 * The API's rotations over a real home (fastify's inject) with app secrets (a generated value, no
 * outside target): start a run, plan one, list runs (only those on paths the token may read or
 * rotate), show one, resume and cancel. Each needs `rotate` on the secret (`read` or `rotate` to
 * see a run), a refusal writes nothing, a run started through the API carries the request's
 * correlation id and its events name the token.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { dumpState } from './helpers/state-dump.js';
import { apiHome, type ApiHome } from './helpers/api-home.js';
import { stoppedRun as stopRun } from './helpers/stopped-run.js';

let kt: Keyturn;
let app: FastifyInstance;
const tokens: Record<'admin' | 'rotator' | 'reader' | 'lister', string> = { admin: '', rotator: '', reader: '', lister: '' };
let rotatorId = '';

let h: ApiHome<keyof typeof tokens>;

beforeEach(async () => {
  h = await apiHome({
    config: `version: 1\nsecrets:\n${['app/session', 'app/other', 'ops/key'].map((p) => `  ${p}:\n    type: app-secret\n    password: { length: 32 }\n`).join('')}`,
    policies: {
      'app-rotate': 'rules:\n  - path: app/**\n    capabilities: [rotate]\n',
      'app-read': 'rules:\n  - path: app/**\n    capabilities: [read]\n',
      'app-list': 'rules:\n  - path: app/**\n    capabilities: [list]\n',
    },
    tokens: { admin: ['admin'], rotator: ['app-rotate'], reader: ['app-read'], lister: ['app-list'] },
    secrets: [['plain/secret', 'plain-value']],
  });
  ({ kt, app } = h);
  Object.assign(tokens, h.tokens);
  rotatorId = h.ids.rotator;
});

afterEach(() => h.close());

type Who = keyof typeof tokens;
const call = (method: 'GET' | 'POST', url: string, who: Who, payload?: object, headers: Record<string, string> = {}) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${tokens[who]}`, ...headers }, ...(payload ? { payload } : {}) });

/** The state database without the tokens table (authentication records a token's last use); with `leases: false`, without the leases too. */
function state(options: { leases?: boolean } = {}): unknown {
  const { tokens: _used, leases, ...rest } = dumpState(h.dir) as Record<string, unknown>;
  return options.leases === false ? rest : { ...rest, leases };
}

/**
 * A refusal: its status and code, and nothing written. The engine's own refusals of a finished
 * run come after it took and freed the secret's lease (as for the CLI): `leases: false` for them.
 */
async function refused(method: 'GET' | 'POST', url: string, who: Who, status: number, code: string, payload?: object, options: { leases?: boolean } = {}): Promise<void> {
  const before = state(options);
  const r = await call(method, url, who, payload);
  expect([method, url, who, r.statusCode], r.body).toEqual([method, url, who, status]);
  expect(r.json()).toMatchObject({ error: { code, message: expect.any(String), fix: expect.any(String) } });
  expect(state(options)).toEqual(before);
}

/** A run of app/session stopped at a step boundary: `retrying` at set, its pending version stored. */
async function stoppedRun(path = 'app/session'): Promise<string> {
  const run = await stopRun(kt, path);
  expect(run).toMatchObject({ status: 'retrying', step: 'set' });
  return run.id;
}

describe('POST /v1/rotations/PATH', () => {
  it('rotates with rotate: the run as `rotate --json` prints it, carrying the correlation id; its events name the token', async () => {
    const old = (await kt.store.get('app/session'))!.id;
    const before = (await kt.audit.head()).size;
    const r = await call('POST', '/v1/rotations/app/session', 'rotator', {}, { 'x-correlation-id': 'rot-1' });
    expect(r.statusCode, r.body).toBe(200);
    const run = r.json() as { id: string; status: string; correlationId: string; fromVersionId: string; consumers: unknown[] };
    expect(run).toMatchObject({ path: 'app/session', status: 'done', step: 'done', correlationId: 'rot-1', fromVersionId: old, error: null, consumers: [] });
    const events = (await kt.audit.between(before)).map((row) => JSON.parse(row.leaf) as Record<string, string>);
    const rotate = events.filter((e) => e.action === 'secret.rotate');
    expect(rotate.map((e) => [e.outcome, e.actor, e.runId, e.correlationId])).toEqual([
      ['intent', `token:${rotatorId}`, run.id, 'rot-1'],
      ['success', `token:${rotatorId}`, run.id, 'rot-1'],
    ]);
    // The store's own events of the run (the pending version, the stage move) name the token too.
    for (const e of events) expect(e.actor).toBe(`token:${rotatorId}`);
    expect((await kt.store.get('app/session'))!.id).not.toBe(old);
  });

  it('plans with dryRun and changes nothing', async () => {
    const before = state();
    const r = await call('POST', '/v1/rotations/app/session', 'rotator', { dryRun: true });
    expect(r.json()).toEqual({ dryRun: true, path: 'app/session', strategy: 'simple', target: null, nextUsername: null, consumers: 0, currentLogsIn: null, activeRun: null, problems: [] });
    expect(state()).toEqual(before);
  });

  it('refuses without rotate, an unknown body field, a secret with no policy, and a secret another worker holds', async () => {
    await refused('POST', '/v1/rotations/app/session', 'reader', 403, 'KT_ACCESS_DENIED', {});
    await refused('POST', '/v1/rotations/ops/key', 'rotator', 403, 'KT_ACCESS_DENIED', {});
    await refused('POST', '/v1/rotations/app/session', 'rotator', 400, 'KT_USAGE', { wait: 'yes' });
    await refused('POST', '/v1/rotations/plain/secret', 'admin', 404, 'KT_POLICY_NOT_FOUND', {});
    const engine = await kt.engine();
    const held = await engine.leases.acquire('secret:app/session', 60_000);
    expect(held).toBeTruthy();
    await refused('POST', '/v1/rotations/app/session', 'rotator', 409, 'KT_RUN_LOCKED', {});
  });
});

describe('runs', () => {
  it('lists only the runs on paths the token may read or rotate; shows one with its steps', async () => {
    for (const p of ['app/session', 'app/other', 'ops/key']) expect((await call('POST', `/v1/rotations/${p}`, 'admin', {})).statusCode).toBe(200);
    const all = (await call('GET', '/v1/runs', 'admin')).json() as { runs: Array<{ path: string; id: string }> };
    expect(all.runs.map((r) => r.path)).toEqual(['ops/key', 'app/other', 'app/session']);
    expect(((await call('GET', '/v1/runs', 'reader')).json() as { runs: Array<{ path: string }> }).runs.map((r) => r.path)).toEqual(['app/other', 'app/session']);
    expect(((await call('GET', '/v1/runs?path=app/session', 'rotator')).json() as { runs: Array<{ path: string }> }).runs.map((r) => r.path)).toEqual(['app/session']);
    expect(((await call('GET', '/v1/runs?limit=1', 'admin')).json() as { runs: unknown[] }).runs).toHaveLength(1);
    // The limit counts the runs the token may see: the newest (ops/key) is not one of them, so the server reads on.
    expect(((await call('GET', '/v1/runs?limit=1', 'reader')).json() as { runs: Array<{ path: string }> }).runs.map((r) => r.path)).toEqual(['app/other']);
    for (let i = 0; i < 3; i++) expect((await call('POST', '/v1/rotations/ops/key', 'admin', {})).statusCode).toBe(200);
    expect(((await call('GET', '/v1/runs?limit=2', 'reader')).json() as { runs: Array<{ path: string }> }).runs.map((r) => r.path)).toEqual(['app/other', 'app/session']);
    expect((await call('GET', '/v1/runs', 'lister')).json()).toEqual({ runs: [] });
    await refused('GET', '/v1/runs?limit=0', 'admin', 400, 'KT_USAGE');

    const id = all.runs.find((r) => r.path === 'app/session')!.id;
    const show = await call('GET', `/v1/runs/${id}`, 'reader');
    expect(show.statusCode, show.body).toBe(200);
    const shown = show.json() as { id: string; status: string; steps: Array<{ step: string; outcome: string; ms: number }> };
    expect(shown).toMatchObject({ id, status: 'done', consumers: [] });
    expect(shown.steps.map((s) => [s.step, s.outcome])).toEqual(
      expect.arrayContaining([
        ['prepare', 'ok'],
        ['finish', 'ok'],
      ]),
    );
    await refused('GET', `/v1/runs/${all.runs.find((r) => r.path === 'ops/key')!.id}`, 'reader', 403, 'KT_ACCESS_DENIED');
    await refused('GET', `/v1/runs/${id}`, 'lister', 403, 'KT_ACCESS_DENIED');
    await refused('GET', '/v1/runs/run_nope', 'admin', 404, 'KT_RUN_NOT_FOUND');
  });

  it('resumes a stopped run with rotate; refuses without it', async () => {
    const id = await stoppedRun();
    await refused('POST', `/v1/runs/${id}/resume`, 'reader', 403, 'KT_ACCESS_DENIED', {});
    await refused('POST', '/v1/runs/run_nope/resume', 'rotator', 404, 'KT_RUN_NOT_FOUND', {});
    const r = await call('POST', `/v1/runs/${id}/resume`, 'rotator', {});
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ id, status: 'done', consumers: [] });
    await refused('POST', `/v1/runs/${id}/resume`, 'rotator', 409, 'KT_RUN_FINISHED', {}, { leases: false });
  });

  it('cancels a stopped run with rotate, clearing its pending version; refuses without it and once finished', async () => {
    const id = await stoppedRun();
    expect(await kt.store.get('app/session', { stage: 'pending' })).not.toBeNull();
    await refused('POST', `/v1/runs/${id}/cancel`, 'reader', 403, 'KT_ACCESS_DENIED');
    const r = await call('POST', `/v1/runs/${id}/cancel`, 'rotator');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({ id, status: 'cancelled' });
    expect(await kt.store.get('app/session', { stage: 'pending' })).toBeNull();
    await refused('POST', `/v1/runs/${id}/cancel`, 'rotator', 409, 'KT_RUN_FINISHED', undefined, { leases: false });
  });

  it('a put on a secret with an unfinished run is refused (KT_RUN_ACTIVE), or supersedes it', async () => {
    const id = await stoppedRun();
    const put = (body: object) => app.inject({ method: 'PUT', url: '/v1/secrets/app/session', headers: { authorization: `Bearer ${tokens.admin}` }, payload: body });
    const before = state();
    const active = await put({ value: 'by-hand' });
    expect([active.statusCode, active.json()]).toEqual([409, { error: expect.objectContaining({ code: 'KT_RUN_ACTIVE', details: { path: 'app/session', runId: id } }) }]);
    expect(state()).toEqual(before);
    const superseded = await put({ value: 'by-hand', supersede: true });
    expect(superseded.json()).toMatchObject({ path: 'app/session', number: 3, kind: 'string', cancelledRun: { id, status: 'cancelled', error: { code: 'KT_RUN_SUPERSEDED' } } });
  });
});
