/**
 * `GET /metrics` over a real home (SQLite, the embedded store, a JSON Lines audit sink, a manual
 * clock): rotations move the counters and the duration histogram (an app secret that succeeds, a
 * PostgreSQL credential whose target does not answer and fails), the state gauges read the secrets'
 * ages, failing runs and the sink's lag at scrape time (cached on the clock), HTTP durations are
 * labelled by route pattern, no value or token appears, the access modes (open, loopback, token,
 * off) hold, and every metric named in deploy/prometheus/keyturn.rules.yml and
 * deploy/grafana/keyturn.json is one the server exports.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { AccessRepo } from '../src/access/access-repo.js';
import { METRICS_ACCESS as CLI_METRICS_ACCESS } from '../src/cli/commands/server.js';
import { DAY_MS, manualClock, type ManualClock } from '../src/core/clock.js';
import { loadSettings } from '../src/config/settings.js';
import { initHome, openKeyturn, type Keyturn } from '../src/runtime/keyturn.js';
import { buildServer, type ServerOptions } from '../src/server/app.js';
import { METRICS_ACCESS } from '../src/server/routes/metrics.js';
import { runCli } from './helpers/cli.js';
import { applyYaml, tempDir } from './helpers/state.js';

const RULES = new URL('../deploy/prometheus/keyturn.rules.yml', import.meta.url);
const DASHBOARD = new URL('../deploy/grafana/keyturn.json', import.meta.url);

const T0 = Date.parse('2026-03-01T00:00:00Z');
const INITIAL_PASSWORD = 'initial-pw-Zq8vX2rT';

let tmp: ReturnType<typeof tempDir>;
let clock: ManualClock;
let kt: Keyturn;
let admin: string;
const apps: FastifyInstance[] = [];

beforeEach(async () => {
  tmp = tempDir();
  clock = manualClock(T0);
  const settings = loadSettings({ KEYTURN_HOME: tmp.dir, KEYTURN_LOG_LEVEL: 'silent', KEYTURN_AUDIT_JSONL: 'audit.jsonl' });
  await initHome(settings);
  kt = await openKeyturn(settings, { clock });
  admin = (await new AccessRepo(kt.state, kt.clock).createToken({ policies: ['admin'] })).token;
  // Port 1 on loopback: nothing listens, so every connection is refused at once.
  await applyYaml(
    kt,
    `version: 1
targets:
  down-pg:
    type: postgres
    host: 127.0.0.1
    port: 1
    database: app
secrets:
  app/session:
    type: app-secret
    password: { length: 40 }
  prod/db/app:
    type: database-credential
    target: down-pg
    rotation: { attempts: 1, timeoutMs: 2000 }
    initial: { username: app_user, password: ${INITIAL_PASSWORD} }
`,
  );
});

afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  await kt.close();
  tmp.remove();
});

async function server(options: ServerOptions = {}): Promise<FastifyInstance> {
  const app = await buildServer(kt, options);
  apps.push(app);
  return app;
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format: samples, and each metric's declared type. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    if (line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    expect(m, `not a sample line: ${line}`).not.toBeNull();
    const labels: Record<string, string> = {};
    for (const l of (m![2] ?? '').matchAll(/([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m![1]!, labels, value: Number(m![3]) });
  }
  return { samples, types };
}

async function scrape(app: FastifyInstance): Promise<{ text: string; samples: Sample[]; types: Map<string, string> }> {
  const r = await app.inject({ url: '/metrics' });
  expect(r.statusCode, r.body).toBe(200);
  expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return { text: r.body, ...parseExposition(r.body) };
}

/** The value of the one sample of `name` whose labels include `labels` (undefined when none). */
function value(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

/** The keyturn_ metric names a PromQL expression uses (string literals, such as label values, left out). */
function metricNames(expr: string): string[] {
  const code = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""');
  return [...code.matchAll(/(?<![A-Za-z0-9_:])(keyturn_[A-Za-z0-9_:]*)(?=\s*[{[()\s,]|\s*$|\s*[<>=!+\-*/])/g)].map((m) => m[1]!);
}

/** Whether the exposition declares `name`, or the histogram it is a series of (`_bucket`, `_sum`, `_count`). */
function exported(types: ReadonlyMap<string, string>, name: string): boolean {
  if (types.has(name)) return true;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
  return base !== undefined && types.get(base) === 'histogram';
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

describe('/metrics', () => {
  it('counts rotations by target type and outcome, and reads ages and failing runs from the state database', async () => {
    const app = await server();
    const before = await scrape(app);
    for (const t of ['none', 'postgres', 'mysql', 'redis', 'ldap', 'active-directory', 'rabbitmq', 'kerberos', 'ssh', 'generic', 'http-api-key']) {
      expect(value(before.samples, 'keyturn_rotations_started_total', { target_type: t })).toBe(0);
      expect(value(before.samples, 'keyturn_rotations_failed_total', { target_type: t })).toBe(0);
    }
    expect(value(before.samples, 'keyturn_secrets')).toBe(2);
    expect(value(before.samples, 'keyturn_secrets_failing')).toBe(0);

    clock.advance(DAY_MS);
    const engine = await kt.engine();
    expect((await engine.rotate('app/session')).status).toBe('done');
    const failed = await engine.rotate('prod/db/app');
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'KT_TARGET_UNAVAILABLE' });
    clock.advance(2 * DAY_MS);

    const after = await scrape(app);
    const s = after.samples;
    expect(value(s, 'keyturn_rotations_started_total', { target_type: 'none' })).toBe(1);
    expect(value(s, 'keyturn_rotations_succeeded_total', { target_type: 'none' })).toBe(1);
    expect(value(s, 'keyturn_rotations_failed_total', { target_type: 'none' })).toBe(0);
    expect(value(s, 'keyturn_rotations_started_total', { target_type: 'postgres' })).toBe(1);
    expect(value(s, 'keyturn_rotations_succeeded_total', { target_type: 'postgres' })).toBe(0);
    expect(value(s, 'keyturn_rotations_failed_total', { target_type: 'postgres' })).toBe(1);
    expect(value(s, 'keyturn_rotation_duration_seconds_count', { target_type: 'none', outcome: 'succeeded' })).toBe(1);
    expect(value(s, 'keyturn_rotation_duration_seconds_count', { target_type: 'postgres', outcome: 'failed' })).toBe(1);
    expect(value(s, 'keyturn_rotation_duration_seconds_bucket', { target_type: 'postgres', outcome: 'failed', le: '+Inf' })).toBe(1);
    expect(value(s, 'keyturn_rotation_duration_seconds_sum', { target_type: 'none', outcome: 'succeeded' })).toBeGreaterThan(0);
    // Ages on the Keyturn's clock: app/session's current version was made a day in, prod/db/app's at the start.
    expect(value(s, 'keyturn_secret_age_seconds', { path: 'app/session' })).toBe(2 * 86_400);
    expect(value(s, 'keyturn_secret_age_seconds', { path: 'prod/db/app' })).toBe(3 * 86_400);
    expect(value(s, 'keyturn_secret_age_max_seconds')).toBe(3 * 86_400);
    expect(value(s, 'keyturn_secret_age_paths_omitted')).toBe(0);
    expect(value(s, 'keyturn_secrets_failing')).toBe(1);
    expect(value(s, 'keyturn_secrets_due')).toBe(0);
    expect(value(s, 'keyturn_state_up')).toBe(1);
  });

  it('labels HTTP durations by route pattern and status, never by the URL; no value or token appears', async () => {
    const mounted: string[] = [];
    const app = await server({ onRoute: (r) => mounted.push(r.url) });
    const auth = { authorization: `Bearer ${admin}` };
    expect((await app.inject({ url: '/v1/secrets/app/session', headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/secrets/app/session', headers: auth })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/secrets/prod/db/app' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'PUT', url: '/v1/secrets/app/other', headers: auth, payload: { value: 'put-value-Kp3nW9' } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/v1/no/such/route/app/session' })).statusCode).toBe(404);
    await (await kt.engine()).rotate('app/session');
    await (await kt.engine()).rotate('prod/db/app');
    clock.advance(60_000);

    const { text, samples } = await scrape(app);
    const http = samples.filter((x) => x.name === 'keyturn_http_request_duration_seconds_count');
    expect(value(http, 'keyturn_http_request_duration_seconds_count', { method: 'GET', route: '/v1/secrets/*', status: '200' })).toBe(2);
    expect(value(http, 'keyturn_http_request_duration_seconds_count', { method: 'GET', route: '/v1/secrets/*', status: '401' })).toBe(1);
    expect(value(http, 'keyturn_http_request_duration_seconds_count', { method: 'PUT', route: '/v1/secrets/*', status: '200' })).toBe(1);
    expect(value(http, 'keyturn_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    for (const x of http) expect([...mounted, 'unmatched']).toContain(x.labels.route);

    // Every value any version holds, the token, the initial password: none is in the output.
    const values: string[] = [admin, INITIAL_PASSWORD, 'put-value-Kp3nW9'];
    for (const path of ['app/session', 'prod/db/app']) {
      for (const stage of ['current', 'pending', 'previous'] as const) {
        const v = await kt.store.get(path, { stage });
        if (v) values.push(...(typeof v.value === 'string' ? [v.value] : Object.values(v.value).map(String)));
      }
    }
    expect(values.length).toBeGreaterThanOrEqual(6);
    for (const v of values) if (v.length >= 8) expect(text).not.toContain(v);
    // Paths appear only on the age gauge.
    const withPaths = new Set(samples.filter((x) => Object.values(x.labels).some((l) => l.includes('app/session') || l.includes('prod/db/app'))).map((x) => x.name));
    expect([...withPaths]).toEqual(['keyturn_secret_age_seconds']);
  });

  it('reads the state at most once per cache period, and limits the per-path age series', async () => {
    const app = await server({ metrics: { cacheMs: 5000, secretPaths: 1 } });
    clock.advance(DAY_MS);
    let s = (await scrape(app)).samples;
    expect(value(s, 'keyturn_secrets')).toBe(2);
    expect(s.filter((x) => x.name === 'keyturn_secret_age_seconds').map((x) => x.labels.path)).toEqual(['app/session']);
    expect(value(s, 'keyturn_secret_age_paths_omitted')).toBe(1);

    await kt.store.put('app/new', 'new-value-1');
    clock.advance(4999);
    expect(value((await scrape(app)).samples, 'keyturn_secrets')).toBe(2);
    clock.advance(1);
    s = (await scrape(app)).samples;
    expect(value(s, 'keyturn_secrets')).toBe(3);
    expect(value(s, 'keyturn_secret_age_paths_omitted')).toBe(2);

    const none = await server({ metrics: { secretPaths: 0 } });
    s = (await scrape(none)).samples;
    expect(s.filter((x) => x.name === 'keyturn_secret_age_seconds')).toEqual([]);
    expect(value(s, 'keyturn_secret_age_paths_omitted')).toBe(3);
  });

  it('reports how far the audit sink is behind, in events and seconds', async () => {
    await kt.deliverAudit();
    const app = await server({ metrics: { cacheMs: 0 } });
    const sink = { sink: `jsonl:${tmp.dir}/audit.jsonl` };
    let s = (await scrape(app)).samples;
    expect(value(s, 'keyturn_audit_sink_lag_events', sink)).toBe(0);
    expect(value(s, 'keyturn_audit_sink_lag_seconds', sink)).toBe(0);

    await kt.store.put('app/one', 'one-value-123');
    clock.advance(90_000);
    await kt.store.put('app/two', 'two-value-456');
    clock.advance(30_000);
    s = (await scrape(app)).samples;
    expect(value(s, 'keyturn_audit_sink_lag_events', sink)).toBe(2);
    expect(value(s, 'keyturn_audit_sink_lag_seconds', sink)).toBe(120);
    expect(value(s, 'keyturn_audit_sink_failures', sink)).toBe(0);
    expect(value(s, 'keyturn_audit_events')).toBe((await kt.audit.head()).size);

    await kt.deliverAudit();
    s = (await scrape(app)).samples;
    expect(value(s, 'keyturn_audit_sink_lag_events', sink)).toBe(0);
    expect(value(s, 'keyturn_audit_sink_lag_seconds', sink)).toBe(0);
  });

  it('still answers when the state database does not: keyturn_state_up 0, the state gauges NaN or without series', async () => {
    const app = await server({ metrics: { cacheMs: 0 } });
    expect(value((await scrape(app)).samples, 'keyturn_state_up')).toBe(1);
    await (await kt.engine()).rotate('app/session');
    await kt.state.close();
    const { samples } = await scrape(app);
    expect(value(samples, 'keyturn_state_up')).toBe(0);
    const state = samples.filter((x) => /^keyturn_(secret|secrets|audit|runs)_?/.test(x.name));
    expect(state.map((x) => x.name)).toContain('keyturn_secrets_failing');
    for (const x of state) expect([x.name, x.labels, x.value]).toEqual([x.name, {}, Number.NaN]);
    // What this process counted is still there.
    expect(value(samples, 'keyturn_rotations_succeeded_total', { target_type: 'none' })).toBe(1);
  });

  it('is open, loopback only, behind a token allowed audit on "metrics", or off', async () => {
    expect([...CLI_METRICS_ACCESS]).toEqual([...METRICS_ACCESS]);
    const open = await server();
    expect((await open.inject({ url: '/metrics', remoteAddress: '10.1.2.3' })).statusCode).toBe(200);

    const loopback = await server({ metrics: { access: 'loopback' } });
    const far = await loopback.inject({ url: '/metrics', remoteAddress: '10.1.2.3' });
    expect(far.statusCode).toBe(403);
    expect(far.json()).toMatchObject({ error: { code: 'KT_METRICS_LOOPBACK_ONLY' } });
    expect((await loopback.inject({ url: '/metrics', remoteAddress: '::ffff:127.0.0.1' })).statusCode).toBe(200);
    expect((await loopback.inject({ url: '/metrics', remoteAddress: '::1' })).statusCode).toBe(200);

    const access = new AccessRepo(kt.state, kt.clock);
    await access.putPolicy('prometheus', 'rules:\n  - path: metrics\n    capabilities: [audit]\n');
    await access.putPolicy('app-read', 'rules:\n  - path: app/*\n    capabilities: [read, list, audit]\n');
    const scraper = (await access.createToken({ policies: ['prometheus'] })).token;
    const reader = (await access.createToken({ policies: ['app-read'] })).token;
    const token = await server({ metrics: { access: 'token' } });
    expect((await token.inject({ url: '/metrics' })).json()).toMatchObject({ error: { code: 'KT_TOKEN_INVALID' } });
    expect((await token.inject({ url: '/metrics', headers: { authorization: `Bearer ${reader}` } })).json()).toMatchObject({ error: { code: 'KT_ACCESS_DENIED' } });
    const ok = await token.inject({ url: '/metrics', headers: { authorization: `Bearer ${scraper}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('keyturn_rotations_started_total');
    const doc = (await token.inject({ url: '/openapi.json' })).json() as { paths: Record<string, { get: { security?: unknown; responses: Record<string, { content: Record<string, unknown> }> } }> };
    expect(doc.paths['/metrics']!.get.security).toEqual([{ token: [] }]);
    expect(Object.keys(doc.paths['/metrics']!.get.responses['200']!.content)).toEqual(['text/plain; version=0.0.4']);

    const off = await server({ metrics: { access: 'off' } });
    expect((await off.inject({ url: '/metrics' })).json()).toMatchObject({ error: { code: 'KT_API_ROUTE_NOT_FOUND' } });
    expect(((await off.inject({ url: '/openapi.json' })).json() as { paths: Record<string, unknown> }).paths['/metrics']).toBeUndefined();
  });
});

describe('the run observer', () => {
  it('one that throws does not change the run; one that stopped observing hears nothing more', async () => {
    const heard: string[] = [];
    const stop = kt.observeRuns({ started: (e) => heard.push(`started ${e.path} ${e.targetType}`), ended: (e) => heard.push(`ended ${e.path} ${e.outcome}`) });
    kt.observeRuns({
      started: () => {
        throw new Error('observer broke');
      },
      ended: () => {
        throw new Error('observer broke');
      },
    });
    expect((await (await kt.engine()).rotate('app/session')).status).toBe('done');
    expect(heard).toEqual(['started app/session none', 'ended app/session succeeded']);
    stop();
    expect((await (await kt.engine()).rotate('app/session')).status).toBe('done');
    expect(heard).toHaveLength(2);
  });
});

describe('keyturn server --metrics', () => {
  it('refuses an unknown access mode or path limit as a usage error', async () => {
    for (const argv of [
      ['server', '--metrics', 'public'],
      ['server', '--metrics-secret-paths', '-1'],
      ['server', '--metrics-secret-paths', '100001'],
    ]) {
      const r = await runCli([...argv, '--home', tmp.dir, '--json']);
      expect([argv.join(' '), r.code]).toEqual([argv.join(' '), 2]);
      expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'KT_USAGE' } });
    }
  });
});

describe('the alert rules and the dashboard', () => {
  it('are well formed, and use only metric names that /metrics exports', async () => {
    const { types } = await scrape(await server());
    const rules = parseYaml(readFileSync(RULES, 'utf8')) as { groups: Array<{ name: string; rules: Array<Record<string, unknown>> }> };
    expect(Object.keys(rules)).toEqual(['groups']);
    const alerts: string[] = [];
    const exprs: Array<[string, string]> = [];
    for (const group of rules.groups) {
      expect(group.name).toMatch(/^\S+$/);
      for (const rule of group.rules) {
        expect(
          Object.keys(rule).every((k) => ['alert', 'expr', 'for', 'labels', 'annotations'].includes(k)),
          JSON.stringify(rule),
        ).toBe(true);
        expect(rule.alert).toMatch(/^[A-Z][A-Za-z0-9]+$/);
        expect(typeof rule.expr).toBe('string');
        if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smhd]$/);
        expect(['warning', 'critical']).toContain((rule.labels as { severity: string }).severity);
        expect((rule.annotations as { summary: unknown }).summary).toEqual(expect.any(String));
        alerts.push(rule.alert as string);
        exprs.push([`rule ${rule.alert as string}`, rule.expr as string]);
      }
    }
    // The four: rotation failure, secret expiring, audit sink lagging, anomaly.
    expect(alerts).toEqual(expect.arrayContaining(['KeyturnRotationFailed', 'KeyturnSecretExpiring', 'KeyturnAuditSinkLagging', 'KeyturnAnomaly']));
    expect(new Set(alerts).size).toBe(alerts.length);

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { uid: string; panels: Array<{ title: string; type: string; targets?: Array<{ expr: string }> }> };
    expect(dashboard.uid).toBe('keyturn');
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    for (const p of panels) {
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets!) exprs.push([`panel ${p.title}`, t.expr]);
    }
    const used = new Set<string>();
    for (const [where, expr] of exprs) {
      expect(balanced(expr), `${where}: ${expr}`).toBe(true);
      const names = metricNames(expr);
      expect(names.length, `${where} names no keyturn_ metric: ${expr}`).toBeGreaterThan(0);
      for (const name of names) {
        expect(exported(types, name), `${where} uses ${name}, which /metrics does not export`).toBe(true);
        used.add(name);
      }
    }
    // The dashboard's panels: rotations by outcome, duration, secrets due/overdue, sink lag, HTTP latency by route.
    for (const name of [
      'keyturn_rotations_succeeded_total',
      'keyturn_rotations_failed_total',
      'keyturn_rotation_duration_seconds_bucket',
      'keyturn_secrets_due',
      'keyturn_secrets_overdue',
      'keyturn_audit_sink_lag_events',
      'keyturn_http_request_duration_seconds_bucket',
      'keyturn_anomalies_total',
      'keyturn_secret_age_seconds',
    ])
      expect(used).toContain(name);
    // The extraction itself: a histogram series inside a function, a name before a label matcher, a string left out.
    expect(metricNames('histogram_quantile(0.9, sum by (le) (rate(keyturn_a_bucket{x="keyturn_not_this"}[5m]))) > keyturn_b and keyturn_c')).toEqual(['keyturn_a_bucket', 'keyturn_b', 'keyturn_c']);
  });
});
