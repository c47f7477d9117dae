/**
 * The web dashboard's API and assets over a real home (fastify's inject): `GET /v1/inventory`
 * gives, from its bulk reads, exactly what the compliance report computes a secret at a time
 * (type, age, maximum, compliance and lifecycle status, last result, overdue time) for secrets
 * that are fresh, in warning, overdue, expired, marked deprecated, rotated, without a policy, and
 * the next due time `GET /v1/schedules/PATH` gives; only the paths the token may list. `GET
 * /v1/replicas/PATH` gives each replica store's version, lag and error. `GET /v1/self` names the caller's capabilities; `/ui` serves the built dashboard with its security
 * headers, index.html for its own routes, 404 for a missing asset or a name outside the folder.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY_MS, manualClock } from '../src/core/clock.js';
import { complianceReport } from '../src/lifecycle/compliance.js';
import { ReplicaRepo } from '../src/replicas/repo.js';
import { uiDir } from '../src/server/routes/ui.js';
import { apiHome, type ApiHome } from './helpers/api-home.js';

const clock = manualClock(Date.now());
let h: ApiHome<'admin' | 'team' | 'nobody'>;

beforeAll(async () => {
  const secret = (path: string, schedule: string) => `  ${path}:\n    type: app-secret\n    password: { length: 24 }\n    schedule: ${schedule}\n`;
  h = await apiHome({
    clock,
    config: `version: 1\nsecrets:\n${secret('team/fresh', '{ every: 30d, maxAge: 40d }')}${secret('team/warn', '{ every: 5d, maxAge: 10d, expiryWarning: 3d }')}${secret('team/old', '{ every: 1d, maxAge: 2d }')}${secret('team/manual', '{ manual: true }')}${secret('ops/rotated', '{ every: 3d }')}${secret('ops/marked', '{ every: 30d }')}`,
    policies: { team: 'rules:\n  - path: team/**\n    capabilities: [list, read]\n', elsewhere: 'rules:\n  - path: elsewhere/**\n    capabilities: [list]\n' },
    tokens: { admin: ['admin'], team: ['team'], nobody: ['elsewhere'] },
    secrets: [['plain/value', 'v1']],
  });
  clock.advance(8 * DAY_MS);
  expect((await h.call('POST', '/v1/rotations/ops/rotated', 'admin', {})).statusCode).toBe(200);
  expect((await h.call('POST', '/v1/status/ops/marked', 'admin', { status: 'deprecated' })).statusCode).toBe(200);
  clock.advance(DAY_MS);
}, 60_000);

afterAll(() => h?.close());

describe('GET /v1/inventory', () => {
  it('gives the compliance report’s rows from its bulk reads, with the target and the schedule’s next due time', async () => {
    const r = await h.call('GET', '/v1/inventory', 'admin');
    expect(r.statusCode, r.body).toBe(200);
    const inv = r.json() as { counts: Record<string, number>; secrets: Array<Record<string, unknown>> };
    const report = await complianceReport({ kt: h.kt, store: h.kt.store });
    const fields = ['path', 'type', 'ageMs', 'max', 'maxAgeMs', 'status', 'lifecycle', 'lastResult', 'lastRunId', 'lastRotation', 'overdueAt', 'expiresAt'] as const;
    const pickOf = (row: Record<string, unknown>) => Object.fromEntries(fields.map((f) => [f, row[f]]));
    expect(inv.secrets.map(pickOf)).toEqual(report.secrets.map((row) => pickOf(row as unknown as Record<string, unknown>)));
    expect(inv.counts).toEqual(report.counts);
    // The home covers each case the rules tell apart.
    expect(Object.fromEntries(inv.secrets.map((s) => [s.path, [s.status, s.lifecycle, s.lastResult]]))).toEqual({
      'team/fresh': ['ok', 'active', null],
      'team/warn': ['warning', 'active', null],
      'team/old': ['overdue', 'expired', null],
      'team/manual': ['ok', 'active', null],
      'ops/rotated': ['ok', 'active', 'done'],
      'ops/marked': ['ok', 'deprecated', null],
      'plain/value': ['ok', 'active', null],
    });
    for (const s of inv.secrets) {
      expect(s.target).toBeNull();
      if (s.path === 'plain/value') {
        expect(s.dueAt).toBeNull();
        continue;
      }
      const schedule = (await h.call('GET', `/v1/schedules/${s.path as string}`, 'admin')).json() as { next: { dueAt: string | null } };
      expect([s.path, s.dueAt]).toEqual([s.path, schedule.next.dueAt]);
    }
  });

  it('shows only the paths the token may list', async () => {
    const team = (await h.call('GET', '/v1/inventory', 'team')).json() as { secrets: Array<{ path: string }> };
    expect(team.secrets.map((s) => s.path)).toEqual(['team/fresh', 'team/manual', 'team/old', 'team/warn']);
    const prefixed = (await h.call('GET', '/v1/inventory?prefix=team/o', 'admin')).json() as { secrets: Array<{ path: string }> };
    expect(prefixed.secrets.map((s) => s.path)).toEqual([]);
    const under = (await h.call('GET', '/v1/inventory?prefix=ops', 'admin')).json() as { secrets: Array<{ path: string }> };
    expect(under.secrets.map((s) => s.path)).toEqual(['ops/marked', 'ops/rotated']);
    const none = (await h.call('GET', '/v1/inventory', 'nobody')).json() as { secrets: unknown[] };
    expect(none.secrets).toEqual([]);
    expect((await h.call('GET', '/v1/inventory', null)).statusCode).toBe(401);
  });
});

describe('GET /v1/self', () => {
  it('names the caller and its capabilities, everywhere and on a path', async () => {
    const team = (await h.call('GET', '/v1/self?path=team/old', 'team')).json();
    expect(team).toMatchObject({ tokenId: h.ids.team, policies: ['team'], everywhere: [], path: 'team/old', capabilities: ['read', 'list'] });
    expect((await h.call('GET', '/v1/self?path=ops/rotated', 'team')).json()).toMatchObject({ capabilities: [] });
    expect((await h.call('GET', '/v1/self', 'admin')).json()).toMatchObject({ everywhere: ['read', 'list', 'write', 'rotate', 'delete', 'admin', 'audit', 'approve'], path: null, capabilities: null });
    expect((await h.call('GET', '/v1/self', null)).statusCode).toBe(401);
  });
});

describe('GET /v1/replicas/PATH', () => {
  it('gives each replica store’s version, lag and last error for a secret the token may list', async () => {
    const repo = new ReplicaRepo(h.kt.state);
    const current = (await h.kt.store.get('team/fresh'))!;
    const since = clock.now();
    await repo.want('team/fresh', ['eu-backup', 'us-backup'], { id: current.id, number: current.number }, since);
    await repo.synced('team/fresh', 'eu-backup', { id: current.id, number: current.number }, since + 2000);
    await repo.failed('team/fresh', 'us-backup', { code: 'KT_STORE_UNAVAILABLE', message: 'the store did not answer' }, since + 3000);
    clock.advance(90_000);
    const r = await h.call('GET', '/v1/replicas/team/fresh', 'team');
    expect(r.statusCode, r.body).toBe(200);
    expect(r.json()).toEqual({
      path: 'team/fresh',
      replicas: [
        {
          replica: 'eu-backup',
          wanted: { versionId: current.id, version: current.number, since: new Date(since).toISOString() },
          has: { versionId: current.id, version: current.number, syncedAt: new Date(since + 2000).toISOString() },
          lagSeconds: 0,
          attempts: 0,
          error: null,
        },
        {
          replica: 'us-backup',
          wanted: { versionId: current.id, version: current.number, since: new Date(since).toISOString() },
          has: null,
          lagSeconds: 90,
          attempts: 1,
          error: { code: 'KT_STORE_UNAVAILABLE', message: 'the store did not answer' },
        },
      ],
    });
    expect((await h.call('GET', '/v1/replicas/ops/rotated', 'team')).statusCode).toBe(403);
    expect((await h.call('GET', '/v1/replicas/ops/rotated', 'admin')).json()).toEqual({ path: 'ops/rotated', replicas: [] });
  });
});

describe('/ui', () => {
  it('serves the built dashboard: index.html for its routes, assets, security headers; 404 outside', async () => {
    expect(uiDir(), 'npm run build:ui writes dist/ui (vitest setup builds it)').not.toBeNull();
    const redirect = await h.app.inject({ method: 'GET', url: '/ui' });
    expect([redirect.statusCode, redirect.headers.location]).toEqual([302, '/ui/']);
    const index = await h.app.inject({ method: 'GET', url: '/ui/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['cache-control']).toBe('no-cache');
    const script = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(index.body)?.[1];
    expect(script).toBeDefined();
    const asset = await h.app.inject({ method: 'GET', url: script! });
    expect([asset.statusCode, asset.headers['content-type'], asset.headers['cache-control']]).toEqual([200, 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable']);
    expect((await h.app.inject({ method: 'GET', url: '/ui/secret/prod/db' })).body).toBe(index.body);
    for (const url of ['/ui/assets/nothing.js', '/ui/../package.json', '/ui/%2e%2e/package.json', '/ui/assets/..%2f..%2f..%2fpackage.json']) {
      const r = await h.app.inject({ method: 'GET', url });
      expect([url, r.statusCode, r.body]).not.toContain('"name": "keyturn"');
      expect([url, r.statusCode === 404 || (r.statusCode === 200 && r.body === index.body)]).toEqual([url, true]);
    }
  });

  it('finds no build above a folder without dist/ui (the route then answers KT_UI_NOT_BUILT)', () => {
    expect(uiDir('/')).toBeNull();
  });
});
