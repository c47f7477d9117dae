/**
 * The API's secret lifecycle over a real home (fastify's inject): metadata by prefix, history,
 * rollback, soft delete, restore and purge. Each needs its capability (403 KT_ACCESS_DENIED
 * otherwise, and a refused request writes nothing), answers missing things with 404, answers with
 * what `keyturn secret ... --json` prints, and is audited as the request's token with source api.
 */
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import type { Keyturn } from '../src/runtime/keyturn.js';
import { dumpState } from './helpers/state-dump.js';
import { apiHome, type ApiHome } from './helpers/api-home.js';

const DAY = 86_400_000;

let kt: Keyturn;
let clock: ManualClock;
let app: FastifyInstance;
const tokens: Record<'admin' | 'lister' | 'writer' | 'deleter' | 'reader', string> = { admin: '', lister: '', writer: '', deleter: '', reader: '' };
let writerId = '';

let h: ApiHome<keyof typeof tokens>;

beforeEach(async () => {
  clock = manualClock();
  h = await apiHome({
    clock,
    policies: Object.fromEntries(['list', 'write', 'delete', 'read'].map((cap) => [`app-${cap}`, `rules:\n  - path: prod/app/**\n    capabilities: [${cap}]\n`])),
    tokens: { admin: ['admin'], lister: ['app-list'], writer: ['app-write'], deleter: ['app-delete'], reader: ['app-read'] },
    secrets: [
      ['prod/app/token', 'first-value'],
      ['prod/app/token', 'second-value'],
      ['prod/app/solo', 'solo-value'],
      ['prod/db/admin', 'db-value'],
    ],
  });
  ({ kt, app } = h);
  Object.assign(tokens, h.tokens);
  writerId = h.ids.writer;
});

afterEach(() => h.close());

type Who = keyof typeof tokens;
const call = (method: 'GET' | 'POST' | 'DELETE', url: string, who: Who, headers: Record<string, string> = {}) =>
  app.inject({ method, url, headers: { authorization: `Bearer ${tokens[who]}`, ...headers } });

/** The state database without the tokens table (authentication records a token's last use). */
function state(): unknown {
  const { tokens: _used, ...rest } = dumpState(h.dir) as Record<string, unknown>;
  return rest;
}

/** Every refusal: its status and code, no value in the body, and nothing written. */
async function refused(method: 'GET' | 'POST' | 'DELETE', url: string, who: Who, status: number, code: string): Promise<void> {
  const before = state();
  const r = await call(method, url, who);
  expect([method, url, who, r.statusCode], r.body).toEqual([method, url, who, status]);
  expect(r.json()).toMatchObject({ error: { code, message: expect.any(String), fix: expect.any(String) } });
  expect(r.body).not.toMatch(/first-value|second-value|solo-value|db-value/);
  expect(state()).toEqual(before);
}

describe('metadata and history', () => {
  it('lists the secrets with their metadata, only those the token may list, never values', async () => {
    const all = await call('GET', '/v1/metadata', 'admin');
    expect(all.statusCode).toBe(200);
    expect((all.json() as { secrets: Array<{ path: string }> }).secrets.map((s) => s.path)).toEqual(['prod/app/solo', 'prod/app/token', 'prod/db/admin']);
    const mine = await call('GET', '/v1/metadata?prefix=prod', 'lister');
    expect(mine.json()).toEqual({
      secrets: [
        expect.objectContaining({ path: 'prod/app/solo', versions: 1, current: { id: expect.any(String), version: 1 }, deletedAt: null }),
        expect.objectContaining({ path: 'prod/app/token', versions: 2, current: { id: expect.any(String), version: 2 } }),
      ],
    });
    expect(mine.body).not.toMatch(/value/);
    // A token without list sees nothing, and that is not an error.
    expect((await call('GET', '/v1/metadata', 'writer')).json()).toEqual({ secrets: [] });
    await refused('GET', '/v1/metadata?deleted=maybe', 'admin', 400, 'KT_USAGE');
  });

  it('shows the history with list, newest first and without values; refuses without list; 404 for none', async () => {
    const r = await call('GET', '/v1/history/prod/app/token', 'lister');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toMatchObject({
      path: 'prod/app/token',
      versions: 2,
      history: [
        { version: 2, stages: ['current'], kind: 'string', id: expect.any(String), createdAt: expect.any(String) },
        { version: 1, stages: ['previous'], kind: 'string' },
      ],
    });
    expect(r.body).not.toMatch(/first-value|second-value/);
    await refused('GET', '/v1/history/prod/app/token', 'reader', 403, 'KT_ACCESS_DENIED');
    await refused('GET', '/v1/history/prod/db/admin', 'lister', 403, 'KT_ACCESS_DENIED');
    await refused('GET', '/v1/history/prod/app/none', 'lister', 404, 'KT_SECRET_NOT_FOUND');
  });
});

