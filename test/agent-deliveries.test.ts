/**
 * Delivery reports (issue #11) against a real `keyturn server` listening on 127.0.0.1 and real
 * agents (runAgent in this process): a rotation whose policy says `waitForAgents: all` stays at
 * propagate while one of two subscribed agents is stopped, shows that agent as missing in
 * `runs show` (text and --json, through the server) and in `keyturn_agent_deliveries_missing`,
 * and is done once the agent is back and has reported the new version; a `waitForAgents: 2` with
 * a short timeout and an agent that never reports ends the run done with its propagate step failed
 * (KT_AGENTS_NOT_DELIVERED) naming the agent. `POST /v1/deliveries` needs `read` on each path
 * (403 otherwise, nothing recorded), is audited when a version changes, `GET` shows only what the
 * token may read or list; the table behaves alike on SQLite and PostgreSQL, staleness included.
 */
import { join } from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAgentConfig } from '../src/agent/config.js';
import { manualClock } from '../src/core/clock.js';
import { DeliveriesRepo } from '../src/deliveries/repo.js';
import { apiHome, type ApiHome } from './helpers/api-home.js';
import { startAgent, type RunningAgent } from './helpers/agent.js';
import { runCli } from './helpers/cli.js';
import { engineWith } from './helpers/engines.js';
import { applyYaml, openTestHome, postgresState, sqliteState, tempDir } from './helpers/state.js';

const WAIT = { timeout: 20_000, interval: 20 };
const READER = 'rules:\n  - path: app/**\n    capabilities: [read]\n';
const OTHER = 'rules:\n  - path: other/**\n    capabilities: [read, list]\n';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Who = 'admin' | 'agent' | 'narrow';

