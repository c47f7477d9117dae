/**
 * Break-glass over the HTTP API, on a real home with a manual clock: a read of a break-glass path
 * is refused (KT_BREAKGLASS_REQUIRED) until two subjects other than the requester approve; the
 * window opens, closes with the clock, and the sweep rotates the secret exactly once (or records
 * that it has no rotation configured). Every step is in the audit log; refusals change nothing.
 * The API tests run on SQLite and on PostgreSQL (a fresh schema each).
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessRepo } from '../src/access/access-repo.js';
import { applyPlan, planConfig } from '../src/config/apply.js';
import { parseConfig } from '../src/config/load.js';
import { loadSettings } from '../src/config/settings.js';
import { manualClock, type ManualClock } from '../src/core/clock.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { buildServer } from '../src/server/app.js';
import { runCli } from './helpers/cli.js';
import { PG_URL, tempDir } from './helpers/state.js';

let tmp: ReturnType<typeof tempDir>;
let kt: Keyturn;
let clock: ManualClock;
let app: FastifyInstance;
const tok: Record<string, string> = {};

const HOUR = 3_600_000;

let pgAdmin: pg.Client | null = null;
let schema: string | null = null;

/** A fresh home before each test of the enclosing describe: SQLite, or a fresh schema on PostgreSQL. */
function useHome(backend: 'sqlite' | 'postgres'): void {
  beforeEach(() => setUp(backend));
  afterEach(async () => {
    await app.close();
    await kt.close();
    tmp.remove();
    if (pgAdmin !== null) {
      await pgAdmin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await pgAdmin.end();
      pgAdmin = null;
    }
  });
}

