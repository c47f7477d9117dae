/**
 * Lifecycle and compliance (docs/compliance.md), through the API on a manual clock (fastify's
 * inject over a real home) and through the CLI on a home whose old value was stored in 2020:
 * a secret's lifecycle events through create, rotate, delete, restore and purge; its status
 * (revoked, deprecated, expired) refusing reads with 409 / exit 1 and KT_SECRET_INACTIVE, each
 * refusal recorded, the explicit override working; the compliance report's JSON and CSV, and its
 * exit code (1 when a secret is overdue, 0 when none is). The API tests run on a SQLite and on a
 * PostgreSQL state database.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { loadSettings } from '../src/config/settings.js';
import { DAY_MS, manualClock, type ManualClock } from '../src/core/clock.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { apiHome, listeningServer, type ApiHome } from './helpers/api-home.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

const CONFIG = `version: 1
secrets:
  app/a:
    type: app-secret
    schedule: { manual: true, maxAge: 10d, expiryWarning: 2d }
  app/b:
    type: app-secret
    schedule: { every: 30d }
`;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

let h: ApiHome<'admin' | 'lister'> | undefined;
let clock: ManualClock;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

/** Which state database the API tests run on (the lifecycle and compliance queries are SQL of their own). */
let onPostgres = false;

async function open(): Promise<ApiHome<'admin' | 'lister'>> {
  clock = manualClock(Date.parse('2030-01-01T00:00:00Z'));
  h = await apiHome({
    postgres: onPostgres,
    clock,
    config: CONFIG,
    policies: { 'app-list': 'rules:\n  - path: app/**\n    capabilities: [list]\n' },
    tokens: { admin: ['admin'], lister: ['app-list'] },
  });
  return h;
}

const body = (r: { body: string }) => JSON.parse(r.body) as Json;