describe('rollback', () => {
  it('moves current back with write, audited as the token; refuses without write; says why it cannot', async () => {
    await refused('POST', '/v1/rollback/prod/app/token', 'lister', 403, 'KT_ACCESS_DENIED');
    await refused('POST', '/v1/rollback/prod/app/solo', 'writer', 404, 'KT_NO_PREVIOUS_VERSION');
    await refused('POST', '/v1/rollback/prod/app/none', 'writer', 404, 'KT_SECRET_NOT_FOUND');
    const before = (await kt.audit.head()).size;
    const r = await call('POST', '/v1/rollback/prod/app/token', 'writer', { 'x-correlation-id': 'rb-1' });
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({ path: 'prod/app/token', current: { id: expect.any(String), version: 1 }, previous: { id: expect.any(String), version: 2 } });
    // Every event of the request (the two versions read, the stage move) names the token, source api and the correlation id.
    const events = (await kt.audit.between(before)).map((row) => JSON.parse(row.leaf) as Record<string, string>);
    expect(events.map((e) => e.action)).toContain('secret.stage.current');
    for (const e of events) expect(e).toMatchObject({ path: 'prod/app/token', outcome: 'success', actor: `token:${writerId}`, source: 'api', correlationId: 'rb-1' });
    expect((await kt.store.get('prod/app/token'))!.value).toBe('first-value');
  });
});

describe('delete, restore, purge', () => {
  it('soft-deletes with delete and a recovery window, restores, and purges once the window has ended', async () => {
    await refused('DELETE', '/v1/secrets/prod/app/token', 'writer', 403, 'KT_ACCESS_DENIED');
    await refused('DELETE', '/v1/secrets/prod/app/token?recoveryDays=3', 'deleter', 400, 'KT_RECOVERY_DAYS_INVALID');
    await refused('DELETE', '/v1/secrets/prod/app/token?recoveryDays=soon', 'deleter', 400, 'KT_USAGE');
    await refused('DELETE', '/v1/secrets/prod/app/none', 'deleter', 404, 'KT_SECRET_NOT_FOUND');

    const del = await call('DELETE', '/v1/secrets/prod/app/token?recoveryDays=7', 'deleter');
    expect(del.statusCode, del.body).toBe(200);
    expect(del.json()).toMatchObject({ path: 'prod/app/token', deletedAt: new Date(clock.now()).toISOString(), purgeAfter: new Date(clock.now() + 7 * DAY).toISOString() });
    expect((await call('GET', '/v1/secrets/prod/app/token', 'reader')).json()).toMatchObject({ error: { code: 'KT_SECRET_DELETED' } });
    expect((await call('GET', '/v1/metadata?deleted=true', 'lister')).json()).toEqual({ secrets: [expect.objectContaining({ path: 'prod/app/token' })] });

    await refused('POST', '/v1/restore/prod/app/token', 'writer', 403, 'KT_ACCESS_DENIED');
    const restored = await call('POST', '/v1/restore/prod/app/token', 'deleter');
    expect(restored.json()).toMatchObject({ path: 'prod/app/token', deletedAt: null, versions: 2 });
    expect((await kt.store.get('prod/app/token'))!.value).toBe('second-value');

    await call('DELETE', '/v1/secrets/prod/app/token?recoveryDays=7', 'deleter');
    // Inside the window purge protection holds it: the check and the purge both say so.
    await refused('GET', '/v1/purge/prod/app/token', 'deleter', 409, 'KT_PURGE_PROTECTED');
    await refused('POST', '/v1/purge/prod/app/token', 'deleter', 409, 'KT_PURGE_PROTECTED');
    await refused('POST', '/v1/purge/prod/app/solo', 'deleter', 409, 'KT_SECRET_NOT_DELETED');
    clock.advance(7 * DAY + 1);
    await refused('POST', '/v1/purge/prod/app/token', 'lister', 403, 'KT_ACCESS_DENIED');
    const check = await call('GET', '/v1/purge/prod/app/token', 'deleter');
    expect(check.json()).toMatchObject({ path: 'prod/app/token', versions: 2 });
    const purged = await call('POST', '/v1/purge/prod/app/token', 'deleter');
    expect(purged.json()).toEqual({ path: 'prod/app/token', purged: true });
    expect(await kt.store.describe('prod/app/token')).toBeNull();
    await refused('POST', '/v1/purge/prod/app/token', 'deleter', 404, 'KT_SECRET_NOT_FOUND');
  });
});