async function setUp(backend: 'sqlite' | 'postgres'): Promise<void> {
  tmp = tempDir();
  clock = manualClock(Date.parse('2026-03-01T00:00:00Z'));
  const env: Record<string, string> = { KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent' };
  if (backend === 'postgres') {
    schema = `kt_bg_${randomBytes(4).toString('hex')}`;
    pgAdmin = new pg.Client({ connectionString: PG_URL });
    await pgAdmin.connect();
    await pgAdmin.query(`CREATE SCHEMA ${schema}`);
    const url = new URL(PG_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    env.KEYTURN_DATABASE_URL = url.toString();
  }
  const settings = loadSettings(env);
  await initHome(settings);
  kt = await openKeyturn(settings, { clock });
  const access = new AccessRepo(kt.state, kt.clock);
  await access.putPolicy(
    'db-oncall',
    [
      'rules:',
      '  - path: prod/db/*',
      '    capabilities: [read, list]',
      '  - path: prod/db/root',
      '    capabilities: [read]',
      '    breakGlass: true',
      '  - path: prod/db/manual',
      '    capabilities: [read]',
      '    breakGlass: { maxTtl: 2h }',
      '',
    ].join('\n'),
  );
  await access.putPolicy('approvers', 'rules:\n  - path: prod/**\n    capabilities: [approve]\n');
  await access.putPolicy('auditors', 'rules:\n  - path: other/**\n    capabilities: [approve, audit]\n');
  const make = async (name: string, policies: string[], subject: string) => {
    tok[name] = (await access.createToken({ policies, subject })).token;
  };
  await make('alice', ['db-oncall'], 'alice');
  await make('alice2', ['db-oncall', 'approvers'], 'alice');
  await make('bob', ['approvers'], 'bob');
  await make('bob2', ['approvers'], 'bob');
  await make('carol', ['approvers'], 'carol');
  await make('dave', ['approvers'], 'dave');
  await make('outsider', ['auditors'], 'erin');
  await make('admin', ['admin'], 'root-admin');
  await kt.store.put('prod/db/root', 'root-pw-1');
  await kt.store.put('prod/db/manual', 'manual-pw-1');
  await kt.store.put('prod/db/app', 'app-pw-1');
  const config = parseConfig('version: 1\nsecrets:\n  prod/db/root:\n    type: app-secret\n    password: { length: 32 }\n', {});
  await applyPlan(kt.state, kt.store, config, await planConfig(kt.state, kt.store, config), kt.clock);
  app = await buildServer(kt, { breakGlassSweepMs: false });
}

const auth = (who: string) => ({ authorization: `Bearer ${tok[who]}` });
const read = (who: string, path = 'prod/db/root') => app.inject({ url: `/v1/secrets/${path}`, headers: auth(who) });
const ask = (who: string, body: object) => app.inject({ method: 'POST', url: '/v1/breakglass', headers: auth(who), payload: body });
const approve = (who: string, id: string) => app.inject({ method: 'POST', url: `/v1/breakglass/${id}/approve`, headers: auth(who) });
const list = async (who: string) => (await app.inject({ url: '/v1/breakglass', headers: auth(who) })).json().requests as Array<Record<string, unknown>>;
const codeOf = (r: { json(): { error?: { code: string } } }) => r.json().error?.code;

async function events(from: number): Promise<Array<Record<string, string | null>>> {
  return (await kt.audit.between(from)).map((row) => JSON.parse(row.leaf) as Record<string, string | null>);
}

async function requestRows(): Promise<number> {
  return (await kt.state.db.selectFrom('breakglass_requests').select('id').execute()).length;
}

describe.each(['sqlite', 'postgres'] as const)('break-glass over the API (%s)', (backend) => {
  useHome(backend);

  it('refuses, needs two other subjects, opens a window, closes it with the clock and rotates once', async () => {
    const start = (await kt.audit.head()).size;
    // Without a grant: refused with its own code, a fix naming the command, and recorded.
    const refused = await read('alice');
    expect([refused.statusCode, codeOf(refused)]).toEqual([403, 'KT_BREAKGLASS_REQUIRED']);
    expect(refused.json().error.fix).toContain('keyturn breakglass request');
    expect(refused.body).not.toContain('root-pw-1');
    // Other paths of the same policy read as before.
    expect((await read('alice', 'prod/db/app')).statusCode).toBe(200);

    const made = await ask('alice', { path: 'prod/db/root', reason: 'INC-42: the replica is down' });
    expect(made.statusCode).toBe(201);
    const req = made.json() as { id: string; status: string; ttlSeconds: number; requester: string };
    expect(req).toMatchObject({ status: 'pending', ttlSeconds: 3600, requester: 'alice' });

    // The requester cannot approve, even with another token of the same subject that may approve.
    const self = await approve('alice2', req.id);
    expect([self.statusCode, codeOf(self)]).toEqual([403, 'KT_BREAKGLASS_SELF_APPROVAL']);
    // Without `approve` on the path: refused, whoever it is.
    expect(codeOf(await approve('alice', req.id))).toBe('KT_ACCESS_DENIED');
    expect(codeOf(await approve('outsider', req.id))).toBe('KT_ACCESS_DENIED');

    // One approval is not enough; the same subject again counts once.
    expect((await approve('bob', req.id)).json()).toMatchObject({ status: 'pending', approvals: [{ subject: 'bob' }] });
    expect((await approve('bob2', req.id)).json()).toMatchObject({ status: 'pending', approvals: [{ subject: 'bob' }] });
    expect(codeOf(await read('alice'))).toBe('KT_BREAKGLASS_REQUIRED');

    // The second distinct subject opens the window: one hour from now.
    const granted = (await approve('carol', req.id)).json();
    expect(granted).toMatchObject({ status: 'approved', approvals: [{ subject: 'bob' }, { subject: 'carol' }], endsAt: new Date(clock.now() + HOUR).toISOString() });
    const ok = await read('alice', 'prod/db/root');
    expect([ok.statusCode, ok.json().value]).toEqual([200, 'root-pw-1']);
    // Any token of the requester's subject; never someone without read (break-glass never widens access).
    expect((await read('alice2')).statusCode).toBe(200);
    expect(codeOf(await read('bob'))).toBe('KT_ACCESS_DENIED');
    // A third approval finds nothing pending.
    expect([(await approve('dave', req.id)).statusCode, codeOf(await approve('dave', req.id))]).toEqual([409, 'KT_BREAKGLASS_NOT_PENDING']);

    // The window closes with the clock: refused again, `expired` until the sweep.
    clock.advance(HOUR - 1);
    expect((await read('alice')).statusCode).toBe(200);
    clock.advance(1);
    expect(codeOf(await read('alice'))).toBe('KT_BREAKGLASS_REQUIRED');
    expect((await list('alice')).find((r) => r.id === req.id)).toMatchObject({ status: 'expired' });

    const report = await sweepNow();
    expect(report).toEqual({ lapsed: [], rotated: [req.id], failed: [], unconfigured: [] });
    expect(await sweepNow()).toEqual({ lapsed: [], rotated: [], failed: [], unconfigured: [] });
    const versions = await kt.store.versions('prod/db/root');
    expect(versions.length).toBe(2);
    expect((await kt.store.get('prod/db/root'))!.value).not.toBe('root-pw-1');
    const shown = (await list('bob')).find((r) => r.id === req.id) as { status: string; rotation: { state: string; runId: string } };
    expect(shown).toMatchObject({ status: 'rotated', rotation: { state: 'rotated', runId: expect.stringMatching(/^run_/) } });

    // All of it is in the audit log, with the tokens, in order; no value anywhere.
    // (The test's own reads through kt.store, source `library`, are left out.)
    const log = (await events(start)).filter((e) => e.source !== 'library');
    const bg = log.filter((e) => e.action!.startsWith('breakglass.') || (e.action === 'secret.read' && e.path === 'prod/db/root') || e.action === 'secret.rotate');
    expect(bg.map((e) => `${e.action} ${e.outcome}${e.errorCode ? ` ${e.errorCode}` : ''}`)).toEqual([
      'secret.read denied KT_BREAKGLASS_REQUIRED',
      'breakglass.request success',
      'breakglass.approve denied KT_BREAKGLASS_SELF_APPROVAL',
      'breakglass.approve success',
      'secret.read denied KT_BREAKGLASS_REQUIRED',
      'breakglass.approve success',
      'breakglass.grant success',
      'secret.read success',
      'secret.read success',
      'secret.read success',
      'secret.read denied KT_BREAKGLASS_REQUIRED',
      'breakglass.close success',
      ...log.filter((e) => e.action === 'secret.rotate').map((e) => `secret.rotate ${e.outcome}`),
      'breakglass.rotate success',
    ]);
    expect(bg.filter((e) => e.action!.startsWith('breakglass.')).every((e) => e.runId === req.id)).toBe(true);
    expect(log.filter((e) => e.action === 'secret.rotate').every((e) => e.correlationId === req.id)).toBe(true);
    expect(JSON.stringify(log)).not.toMatch(/root-pw-1|INC-42/);
  });

  it('records a secret without a rotation policy as unconfigured, for a human to see', async () => {
    const id = (await ask('alice', { path: 'prod/db/manual', reason: 'INC-7', ttl: '2h' })).json().id as string;
    await approve('bob', id);
    expect((await approve('dave', id)).json()).toMatchObject({ status: 'approved', ttlSeconds: 7200 });
    clock.advance(2 * HOUR);
    expect(await sweepNow()).toEqual({ lapsed: [], rotated: [], failed: [], unconfigured: [id] });
    expect((await list('alice'))[0]).toMatchObject({ id, status: 'rotation-unconfigured', rotation: { state: 'unconfigured', error: 'KT_POLICY_NOT_FOUND', runId: null } });
    expect((await kt.store.versions('prod/db/manual')).length).toBe(1);
    const last = (await events(0)).at(-1)!;
    expect(last).toMatchObject({ action: 'breakglass.rotate', outcome: 'failure', errorCode: 'KT_POLICY_NOT_FOUND', runId: id, actor: 'system:server' });
    expect(await sweepNow()).toEqual({ lapsed: [], rotated: [], failed: [], unconfigured: [] });
  });

  it('two approvals at once open the window; two sweeps at once rotate it once', async () => {
    const id = (await ask('alice', { path: 'prod/db/root', reason: 'INC-9' })).json().id as string;
    // Two approvals at once: neither misses the other (the row is locked), so the window opens.
    await Promise.all([approve('bob', id), approve('carol', id)]);
    expect((await list('alice'))[0]).toMatchObject({ id, status: 'approved' });
    clock.advance(HOUR);
    const reports = await Promise.all([sweepNow(), sweepNow(), sweepNow()]);
    expect(reports.flatMap((r) => r.rotated)).toEqual([id]);
    expect((await kt.store.versions('prod/db/root')).length).toBe(2);
    expect((await events(0)).filter((e) => e.action === 'breakglass.rotate').length).toBe(1);
  });

  it('refuses bad requests and writes nothing', async () => {
    const cases: Array<[string, object, number, string]> = [
      ['alice', { path: 'prod/db/app', reason: 'x' }, 400, 'KT_BREAKGLASS_NOT_NEEDED'],
      ['bob', { path: 'prod/db/root', reason: 'x' }, 403, 'KT_ACCESS_DENIED'],
      ['alice', { path: 'prod/db/root', reason: 'x', ttl: '2h' }, 400, 'KT_USAGE'],
      ['alice', { path: 'prod/db/manual', reason: 'x', ttl: '3h' }, 400, 'KT_USAGE'],
      ['alice', { path: 'prod/db/root', reason: 'x', ttl: 'soon' }, 400, 'KT_USAGE'],
      ['alice', { path: 'prod/db/root', reason: ' ' }, 400, 'KT_USAGE'],
      ['alice', { path: 'prod/db/root', reason: 'a\nb' }, 400, 'KT_USAGE'],
      ['alice', { path: 'prod/db/root' }, 400, 'KT_USAGE'],
      ['alice', { path: '/prod', reason: 'x' }, 400, 'KT_PATH_LEADING_SLASH'],
    ];
    const before = (await kt.audit.head()).size;
    for (const [who, body, status, code] of cases) {
      const r = await ask(who, body);
      expect([JSON.stringify(body), r.statusCode, codeOf(r)]).toEqual([JSON.stringify(body), status, code]);
    }
    expect(codeOf(await app.inject({ method: 'POST', url: '/v1/breakglass', payload: { path: 'prod/db/root', reason: 'x' } }))).toBe('KT_TOKEN_INVALID');
    for (const id of ['bg_0000000000000000', 'nope']) {
      const r = await approve('bob', id);
      expect([r.statusCode, codeOf(r)]).toEqual([404, 'KT_BREAKGLASS_NOT_FOUND']);
    }
    expect(await requestRows()).toBe(0);
    // Only the refusals are recorded (for the anomaly detectors): bob's 403 and the request without a token.
    const written: Array<[string, string, string | null]> = [];
    await kt.audit.pages(before, (rows) => {
      for (const row of rows) {
        const e = JSON.parse(row.leaf) as { action: string; outcome: string; errorCode: string | null };
        written.push([e.action, e.outcome, e.errorCode]);
      }
    });
    expect(written).toEqual([
      ['access.denied', 'denied', 'KT_ACCESS_DENIED'],
      ['access.authenticate', 'failure', 'KT_TOKEN_INVALID'],
    ]);
  });

  it('lets an approver deny and the requester withdraw; a request left pending a day lapses', async () => {
    const a = (await ask('alice', { path: 'prod/db/root', reason: 'one' })).json().id as string;
    const b = (await ask('alice', { path: 'prod/db/root', reason: 'two' })).json().id as string;
    const c = (await ask('alice', { path: 'prod/db/root', reason: 'three' })).json().id as string;
    expect(codeOf(await app.inject({ method: 'POST', url: `/v1/breakglass/${a}/deny`, headers: auth('outsider') }))).toBe('KT_ACCESS_DENIED');
    expect((await app.inject({ method: 'POST', url: `/v1/breakglass/${a}/deny`, headers: auth('bob') })).json()).toMatchObject({ status: 'denied' });
    expect((await app.inject({ method: 'POST', url: `/v1/breakglass/${b}/deny`, headers: auth('alice') })).json()).toMatchObject({ status: 'denied' });
    expect(codeOf(await approve('bob', a))).toBe('KT_BREAKGLASS_NOT_PENDING');
    await approve('bob', c);
    clock.advance(24 * HOUR);
    expect(codeOf(await approve('carol', c))).toBe('KT_BREAKGLASS_NOT_PENDING');
    expect(await sweepNow()).toEqual({ lapsed: [c], rotated: [], failed: [], unconfigured: [] });
    expect(Object.fromEntries((await list('alice')).map((r) => [r.id, r.status]))).toEqual({ [a]: 'denied', [b]: 'denied', [c]: 'lapsed' });
    expect(codeOf(await read('alice'))).toBe('KT_BREAKGLASS_REQUIRED');
    const actions = (await events(0)).filter((e) => e.action!.startsWith('breakglass.')).map((e) => e.action);
    expect(actions).toEqual(['breakglass.request', 'breakglass.request', 'breakglass.request', 'breakglass.deny', 'breakglass.withdraw', 'breakglass.approve', 'breakglass.lapse']);
  });

  it("lists the caller's own requests and those on paths it may approve or audit", async () => {
    const id = (await ask('alice', { path: 'prod/db/root', reason: 'x' })).json().id as string;
    expect((await list('alice')).map((r) => r.id)).toEqual([id]);
    expect((await list('bob')).map((r) => r.id)).toEqual([id]);
    expect(await list('outsider')).toEqual([]);
    expect(JSON.stringify(await list('admin'))).not.toMatch(/tok_/);
  });
});

describe('keyturn breakglass', () => {
  useHome('sqlite');

  it('refuses to work locally: approvals need the server', async () => {
    for (const argv of [
      ['breakglass', 'ls'],
      ['breakglass', 'request', 'prod/db/root', '--reason', 'x'],
      ['breakglass', 'approve', 'bg_0000000000000000'],
    ]) {
      const r = await runCli([...argv, '--json'], { env: { KEYTURN_HOME: tmp.dir, KEYTURN_TOKEN: tok.alice } });
      expect([argv.join(' '), r.code, JSON.parse(r.stderr).error.code]).toEqual([argv.join(' '), 2, 'KT_BREAKGLASS_SERVER_REQUIRED']);
    }
    expect(await requestRows()).toBe(0);
  });

  it('requests, approves and lists through the server, with its KT_ codes', async () => {
    const addr = await app.listen({ host: '127.0.0.1', port: 0 });
    const as = (who: string, argv: string[]) => runCli([...argv, '--json'], { env: { KEYTURN_HOME: tmp.dir, KEYTURN_ADDR: addr, KEYTURN_TOKEN: tok[who] } });
    const made = await as('alice', ['breakglass', 'request', 'prod/db/root', '--reason', 'INC-42', '--ttl', '30m']);
    expect(made.code, made.stderr).toBe(0);
    const { id, ttlSeconds } = JSON.parse(made.stdout) as { id: string; ttlSeconds: number };
    expect(ttlSeconds).toBe(1800);
    const self = await as('alice2', ['breakglass', 'approve', id]);
    expect([self.code, JSON.parse(self.stderr).error.code]).toEqual([1, 'KT_BREAKGLASS_SELF_APPROVAL']);
    expect((await as('bob', ['breakglass', 'approve', id])).code).toBe(0);
    const second = await as('carol', ['breakglass', 'approve', id]);
    expect(JSON.parse(second.stdout)).toMatchObject({ id, status: 'approved' });
    const missing = await as('bob', ['breakglass', 'approve', 'bg_0000000000000000']);
    expect([missing.code, JSON.parse(missing.stderr).error.code]).toEqual([3, 'KT_BREAKGLASS_NOT_FOUND']);
    const ls = await runCli(['breakglass', 'ls'], { env: { KEYTURN_HOME: tmp.dir, KEYTURN_ADDR: addr, KEYTURN_TOKEN: tok.bob } });
    expect(ls.stdout).toMatch(new RegExp(`${id}\\s+prod/db/root\\s+alice\\s+approved\\s+bob,carol`));
    const down = await runCli(['breakglass', 'ls', '--json'], { env: { KEYTURN_ADDR: 'http://127.0.0.1:1', KEYTURN_TOKEN: tok.bob } });
    expect([down.code, JSON.parse(down.stderr).error.code]).toEqual([1, 'KT_SERVER_UNREACHABLE']);
  });
});

async function sweepNow() {
  const { sweepBreakGlass } = await import('../src/access/breakglass/sweep.js');
  const { breakGlassSweepDeps } = await import('../src/server/app.js');
  return sweepBreakGlass(breakGlassSweepDeps(kt), clock.now());
}