describe.each([
  ['SQLite', false],
  ['PostgreSQL', true],
] as const)('lifecycle through the API, state on %s', (_name, postgres) => {
  beforeEach(() => {
    onPostgres = postgres;
  });

  it('lists the events of a secret through create, rotate, delete, restore and purge, with their audit events', async () => {
    const a = await open();
    expect((await a.call('PUT', '/v1/secrets/app/a', 'admin', { value: 'first' })).statusCode).toBe(200);
    clock.advance(60_000);
    const rotated = await a.call('POST', '/v1/rotations/app/a', 'admin', { wait: true });
    expect(rotated.statusCode, rotated.body).toBe(200);
    const runId = body(rotated).id as string;
    clock.advance(60_000);
    expect((await a.call('DELETE', '/v1/secrets/app/a', 'admin')).statusCode).toBe(200);
    expect((await a.call('POST', '/v1/restore/app/a', 'admin')).statusCode).toBe(200);

    const listed = await a.call('GET', '/v1/lifecycle/app/a', 'lister');
    expect(listed.statusCode, listed.body).toBe(200);
    const events = body(listed).events as Json[];
    // keyturn apply created it (an app-secret gets a generated first value), the PUT and the rotation made versions 2 and 3 current.
    expect(events.map((e) => e.kind)).toEqual(['created', 'activated', 'activated', 'activated', 'rotated', 'deleted', 'restored']);
    expect(events[0]).toMatchObject({ version: 1, versionId: 'initial', action: 'secret.put', source: 'cli' });
    expect(events[2]).toMatchObject({ version: 2, action: 'secret.put', actor: `token:${a.ids.admin}`, source: 'api' });
    expect(events[3]).toMatchObject({ version: 3, action: 'secret.stage.current', runId: null });
    expect(events[4]).toMatchObject({ kind: 'rotated', version: 3, runId, action: 'secret.rotate' });
    // Each names its audit event, which the log holds with the same seq.
    for (const e of events) {
      const row = await a.kt.audit.find(String(e.auditSeq));
      expect(row?.id).toBe(e.auditId);
    }
    expect(body(await a.call('GET', '/v1/lifecycle/app/a?limit=2', 'lister')).events.map((e: Json) => e.kind)).toEqual(['deleted', 'restored']);

    // Purge: the secret is gone, its events stay queryable and end with purged.
    expect((await a.call('DELETE', '/v1/secrets/app/a', 'admin')).statusCode).toBe(200);
    clock.advance(31 * DAY_MS);
    expect((await a.call('POST', '/v1/purge/app/a', 'admin')).statusCode).toBe(200);
    const after = body(await a.call('GET', '/v1/lifecycle/app/a', 'lister')).events as Json[];
    expect(after.map((e) => e.kind).slice(-2)).toEqual(['deleted', 'purged']);
    // Created again: a new created event.
    expect((await a.call('PUT', '/v1/secrets/app/a', 'admin', { value: 'again' })).statusCode).toBe(200);
    expect((body(await a.call('GET', '/v1/lifecycle/app/a', 'lister')).events as Json[]).map((e) => e.kind).slice(-3)).toEqual(['purged', 'created', 'activated']);
    expect(body(await a.call('GET', '/v1/lifecycle/app/none', 'lister'))).toMatchObject({ error: { code: 'KT_SECRET_NOT_FOUND' } });
  });

  it('refuses reads of a revoked, deprecated or expired secret (409 KT_SECRET_INACTIVE, recorded) unless allowInactive=true; rotation still works', async () => {
    const a = await open();
    await a.call('PUT', '/v1/secrets/app/a', 'admin', { value: 'va' });
    await a.call('PUT', '/v1/secrets/app/b', 'admin', { value: 'vb' });
    expect(body(await a.call('GET', '/v1/status/app/b', 'lister'))).toMatchObject({ status: 'active', since: null });

    // Marking needs write.
    expect(body(await a.call('POST', '/v1/status/app/b', 'lister', { status: 'revoked' }))).toMatchObject({ error: { code: 'KT_ACCESS_DENIED' } });
    const revoked = await a.call('POST', '/v1/status/app/b', 'admin', { status: 'revoked' });
    expect(body(revoked)).toMatchObject({ status: 'revoked', by: `token:${a.ids.admin}` });
    const refused = await a.call('GET', '/v1/secrets/app/b', 'admin');
    expect(refused.statusCode).toBe(409);
    expect(body(refused)).toMatchObject({ error: { code: 'KT_SECRET_INACTIVE', details: { status: 'revoked' } } });
    expect(refused.body).not.toContain('vb');
    const tail = (await a.kt.audit.tail(1)).map((r) => JSON.parse(r.leaf) as Json)[0]!;
    expect(tail).toMatchObject({ action: 'secret.read', path: 'app/b', outcome: 'denied', errorCode: 'KT_SECRET_INACTIVE', actor: `token:${a.ids.admin}` });
    const allowed = await a.call('GET', '/v1/secrets/app/b?allowInactive=true', 'admin');
    expect(allowed.statusCode).toBe(200);
    expect(body(allowed).value).toBe('vb');

    await a.call('POST', '/v1/status/app/b', 'admin', { status: 'deprecated' });
    expect(body(await a.call('GET', '/v1/secrets/app/b', 'admin'))).toMatchObject({ error: { code: 'KT_SECRET_INACTIVE', details: { status: 'deprecated' } } });
    // A deprecated secret still rotates.
    expect((await a.call('POST', '/v1/rotations/app/b', 'admin', { wait: true })).statusCode).toBe(200);
    expect(body(await a.call('POST', '/v1/status/app/b', 'admin', { status: 'active' }))).toMatchObject({ status: 'active' });
    expect((await a.call('GET', '/v1/secrets/app/b', 'admin')).statusCode).toBe(200);
    expect((body(await a.call('GET', '/v1/lifecycle/app/b', 'lister')).events as Json[]).map((e) => e.kind)).toEqual([
      'created',
      'activated',
      'activated',
      'revoked',
      'deprecated',
      'activated',
      'rotated',
      'activated',
    ]);

    // app/a has maxAge 10d: expired after it, readable again once rotated.
    clock.advance(10 * DAY_MS - 1);
    expect(body(await a.call('GET', '/v1/status/app/a', 'lister')).status).toBe('active');
    clock.advance(1);
    expect(body(await a.call('GET', '/v1/status/app/a', 'lister'))).toMatchObject({ status: 'expired', since: '2030-01-11T00:00:00.000Z' });
    expect(body(await a.call('GET', '/v1/secrets/app/a', 'admin'))).toMatchObject({ error: { code: 'KT_SECRET_INACTIVE', details: { status: 'expired' } } });
    expect((body(await a.call('GET', '/v1/lifecycle/app/a', 'lister')).events as Json[]).at(-1)).toMatchObject({ kind: 'expired', time: '2030-01-11T00:00:00.000Z', auditSeq: null });
    expect((await a.call('POST', '/v1/rotations/app/a', 'admin', { wait: true })).statusCode).toBe(200);
    expect(body(await a.call('GET', '/v1/status/app/a', 'lister')).status).toBe('active');
    expect((await a.call('GET', '/v1/secrets/app/a', 'admin')).statusCode).toBe(200);
  });

  it('reports compliance: age, maximum, ok / warning / overdue / failing, last rotation and its audit event', async () => {
    const a = await open();
    await a.call('PUT', '/v1/secrets/app/a', 'admin', { value: 'va' });
    await a.call('PUT', '/v1/secrets/app/b', 'admin', { value: 'vb' });
    await a.call('PUT', '/v1/secrets/other/c', 'admin', { value: 'vc' });
    const rotated = body(await a.call('POST', '/v1/rotations/app/b', 'admin', { wait: true }));
    let r = body(await a.call('GET', '/v1/reports/compliance', 'admin'));
    expect(r.secrets.map((s: Json) => s.path)).toEqual(['app/a', 'app/b', 'other/c']);
    expect(r).toMatchObject({ overdue: 0, counts: { ok: 3, warning: 0, overdue: 0, failing: 0 } });
    const b = r.secrets[1] as Json;
    expect(b).toMatchObject({ type: 'app-secret', max: 'every 30d', maxAgeMs: null, status: 'ok', lastResult: 'done', lastRunId: rotated.id });
    const ev = await a.kt.audit.find(String(b.lastRotationEventSeq));
    expect(ev?.id).toBe(b.lastRotationEventId);
    expect(JSON.parse(ev!.leaf)).toMatchObject({ action: 'secret.rotate', outcome: 'success', runId: rotated.id, path: 'app/b' });
    expect(r.secrets[0]).toMatchObject({ max: 'maxAge 10d', maxAgeMs: 10 * DAY_MS, lastResult: null, lastRotationEventId: expect.stringMatching(/^ev_/) });
    expect(r.secrets[2]).toMatchObject({ type: null, max: 'manual', status: 'ok' });

    clock.advance(8 * DAY_MS);
    r = body(await a.call('GET', '/v1/reports/compliance?prefix=app', 'lister'));
    expect(r.secrets.map((s: Json) => [s.path, s.status, s.ageMs])).toEqual([
      ['app/a', 'warning', 8 * DAY_MS],
      ['app/b', 'ok', 8 * DAY_MS],
    ]);
    clock.advance(2 * DAY_MS);
    r = body(await a.call('GET', '/v1/reports/compliance', 'lister'));
    // Only what the token may list.
    expect(r.secrets.map((s: Json) => [s.path, s.status, s.lifecycle])).toEqual([
      ['app/a', 'overdue', 'expired'],
      ['app/b', 'ok', 'active'],
    ]);
    expect(r.overdue).toBe(1);
  });
});

