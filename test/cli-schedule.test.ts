/**
 * `keyturn schedule show PATH` and `keyturn schedule presets`, locally and through `keyturn
 * server` (GET /v1/schedules/PATH): the effective schedule with where each value came from, the
 * last rotation (the current version, and the run that made it) and the next due time, as text
 * and JSON; the same JSON either way; the errors of a missing policy, a bad path and a token
 * without list on the path. Due times are checked against the last rotation the home reports,
 * never against the wall clock.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, SPAWN_MS, startServerProcess, type ServerProcess } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

const YAML = `version: 1
schedules:
  types:
    app-secret: { preset: app-secret }
  paths:
    prod/api: { preset: api-token, jitter: 10m }
    prod/night: { every: 1d, window: { days: [mon-fri], hours: "22:00-02:00", timezone: Europe/Paris } }
secrets:
  prod/api/token:
    type: app-secret
    schedule: { maxAge: 70d }
  prod/night/job:
    type: app-secret
  dev/plain:
    type: app-secret
    schedule: { manual: true }
  other/x:
    type: app-secret
`;

const DAY = 86_400_000;
const BASE = { KEYTURN_LOG_LEVEL: 'silent' };
let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let server: ServerProcess | undefined;
let remote: Record<string, string>;
let narrow: Record<string, string>;

const kt = (argv: string[], e = env) => runCli(argv, { env: e });
const json = async (argv: string[], e = env) => {
  const r = await kt(argv, e);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
};

beforeAll(async () => {
  tmp = tempDir();
  env = { ...BASE, KEYTURN_HOME: join(tmp.dir, 'home') };
  expect((await kt(['init'])).code).toBe(0);
  writeFileSync(join(tmp.dir, 'keyturn.yaml'), YAML);
  const applied = await kt(['apply', '-f', join(tmp.dir, 'keyturn.yaml')]);
  expect(applied.code, applied.stderr).toBe(0);
});

afterAll(async () => {
  if (server) expect([0, null]).toContain(await server.stop());
  tmp?.remove();
});

describe('keyturn schedule show, locally', () => {
  it('JSON: each value with its source, the last rotation (the current version) and the due time 60d + jitter after it', async () => {
    const j = await json(['schedule', 'show', 'prod/api/token', '--json']);
    expect(j.schedule).toEqual({ cadence: { every: '60d' }, window: null, jitter: '10m', maxAge: '70d', expiryWarning: '7d', retainPrevious: '7d', grace: null });
    expect(j.sources).toEqual({
      cadence: { from: 'preset', preset: 'api-token', key: 'schedules.paths.prod/api.preset' },
      window: { from: 'built-in' },
      jitter: { from: 'prefix', key: 'schedules.paths.prod/api' },
      maxAge: { from: 'secret', key: 'secrets.prod/api/token.schedule' },
      expiryWarning: { from: 'preset', preset: 'api-token', key: 'schedules.paths.prod/api.preset' },
      retainPrevious: { from: 'built-in' },
      grace: { from: 'built-in' },
    });
    const history = await json(['secret', 'history', 'prod/api/token', '--json']);
    expect(j.lastRotation).toEqual({ at: history.history[0].createdAt, version: 1, versionId: 'initial', runId: null });
    const last = Date.parse(j.lastRotation.at);
    expect(j.next.reason).toBe('every');
    expect(Date.parse(j.next.cycleAt)).toBe(last + 60 * DAY);
    expect(j.next.jitterMs).toBeGreaterThanOrEqual(0);
    expect(j.next.jitterMs).toBeLessThanOrEqual(600_000);
    expect(Date.parse(j.next.dueAt)).toBe(last + 60 * DAY + j.next.jitterMs);
    expect(Date.parse(j.next.overdueAt)).toBe(last + 70 * DAY);
    expect(Date.parse(j.next.warningAt)).toBe(last + 63 * DAY);
    expect(j).toMatchObject({ path: 'prod/api/token', type: 'app-secret', rotatable: true, status: 'ok', mayStartNow: true, notes: [] });
    // Another look (another instance) computes the same due time.
    expect((await json(['schedule', 'show', 'prod/api/token', '--json'])).next.dueAt).toBe(j.next.dueAt);
  });

  it('after a rotation the clock restarts from the new version, made by that run', async () => {
    const run = await json(['rotate', 'other/x', '--json']);
    expect(run.status).toBe('done');
    const j = await json(['schedule', 'show', 'other/x', '--json']);
    expect(j.lastRotation).toMatchObject({ version: 2, runId: run.id });
    const history = await json(['secret', 'history', 'other/x', '--json']);
    expect(j.lastRotation.at).toBe(history.history[0].createdAt);
    expect(Date.parse(j.next.dueAt)).toBe(Date.parse(j.lastRotation.at) + 90 * DAY);
    expect(j.sources.cadence).toEqual({ from: 'preset', preset: 'app-secret', key: 'schedules.types.app-secret.preset' });
  });

  it('text: a table of keys, values and sources, then the last rotation and the next due time', async () => {
    const r = await kt(['schedule', 'show', 'prod/night/job']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^prod\/night\/job \(app-secret\)\n/);
    expect(r.stdout).toMatch(/^cadence +every 1d +schedules\.paths\.prod\/night$/m);
    expect(r.stdout).toMatch(/^window +mon-fri 22:00-02:00 \(Europe\/Paris\) +schedules\.paths\.prod\/night$/m);
    expect(r.stdout).toMatch(/^jitter +none +built-in default$/m);
    expect(r.stdout).toMatch(/^grace +until the next rotation +built-in default$/m);
    expect(r.stdout).toMatch(/^last rotation +\d{4}-\d\d-\d\dT[\d:.]+Z \(version 1\)$/m);
    expect(r.stdout).toMatch(/^next due +\d{4}-\d\d-\d\dT[\d:.]+Z/m);
    expect(r.stdout).toMatch(/^status +ok$/m);
    const manual = await kt(['schedule', 'show', 'dev/plain']);
    expect(manual.stdout).toMatch(/^cadence +manual +secrets\.dev\/plain\.schedule$/m);
    expect(manual.stdout).toMatch(/^next due +never \(manual: rotated only by keyturn rotate\)$/m);
  });

  it('errors: no policy (exit 3), a bad path (exit 2)', async () => {
    const missing = await kt(['schedule', 'show', 'no/such']);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('error KT_POLICY_NOT_FOUND: no/such has no applied rotation policy');
    const bad = await kt(['schedule', 'show', '/prod', '--json']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stderr).error.code).toBe('KT_PATH_LEADING_SLASH');
  });

  it('schedule presets lists the table; --help has examples', async () => {
    const presets = (await json(['schedule', 'presets', '--json'])) as unknown as Array<{ name: string; every: string; expiryWarning: string | null }>;
    expect(presets.map((p) => `${p.name}=${p.every}`)).toEqual([
      'service-principal-certificate=90d',
      'api-token=60d',
      'signing-key=90d',
      'siem=30d',
      'telemetry=30d',
      'root-key=30d',
      'admin-key=30d',
      'database-password=90d',
      'app-secret=90d',
      'jwt-secret=180d',
    ]);
    expect(presets.find((p) => p.name === 'api-token')!.expiryWarning).toBe('7d');
    const help = await kt(['schedule', 'show', '--help']);
    expect(help.stdout).toContain('Examples:\n  keyturn schedule show prod/api/token');
  });
});

describe('keyturn schedule show through the server', () => {
  beforeAll(async () => {
    const admin = (await kt(['token', 'create', '--policy', 'admin', '-q'])).stdout.trim();
    writeFileSync(join(tmp.dir, 'dev.yaml'), 'rules:\n  - path: dev/**\n    capabilities: [list]\n');
    expect((await kt(['policy', 'put', 'dev-list', '-f', join(tmp.dir, 'dev.yaml')])).code).toBe(0);
    const dev = (await kt(['token', 'create', '--policy', 'dev-list', '-q'])).stdout.trim();
    server = await startServerProcess(env);
    const nowhere = join(tmp.dir, 'no-home');
    remote = { ...BASE, KEYTURN_HOME: nowhere, KEYTURN_ADDR: server.listening, KEYTURN_TOKEN: admin };
    narrow = { ...remote, KEYTURN_TOKEN: dev };
  }, 2 * SPAWN_MS);

  it('the same JSON as locally (but for the time of asking)', { timeout: 4 * SPAWN_MS }, async () => {
    for (const path of ['prod/api/token', 'prod/night/job', 'dev/plain', 'other/x']) {
      const { now: _l, ...local } = await json(['schedule', 'show', path, '--json']);
      const { now: _r, ...served } = await json(['schedule', 'show', path, '--json'], remote);
      if (path === 'prod/night/job') {
        // Whether the window is open can change between the two looks; the rest cannot.
        delete local.mayStartNow;
        delete served.mayStartNow;
      }
      expect(served, path).toEqual(local);
    }
    const text = await kt(['schedule', 'show', 'prod/api/token'], remote);
    expect(text.stdout).toContain('preset api-token (schedules.paths.prod/api.preset)');
  });

  it('the token needs list on the path; a missing policy is 404 there too', { timeout: 4 * SPAWN_MS }, async () => {
    expect((await kt(['schedule', 'show', 'dev/plain', '--json'], narrow)).code).toBe(0);
    const denied = await kt(['schedule', 'show', 'prod/api/token'], narrow);
    expect(denied.stderr).toContain('KT_ACCESS_DENIED');
    expect(denied.code).not.toBe(0);
    const missing = await kt(['schedule', 'show', 'no/such'], remote);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('KT_POLICY_NOT_FOUND');
  });
});