interface Served {
  h: ApiHome<Who>;
  base: string;
  /** A folder for the agents' files and the agent token. */
  work: string;
  json(method: 'GET' | 'POST', url: string, who: Who, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** A home with `config` applied, an admin, an agent token (app/** read) and a narrow one, served on 127.0.0.1. */
async function served(config: string): Promise<Served> {
  const h = await apiHome<Who>({ config, policies: { 'app-read': READER, 'other-read': OTHER }, tokens: { admin: ['admin'], agent: ['app-read'], narrow: ['other-read'] } });
  cleanups.push(() => h.close());
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(h.app.server.address() as { port: number }).port}`;
  const work = tempDir('keyturn-deliveries-');
  cleanups.push(() => work.remove());
  writeFileSync(join(work.dir, 'agent.token'), `${h.tokens.agent}\n`, { mode: 0o600 });
  return {
    h,
    base,
    work: work.dir,
    json: async (method, url, who, body) => {
      const r = await fetch(`${base}${url}`, {
        method,
        headers: { authorization: `Bearer ${h.tokens[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    },
  };
}

/** An agent named `name` rendering each of `paths` to `<work>/<name>/<path>`. */
async function agent(s: Served, name: string, paths: string[], seed: number): Promise<RunningAgent> {
  const templates = paths.map((p) => `  - secret: ${p}\n    destination: ./${name}/${p}\n    template: "{{value}}"\n`).join('');
  return startAgent(cleanups, { dir: s.work }, `name: ${name}\nservers: ["${s.base}"]\ntokenFile: ./agent.token\ntemplates:\n${templates}`, seed);
}

interface Delivery {
  agent: string;
  path: string;
  versionId: string;
  version: number;
  current: boolean | null;
  subscribed: boolean;
}

async function deliveries(s: Served, who: Who = 'admin', prefix = ''): Promise<Delivery[]> {
  const r = await s.json('GET', `/v1/deliveries${prefix ? `?prefix=${prefix}` : ''}`, who);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.deliveries as Delivery[];
}

/** The value of `name{path="..."}` in the server's /metrics (undefined when it has no such series). */
async function metric(s: Served, name: string, path: string): Promise<number | undefined> {
  const text = await (await fetch(`${s.base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{path="${path}"} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/** `keyturn runs show ID` through the server, as the admin. */
async function runsShow(s: Served, id: string, json: boolean): Promise<string> {
  const r = await runCli(['runs', 'show', id, ...(json ? ['--json'] : [])], {
    env: { KEYTURN_HOME: join(s.work, 'no-home'), KEYTURN_ADDR: s.base, KEYTURN_TOKEN: s.h.tokens.admin, KEYTURN_LOG_LEVEL: 'silent' },
  });
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

interface RunJson {
  id: string;
  status: string;
  step: string;
  pendingVersionId: string;
  steps: Array<{ step: string; outcome: string; errorCode: string | null; detail: string | null }>;
  agents: { versionId: string; have: Array<{ agent: string; version: number; reportedAt: string }>; missing: Array<{ agent: string; version: number; reportedAt: string }> } | null;
}

async function latestRun(s: Served, path: string): Promise<RunJson | undefined> {
  const list = await s.json('GET', `/v1/runs?path=${path}&limit=1`, 'admin');
  const id = (list.body.runs as Array<{ id: string }>)[0]?.id;
  if (id === undefined) return undefined;
  return (await s.json('GET', `/v1/runs/${id}`, 'admin')).body as unknown as RunJson;
}

describe('waitForAgents', () => {
  it('all: the run stays at propagate while a subscribed agent is stopped, which runs show and the metric name as missing; done once it reports (seeds 31, 32, 33)', async () => {
    const s = await served('version: 1\nsecrets:\n  app/db:\n    type: app-secret\n    waitForAgents: all\n    waitForAgentsTimeout: 10m\n');
    await agent(s, 'host-a', ['app/db'], 31);
    const b = await agent(s, 'host-b', ['app/db'], 32);
    await vi.waitFor(
      async () =>
        expect((await deliveries(s)).map((d) => [d.agent, d.current, d.subscribed])).toEqual([
          ['host-a', true, true],
          ['host-b', true, true],
        ]),
      WAIT,
    );
    await b.stop();

    let settled = false;
    const rotation = fetch(`${s.base}/v1/rotations/app/db`, { method: 'POST', headers: { authorization: `Bearer ${s.h.tokens.admin}`, 'content-type': 'application/json' }, body: '{}' }).then(
      async (r) => {
        settled = true;
        return { status: r.status, body: (await r.json()) as { id: string; status: string } };
      },
    );
    // host-a gets the new version; host-b, stopped, cannot: the run waits at propagate.
    let run: RunJson | undefined;
    await vi.waitFor(async () => {
      run = await latestRun(s, 'app/db');
      expect(run?.agents?.have.map((a) => a.agent)).toEqual(['host-a']);
    }, WAIT);
    expect(run).toMatchObject({ status: 'running', step: 'propagate' });
    expect(run!.agents!.versionId).toBe(run!.pendingVersionId);
    expect(run!.agents!.missing.map((a) => [a.agent, a.version])).toEqual([['host-b', 1]]);
    expect(settled).toBe(false);

    const text = await runsShow(s, run!.id, false);
    expect(text).toMatch(/Agents \(1 of 2 subscribed have the new version\):/);
    expect(text).toMatch(/host-a\s+has it\s+2\s/);
    expect(text).toMatch(/host-b\s+missing\s+1\s+\d{4}-\d\d-\d\dT/);
    const shown = JSON.parse(await runsShow(s, run!.id, true)) as RunJson;
    expect(shown.agents!.missing.map((a) => a.agent)).toEqual(['host-b']);
    expect(shown.agents!.have.map((a) => a.agent)).toEqual(['host-a']);
    expect(await metric(s, 'keyturn_agent_deliveries_missing', 'app/db')).toBe(1);
    expect(settled).toBe(false);

    // host-b back: it renders the new version, reports it, and the rotation is done.
    await agent(s, 'host-b', ['app/db'], 33);
    const done = await rotation;
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ id: run!.id, status: 'done' });
    expect(readFileSync(join(s.work, 'host-b/app/db'), 'utf8')).toBe(readFileSync(join(s.work, 'host-a/app/db'), 'utf8'));
    const finished = (await latestRun(s, 'app/db'))!;
    const propagate = finished.steps.filter((x) => x.step === 'propagate');
    expect(propagate).toHaveLength(1);
    expect(propagate[0]).toMatchObject({ outcome: 'ok', errorCode: null, detail: '2 of 2 subscribed agents have version 2 (waitForAgents: all)' });
    expect(finished.agents!.missing).toEqual([]);
    expect(finished.agents!.have.map((a) => a.agent)).toEqual(['host-a', 'host-b']);
  });

  it('N with an agent that never reports: the run is done, its propagate step failed naming the agent, shown missing in runs show and the metric (seeds 41, 42)', async () => {
    const s = await served('version: 1\nsecrets:\n  app/key:\n    type: app-secret\n    waitForAgents: 2\n    waitForAgentsTimeout: 1s\n');
    await agent(s, 'host-a', ['app/key'], 41);
    const b = await agent(s, 'host-b', ['app/key'], 42);
    await vi.waitFor(async () => expect((await deliveries(s)).filter((d) => d.current)).toHaveLength(2), WAIT);
    await b.stop();

    const r = await s.json('POST', '/v1/rotations/app/key', 'admin', {});
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'done', error: null });
    const run = (await latestRun(s, 'app/key'))!;
    const propagate = run.steps.find((x) => x.step === 'propagate')!;
    expect(propagate).toMatchObject({ outcome: 'failed', errorCode: 'KT_AGENTS_NOT_DELIVERED' });
    expect(propagate.detail).toMatch(/^1 of 2 subscribed agents have version 2 \(waitForAgents: 2\); not reached within 1s: missing: host-b \(version 1, last report \d{4}-/);

    const text = await runsShow(s, run.id, false);
    expect(text).toContain('KT_AGENTS_NOT_DELIVERED');
    expect(text).toMatch(/host-b\s+missing\s+1\s/);
    const shown = JSON.parse(await runsShow(s, run.id, true)) as RunJson;
    expect(shown).toMatchObject({ status: 'done' });
    expect(shown.agents!.missing.map((a) => [a.agent, a.version])).toEqual([['host-b', 1]]);
    expect(await metric(s, 'keyturn_agent_deliveries_missing', 'app/key')).toBe(1);
  });
});

describe('the agent reports', () => {
  it('--once reports before it exits; a running agent reports again on its refresh without a new audit event (seed 51)', async () => {
    const s = await served('version: 1\nsecrets:\n  app/db:\n    type: app-secret\n');
    const file = join(s.work, 'once.yaml');
    writeFileSync(file, `name: init-1\nservers: ["${s.base}"]\ntokenFile: ./agent.token\ntemplates:\n  - secret: app/db\n    destination: ./init/db\n`);
    const once = await runCli(['agent', '-c', file, '--once'], { env: { KEYTURN_LOG_LEVEL: 'silent' } });
    expect(once.code, once.stderr).toBe(0);
    expect((await deliveries(s)).map((d) => [d.agent, d.path, d.version, d.current])).toEqual([['init-1', 'app/db', 1, true]]);

    await startAgent(cleanups, { dir: s.work }, `name: web-1\nservers: ["${s.base}"]\ntokenFile: ./agent.token\ntemplates:\n  - secret: app/db\n    destination: ./web/db\n`, 51, {
      reportRefreshMs: 50,
    });
    const reportedAt = async () => (await s.json('GET', '/v1/deliveries', 'admin')).body.deliveries as Array<{ agent: string; reportedAt: string; changedAt: string }>;
    let first: { reportedAt: string; changedAt: string } | undefined;
    await vi.waitFor(async () => {
      first = (await reportedAt()).find((d) => d.agent === 'web-1');
      expect(first).toBeDefined();
    }, WAIT);
    // Nothing changes, yet the report comes again (the agent stays subscribed); the version it holds did not change.
    await vi.waitFor(async () => expect((await reportedAt()).find((d) => d.agent === 'web-1')!.reportedAt > first!.reportedAt).toBe(true), WAIT);
    expect((await reportedAt()).find((d) => d.agent === 'web-1')!.changedAt).toBe(first!.changedAt);
    const audit = await s.json('GET', '/v1/audit/events?action=agent.delivery', 'admin');
    expect((audit.body.events as Array<{ source: string }>).map((e) => e.source).sort()).toEqual(['agent:init-1', 'agent:web-1']);
  });
});

describe('the propagate step waiting for agents (the engine, a manual clock)', () => {
  it('a stop asked for while it waits leaves the run retrying at propagate; resumed, it goes on waiting until the agent reports; the deadline counts from finish', async () => {
    const clock = manualClock(Date.parse('2026-05-01T00:00:00Z'));
    const home = await openTestHome({ clock });
    cleanups.push(() => home.close());
    const { kt } = home;
    await applyYaml(kt, 'version: 1\nsecrets:\n  app/db:\n    type: app-secret\n    waitForAgents: all\n    waitForAgentsTimeout: 5m\n');
    const repo = new DeliveriesRepo(kt.state, clock);
    const holds = async (versionId: string) => {
      const v = (await kt.store.get('app/db', { versionId }))!;
      await repo.report('x', { tokenId: 'tok', subject: 'agents' }, [{ path: 'app/db', versionId: v.id, version: v.number }]);
    };
    await holds((await kt.store.get('app/db'))!.id);
    // Stopped just before propagate: its wait reads once, sees the stop, and the run stays at propagate.
    const stopping = engineWith(kt, (step, when) => {
      if (step === 'propagate' && when === 'before') stopping.requestStop();
    });
    const stopped = await stopping.rotate('app/db');
    expect(stopped).toMatchObject({ status: 'retrying', step: 'propagate', errorCode: 'KT_RUN_INTERRUPTED' });
    expect((await kt.store.get('app/db'))!.id).toBe(stopped.pendingVersionId);

    // Resumed (the clock does not move, so only the report can end the wait): done once x holds the new version.
    const resumed = (await kt.engine()).resume(stopped.id);
    await holds(stopped.pendingVersionId!);
    expect(await resumed).toMatchObject({ id: stopped.id, status: 'done', errorCode: null });
    const steps = await (await kt.engine()).runs.steps(stopped.id);
    expect(steps.filter((x) => x.step === 'propagate').map((x) => [x.outcome, x.detail])).toEqual([['ok', '1 of 1 subscribed agents have version 2 (waitForAgents: all)']]);

    // Stopped again at propagate, then resumed 5 min after its finish with no report: one read, and the step fails at once
    // (the clock stands still: a deadline counted from the resume would never come).
    const second = engineWith(kt, (step, when) => {
      if (step === 'propagate' && when === 'before') second.requestStop();
    });
    const waiting = await second.rotate('app/db');
    expect(waiting).toMatchObject({ status: 'retrying', step: 'propagate', errorCode: 'KT_RUN_INTERRUPTED' });
    clock.advance(5 * 60_000);
    expect(await (await kt.engine()).resume(waiting.id)).toMatchObject({ id: waiting.id, status: 'done', errorCode: null });
    const late = (await (await kt.engine()).runs.steps(waiting.id)).filter((x) => x.step === 'propagate');
    expect(late.map((x) => [x.outcome, x.error_code])).toEqual([['failed', 'KT_AGENTS_NOT_DELIVERED']]);
    expect(late[0]!.detail).toMatch(/^0 of 1 subscribed agents have version 3 \(waitForAgents: all\); not reached within 5m: missing: x \(version 2, last report 2026-05-01T00:00:00\.000Z\)$/);
  });
});

describe('POST /v1/deliveries and GET /v1/deliveries', () => {
  it('need read on each path (403, nothing recorded); a changed version is audited once; GET shows only what the token may read or list', async () => {
    const clock = manualClock(Date.parse('2026-05-01T00:00:00Z'));
    const h = await apiHome<Who>({
      clock,
      policies: { 'app-read': READER, 'other-read': OTHER },
      tokens: { admin: ['admin'], agent: ['app-read'], narrow: ['other-read'] },
      secrets: [['app/db', 'v1']],
    });
    cleanups.push(() => h.close());
    const current = (await h.kt.store.get('app/db', { stage: 'current' }))!;
    const report = (who: Who, body: unknown) => h.call('POST', '/v1/deliveries', who, body as object);
    const one = { agent: 'web-1', deliveries: [{ path: 'app/db', versionId: current.id, version: current.number, destination: '/srv/app/db.env' }] };

    const denied = await report('narrow', one);
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ error: { code: 'KT_ACCESS_DENIED', details: { capability: 'read', path: 'app/db' } } });
    // One path refused refuses the whole report.
    const mixed = await report('agent', { agent: 'web-1', deliveries: [one.deliveries[0], { path: 'other/x', versionId: 'v', version: 1 }] });
    expect(mixed.statusCode).toBe(403);
    expect((await h.call('GET', '/v1/deliveries', 'admin')).json()).toEqual({ deliveries: [] });

    for (const [body, where] of [
      [{ ...one, agent: 'web 1' }, 'agent'],
      [{ ...one, deliveries: [one.deliveries[0], one.deliveries[0]] }, 'deliveries.1.path'],
      [{ ...one, deliveries: [{ ...one.deliveries[0], version: 0 }] }, 'deliveries.0.version'],
      [{ ...one, extra: true }, 'extra'],
    ] as const) {
      const bad = await report('agent', body);
      expect(bad.statusCode, JSON.stringify(body)).toBe(400);
      expect(bad.json().error.code).toBe('KT_USAGE');
      expect(bad.json().error.message).toContain(where);
    }

    expect((await report('agent', one)).json()).toEqual({ agent: 'web-1', recorded: 1, changed: 1 });
    clock.advance(60_000);
    expect((await report('agent', one)).json()).toEqual({ agent: 'web-1', recorded: 1, changed: 0 });
    const audit = (await h.call('GET', '/v1/audit/events?action=agent.delivery', 'admin')).json() as { events: Array<Record<string, unknown>> };
    expect(audit.events).toHaveLength(1);
    expect(audit.events[0]).toMatchObject({ action: 'agent.delivery', source: 'agent:web-1', actor: `token:${h.ids.agent}`, path: 'app/db', versionId: current.id, outcome: 'success' });

    const seen = (await h.call('GET', '/v1/deliveries?prefix=app', 'agent')).json() as { deliveries: Array<Record<string, unknown>> };
    expect(seen.deliveries).toEqual([
      {
        agent: 'web-1',
        path: 'app/db',
        versionId: current.id,
        version: current.number,
        destination: '/srv/app/db.env',
        tokenId: h.ids.agent,
        subject: expect.any(String),
        reportedAt: '2026-05-01T00:01:00.000Z',
        changedAt: '2026-05-01T00:00:00.000Z',
        subscribed: true,
        current: true,
      },
    ]);
    expect((await h.call('GET', '/v1/deliveries', 'narrow')).json()).toEqual({ deliveries: [] });

    // A new version: the agent's report is no longer current; past the staleness window it is no longer subscribed.
    await h.kt.store.put('app/db', 'v2');
    clock.advance(24 * 3_600_000 + 1);
    expect((await h.call('GET', '/v1/deliveries', 'admin')).json()).toMatchObject({ deliveries: [{ agent: 'web-1', current: false, subscribed: false }] });
  });
});

describe('the agent_deliveries table', () => {
  for (const [dialect, open] of [
    ['SQLite', sqliteState],
    ['PostgreSQL', postgresState],
  ] as const) {
    it(`${dialect}: one row per agent and path, replaced by each report; subscribed only within the window`, async () => {
      const clock = manualClock(Date.parse('2026-05-01T00:00:00Z'));
      const t = await open(clock);
      cleanups.push(() => t.close());
      const repo = new DeliveriesRepo(t.state, clock);
      const who = { tokenId: 'tok_1', subject: 'agents' };
      expect(
        await repo.report('a', who, [
          { path: 'app/db', versionId: 'v1', version: 1 },
          { path: 'app/db2', versionId: 'w1', version: 1 },
        ]),
      ).toEqual({ changed: 2 });
      clock.advance(1000);
      expect(await repo.report('b', who, [{ path: 'app/db', versionId: 'v1', version: 1, destination: '/x' }])).toEqual({ changed: 1 });
      clock.advance(1000);
      expect(await repo.report('a', who, [{ path: 'app/db', versionId: 'v2', version: 2 }])).toEqual({ changed: 1 });
      expect(await repo.report('a', who, [{ path: 'app/db', versionId: 'v2', version: 2 }])).toEqual({ changed: 0 });
      const T0 = Date.parse('2026-05-01T00:00:00Z');
      expect((await repo.list('app/db')).map((d) => [d.agent, d.path, d.versionId, d.version, d.destination, d.reportedAt - T0, d.changedAt - T0])).toEqual([
        ['a', 'app/db', 'v2', 2, null, 2000, 2000],
        ['b', 'app/db', 'v1', 1, '/x', 1000, 1000],
      ]);
      expect((await repo.list('')).map((d) => d.path)).toEqual(['app/db', 'app/db', 'app/db2']);
      expect((await repo.list('app')).length).toBe(3);
      expect((await repo.list('ap')).length).toBe(0);
      clock.advance(10_000);
      // Within 11 s: both; within 10.5 s: only a (reported at +2 s).
      expect((await repo.subscribed('app/db', 11_000)).map((d) => d.agent)).toEqual(['a', 'b']);
      expect((await repo.subscribed('app/db', 10_500)).map((d) => d.agent)).toEqual(['a']);
      expect((await repo.subscribedAll(10_500)).map((d) => d.agent)).toEqual(['a']);
      // Reports of one turn share a transaction, the same agent and path twice among them too: each counted in order, the last one kept.
      const together = await Promise.all([
        repo.report('c', who, [{ path: 'app/db', versionId: 'v1', version: 1 }]),
        repo.report('c', who, [{ path: 'app/db', versionId: 'v2', version: 2 }]),
        repo.report('c', who, [{ path: 'app/db', versionId: 'v2', version: 2 }]),
        repo.report('d', who, [{ path: 'app/db', versionId: 'v2', version: 2 }]),
      ]);
      expect(together).toEqual([{ changed: 1 }, { changed: 1 }, { changed: 0 }, { changed: 1 }]);
      expect((await repo.list('app/db')).map((d) => [d.agent, d.versionId])).toEqual([
        ['a', 'v2'],
        ['b', 'v1'],
        ['c', 'v2'],
        ['d', 'v2'],
      ]);
    });
  }
});

describe('agent.yaml name', () => {
  it('defaults to the host name; one that is not an agent name is KT_AGENT_CONFIG_INVALID naming name', () => {
    const yaml = 'servers: ["http://127.0.0.1:1"]\ntokenFile: ./t\ntemplates:\n  - secret: app/db\n    destination: ./out\n';
    expect(parseAgentConfig(`name: web-1.example\n${yaml}`, '/tmp').name).toBe('web-1.example');
    expect(parseAgentConfig(yaml, '/tmp').name).toMatch(/^[A-Za-z0-9]/);
    for (const bad of ['"web 1"', '"-x"', 'x'.repeat(129), '"a\\u0001"', '7']) {
      expect(() => parseAgentConfig(`name: ${bad}\n${yaml}`, '/tmp')).toThrow(/name: must be 1 to 128 of/);
    }
  });

  it('waitForAgentsTimeout without waitForAgents, or a bad value, is refused by apply naming the key', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
    for (const [policy, where] of [
      ['waitForAgentsTimeout: 2m', 'secrets.app/db.waitForAgentsTimeout'],
      ['waitForAgents: some', 'secrets.app/db.waitForAgents'],
      ['waitForAgents: all\n    waitForAgentsTimeout: 2h', 'secrets.app/db.waitForAgentsTimeout'],
    ]) {
      const file = join(tmp.dir, 'keyturn.yaml');
      writeFileSync(file, `version: 1\nsecrets:\n  app/db:\n    type: app-secret\n    ${policy}\n`);
      const r = await runCli(['apply', '-f', file, '--dry-run'], { env });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(where);
    }
  });
});