describe('lifecycle and compliance through the CLI', () => {
  it('reports JSON and CSV, exits 1 when a secret is overdue and 0 when none is, refuses an inactive read unless --allow-inactive, locally and through a server', async () => {
    const tmp = tempDir();
    const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
    try {
      expect((await runCli(['init'], { env })).code).toBe(0);
      const file = join(tmp.dir, 'keyturn.yaml');
      writeFileSync(
        file,
        `version: 1\nsecrets:\n  old/x:\n    type: app-secret\n    schedule: { manual: true, maxAge: 70d }\n  fresh/x:\n    type: app-secret\n    schedule: { manual: true, maxAge: 70d }\n`,
      );
      expect((await runCli(['apply', '-f', file], { env })).code).toBe(0);
      // old/x's value was stored in 2020: overdue (and expired) whatever today's date.
      const past = await openKeyturn(loadSettings(env), { clock: manualClock(Date.parse('2020-01-01T00:00:00Z')) });
      await past.store.put('old/x', 'old-value');
      await past.close();
      expect((await runCli(['secret', 'put', 'fresh/x', '--value', 'fresh-value'], { env })).code).toBe(0);

      const all = await runCli(['report', 'compliance', '--json'], { env });
      expect(all.code, all.stderr).toBe(1);
      const report = JSON.parse(all.stdout) as Json;
      expect(report.secrets.map((s: Json) => [s.path, s.status, s.lifecycle, s.max])).toEqual([
        ['fresh/x', 'ok', 'active', 'maxAge 70d'],
        ['old/x', 'overdue', 'expired', 'maxAge 70d'],
      ]);
      expect(report.secrets[1].lastRotation).toBe('2020-01-01T00:00:00.000Z');
      const fresh = await runCli(['report', 'compliance', '--prefix', 'fresh'], { env });
      expect(fresh.code, fresh.stderr).toBe(0);
      expect(fresh.stdout).toMatch(/^PATH +TYPE +AGE +MAX +STATUS/);
      expect(fresh.stdout).toContain('1 secret: 1 ok, 0 warning, 0 failing, 0 overdue');
      const csv = await runCli(['report', 'compliance', '--csv'], { env });
      expect(csv.code).toBe(1);
      const lines = csv.stdout.trimEnd().split('\r\n');
      // RFC 4180, every field quoted (src/cli/csv.ts).
      expect(lines[0]).toBe('"path","type","ageSeconds","max","status","lifecycle","lastResult","lastRunId","lastRotation","lastRotationEventSeq","lastRotationEventId","overdueAt","expiresAt"');
      expect(lines).toHaveLength(3);
      expect(lines[2]).toMatch(/^"old\/x","app-secret","\d+","maxAge 70d","overdue","expired","","","2020-01-01T00:00:00.000Z","\d+","ev_\d+_[0-9a-f]+","2020-03-11T00:00:00.000Z",""$/);
      expect((await runCli(['report', 'compliance', '--csv', '--json'], { env })).code).toBe(2);

      const refused = await runCli(['secret', 'get', 'old/x', '--json'], { env });
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: 'KT_SECRET_INACTIVE' } });
      expect(refused.stdout + refused.stderr).not.toContain('old-value');
      expect(await runCli(['secret', 'get', 'old/x', '--allow-inactive'], { env })).toMatchObject({ code: 0, stdout: 'old-value' });
      expect((await runCli(['secret', 'revoke', 'fresh/x'], { env })).stdout).toMatch(/^fresh\/x: revoked since /);
      expect((await runCli(['secret', 'get', 'fresh/x'], { env })).code).toBe(1);
      const events = JSON.parse((await runCli(['secret', 'events', 'fresh/x', '--json'], { env })).stdout) as Json[];
      expect(events.map((e) => e.kind)).toEqual(['created', 'activated', 'activated', 'revoked']);

      // Through a server: the same answers and exit codes.
      const server = await listeningServer(env);
      try {
        const { token } = await new AccessRepo(server.kt.state, server.kt.clock).createToken({ policies: ['admin'] });
        const remote = { KEYTURN_LOG_LEVEL: 'silent', KEYTURN_HOME: join(tmp.dir, 'nowhere'), KEYTURN_ADDR: server.base, KEYTURN_TOKEN: token };
        const r = await runCli(['report', 'compliance', '--json'], { env: remote });
        expect(r.code, r.stderr).toBe(1);
        expect((JSON.parse(r.stdout) as Json).secrets.map((s: Json) => s.status)).toEqual(['ok', 'overdue']);
        expect((await runCli(['report', 'compliance', '--prefix', 'fresh'], { env: remote })).code).toBe(0);
        expect((await runCli(['secret', 'get', 'fresh/x'], { env: remote })).code).toBe(1);
        expect(await runCli(['secret', 'get', 'fresh/x', '--allow-inactive'], { env: remote })).toMatchObject({ code: 0, stdout: 'fresh-value' });
        expect((await runCli(['secret', 'activate', 'fresh/x', '--json'], { env: remote })).stdout).toContain('"status": "active"');
        expect(await runCli(['secret', 'get', 'fresh/x'], { env: remote })).toMatchObject({ code: 0, stdout: 'fresh-value' });
        const remoteEvents = JSON.parse((await runCli(['secret', 'events', 'fresh/x', '--json', '--limit', '1'], { env: remote })).stdout) as Json[];
        expect(remoteEvents).toMatchObject([{ kind: 'activated', action: 'secret.activate', source: 'api' }]);
      } finally {
        await server.close();
      }
    } finally {
      tmp.remove();
    }
  }, 60_000);
});
