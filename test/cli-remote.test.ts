/**
 * The CLI as a client of `keyturn server` (KEYTURN_ADDR, KEYTURN_TOKEN): one real server process
 * on one home, the CLI run in-process against it, and the same commands run locally on a second
 * home set up alike. Every secret, rotate and runs command prints the same text and JSON and exits
 * with the same code either way (ids and times aside). A wrong token, a refused capability, a
 * missing token, a server that does not answer and a command that needs the local home each get
 * their KT_ code, printed as the CLI prints every error.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../src/config/settings.js';
import { stoppedRun } from './helpers/stopped-run.js';
import { openKeyturn } from '../src/runtime/keyturn.js';
import { runCli, SPAWN_MS, startServerProcess, type CliResult, type ServerProcess } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

const SECRETS = ['app/session', 'app/resume', 'app/cancel'];
const BASE = { KEYTURN_LOG_LEVEL: 'silent', KEYTURN_PURGE_PROTECTION: 'false' };

interface Side {
  env: Record<string, string>;
  /** The runs stopped at a step boundary before the commands: one to resume, one to cancel. */
  resume: string;
  cancel: string;
}

let tmp: ReturnType<typeof tempDir>;
let server: ServerProcess | undefined;
let addr = '';
let local: Side;
let remote: Side;
let token = '';
let narrow = '';

/** An initialized home with the app secrets applied and two runs stopped after create. */
async function home(dir: string): Promise<{ env: Record<string, string>; resume: string; cancel: string }> {
  const env = { ...BASE, KEYTURN_HOME: dir };
  expect((await runCli(['init'], { env })).code).toBe(0);
  const file = join(dir, 'keyturn.yaml');
  writeFileSync(file, `version: 1\nsecrets:\n${SECRETS.map((p) => `  ${p}:\n    type: app-secret\n    password: { length: 32 }\n`).join('')}`);
  const applied = await runCli(['apply', '-f', file], { env });
  expect(applied.code, applied.stderr).toBe(0);
  const kt = await openKeyturn(loadSettings(env));
  try {
    const stopped = async (path: string) => (await stoppedRun(kt, path)).id;
    return { env, resume: await stopped('app/resume'), cancel: await stopped('app/cancel') };
  } finally {
    await kt.close();
  }
}

beforeAll(async () => {
  tmp = tempDir();
  const l = await home(join(tmp.dir, 'local'));
  local = { env: l.env, resume: l.resume, cancel: l.cancel };
  const r = await home(join(tmp.dir, 'served'));
  token = (await runCli(['token', 'create', '--policy', 'admin', '-q'], { env: r.env })).stdout.trim();
  writeFileSync(join(tmp.dir, 'other.yaml'), 'rules:\n  - path: other/**\n    capabilities: [read, list]\n');
  expect((await runCli(['policy', 'put', 'other', '-f', join(tmp.dir, 'other.yaml')], { env: r.env })).code).toBe(0);
  narrow = (await runCli(['token', 'create', '--policy', 'other', '-q'], { env: r.env })).stdout.trim();
  expect(token).toMatch(/^kt_/);
  // No scheduler: its runs left stopped must stay as they are for the client to resume, as on the local home.
  server = await startServerProcess(r.env, ['--no-scheduler']);
  addr = server.listening;
  // The client opens no home: KEYTURN_HOME names a folder that does not exist.
  const nowhere = join(tmp.dir, 'no-home');
  remote = { env: { ...BASE, KEYTURN_HOME: nowhere, KEYTURN_ADDR: addr, KEYTURN_TOKEN: token }, resume: r.resume, cancel: r.cancel };
}, 4 * SPAWN_MS);

afterAll(async () => {
  // 0 after SIGTERM (null: it had already stopped).
  if (server) expect([0, null]).toContain(await server.stop());
  tmp?.remove();
});

/** Ids, correlation ids, times and step durations replaced, table padding collapsed: what must match. */
function normal(text: string): string {
  return text
    .replace(/run_[0-9a-f-]{36}/g, 'RUN')
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
    .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, 'TIME')
    .replace(/"ms": \d+/g, '"ms": N')
    .replace(/^(\d+ +\w+ +\d+ +\w+(?: KT_[A-Z_]+)? +)\d+/gm, '$1N')
    .replace(/ {2,}/g, '  ');
}

const same = (r: CliResult) => ({ code: r.code, stdout: normal(r.stdout), stderr: normal(r.stderr) });

/** Runs one command line on both sides; expects the same outcome; returns the remote one. */
async function both(argv: (side: Side) => string[], stdin?: string): Promise<CliResult> {
  const l = await runCli(argv(local), { env: local.env, ...(stdin === undefined ? {} : { stdin }) });
  const r = await runCli(argv(remote), { env: remote.env, ...(stdin === undefined ? {} : { stdin }) });
  expect(same(r), argv(remote).join(' ')).toEqual(same(l));
  return r;
}

describe('through the server, the same output and exit codes as locally', () => {
  it('secret put, get, ls, history, rollback, rm, restore, purge', { timeout: 60 * SPAWN_MS }, async () => {
    expect((await both(() => ['secret', 'put', 'app/token', '--value', 'v1'])).code).toBe(0);
    await both(() => ['secret', 'put', 'app/token', '--stdin', '--json'], 'v2\n');
    await both(() => ['secret', 'put', 'app/fields', '--field', 'username=app', '--field', 'password=-', '--type', 'database-credential', '--tag', 'team=a'], 'pw\n');
    expect((await both(() => ['secret', 'get', 'app/token'])).stdout).toBe('v2');
    await both(() => ['secret', 'get', 'app/token', '--stage', 'previous', '--json']);
    await both(() => ['secret', 'get', 'app/token', '--version', '1']);
    expect((await both(() => ['secret', 'get', 'app/fields', '--field', 'password'])).stdout).toBe('pw');
    expect((await both(() => ['secret', 'get', 'app/fields', '--field', 'nope', '--json'])).code).toBe(3);
    expect((await both(() => ['secret', 'get', 'app/none'])).code).toBe(3);
    expect((await both(() => ['secret', 'get', 'app/token', '--stage', 'pending'])).code).toBe(3);
    expect((await both(() => ['secret', 'put', 'app/token', '--value', 'v3', '--expect-version', '1', '--json'])).code).toBe(1);
    expect((await both(() => ['secret', 'put', 'app/cancel', '--value', 'by-hand', '--json'])).stderr).toContain('KT_RUN_ACTIVE');
    await both(() => ['secret', 'ls', 'app']);
    await both(() => ['secret', 'ls', '--json']);
    await both(() => ['secret', 'ls', 'nothing']);
    await both(() => ['secret', 'history', 'app/token']);
    await both(() => ['secret', 'history', 'app/token', '--json']);
    await both(() => ['secret', 'rollback', 'app/token', '--json']);
    expect((await both(() => ['secret', 'get', 'app/token'])).stdout).toBe('v1');
    await both(() => ['secret', 'rollback', 'app/token']);
    expect((await both(() => ['secret', 'rollback', 'app/fields'])).code).toBe(3);
    expect((await both(() => ['secret', 'rm', 'app/token', '--recovery-days', '7'])).code).toBe(0);
    expect((await both(() => ['secret', 'get', 'app/token'])).stderr).toContain('KT_SECRET_DELETED');
    await both(() => ['secret', 'ls', '--deleted']);
    await both(() => ['secret', 'restore', 'app/token', '--json']);
    await both(() => ['secret', 'rm', 'app/fields', '--json']);
    expect((await both(() => ['secret', 'purge', 'app/fields'])).code).toBe(2);
    expect((await both(() => ['secret', 'purge', 'app/token', '--yes'])).stderr).toContain('KT_SECRET_NOT_DELETED');
    await both(() => ['secret', 'purge', 'app/fields', '--yes', '--json']);
    expect((await both(() => ['secret', 'ls', '--deleted', '--json'])).stdout).toBe('[]\n');
  });

  it('rotate, runs, runs show, resume, cancel', { timeout: 40 * SPAWN_MS }, async () => {
    expect((await both(() => ['rotate', 'app/session', '--json'])).code).toBe(0);
    await both(() => ['rotate', 'app/session']);
    await both(() => ['rotate', 'app/session', '--dry-run']);
    await both(() => ['rotate', 'app/session', '--dry-run', '--json']);
    expect((await both(() => ['rotate', 'app/none'])).stderr).toContain('KT_POLICY_NOT_FOUND');
    await both(() => ['runs']);
    await both(() => ['runs', '--json']);
    await both(() => ['runs', 'app/session', '--limit', '1']);
    await both((s) => ['runs', 'show', s.resume]);
    await both((s) => ['runs', 'show', s.resume, '--json']);
    expect((await both(() => ['runs', 'show', 'run_nope'])).code).toBe(3);
    expect((await both((s) => ['runs', 'resume', s.resume, '--json'])).code).toBe(0);
    expect((await both((s) => ['runs', 'resume', s.resume])).stderr).toContain('KT_RUN_FINISHED');
    expect((await both((s) => ['runs', 'cancel', s.cancel])).code).toBe(2);
    await both((s) => ['runs', 'cancel', s.cancel, '--yes']);
    await both((s) => ['runs', 'show', s.cancel]);
    expect((await both((s) => ['runs', 'cancel', s.cancel, '--yes', '--json'])).stderr).toContain('KT_RUN_FINISHED');
  });
});

describe('errors of the client', () => {
  const run = (argv: string[], env: Record<string, string>) => runCli(argv, { env: { ...BASE, KEYTURN_HOME: join(tmp.dir, 'no-home'), ...env } });

  it('a wrong token is KT_TOKEN_INVALID; a capability the token lacks is KT_ACCESS_DENIED; both print as every CLI error does', async () => {
    const bad = await run(['secret', 'get', 'app/token'], { KEYTURN_ADDR: addr, KEYTURN_TOKEN: `kt_${'A'.repeat(43)}` });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error KT_TOKEN_INVALID: .+\n {2}fix: .+\n$/);
    const denied = await run(['secret', 'get', 'app/token', '--json'], { KEYTURN_ADDR: addr, KEYTURN_TOKEN: narrow });
    expect([denied.code, denied.stdout]).toEqual([1, '']);
    expect(JSON.parse(denied.stderr)).toEqual({
      error: { code: 'KT_ACCESS_DENIED', message: expect.stringMatching(/may not read app\/token/), fix: expect.any(String), status: 403, details: { capability: 'read', path: 'app/token' } },
    });
    // A list shows only what the token may list: nothing here, and that is no error.
    expect(await run(['secret', 'ls'], { KEYTURN_ADDR: addr, KEYTURN_TOKEN: narrow })).toMatchObject({ code: 0, stdout: 'No secrets.\n' });
  });

  it('no token, a server that does not answer, an address that is not allowed, an unreadable CA file', async () => {
    const missing = await run(['secret', 'ls'], { KEYTURN_ADDR: addr });
    expect([missing.code, missing.stderr]).toEqual([
      2,
      expect.stringMatching(/^error KT_SERVER_TOKEN_MISSING: KEYTURN_ADDR is http:\/\/127\.0\.0\.1:\d+ but KEYTURN_TOKEN is not set\n {2}fix: Set KEYTURN_TOKEN/),
    ]);
    // A port nothing listens on: one the system just gave out and took back.
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise((resolve) => probe.close(resolve));
    const down = await run(['secret', 'ls', '--json'], { KEYTURN_ADDR: `http://127.0.0.1:${port}`, KEYTURN_TOKEN: token });
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stderr).error).toMatchObject({ code: 'KT_SERVER_UNREACHABLE', message: `no answer from http://127.0.0.1:${port} (ECONNREFUSED)` });
    expect(down.stderr).not.toContain(token);
    const clear = await run(['secret', 'ls'], { KEYTURN_ADDR: 'http://keyturn.example.com:8787', KEYTURN_TOKEN: token });
    expect([clear.code, clear.stderr]).toEqual([2, expect.stringContaining('KT_CONFIG_INVALID: KEYTURN_ADDR: plain http:// is only for 127.0.0.1')]);
    const path = await run(['secret', 'ls'], { KEYTURN_ADDR: `${addr}/v1`, KEYTURN_TOKEN: token });
    expect(path.stderr).toContain('KEYTURN_ADDR: must be only scheme, host and port');
    mkdirSync(join(tmp.dir, 'empty'), { recursive: true });
    const ca = await run(['secret', 'ls'], { KEYTURN_ADDR: 'https://127.0.0.1:8787', KEYTURN_TOKEN: token, KEYTURN_CACERT: join(tmp.dir, 'empty', 'ca.pem') });
    expect([ca.code, ca.stderr]).toEqual([2, expect.stringContaining('KT_CONFIG_INVALID: KEYTURN_CACERT: cannot read')]);
  });

  it('rotate --all (planned, then for real) and --due; through the server only what the token may rotate', { timeout: 20 * SPAWN_MS }, async () => {
    // One at a time: the lines come in the order the secrets finish.
    await both(() => ['rotate', '--all', '--prefix', 'app', '--dry-run', '--concurrency', '1']);
    await both(() => ['rotate', '--all', '--prefix', 'app', '--dry-run', '--concurrency', '1', '--json']);
    await both(() => ['rotate', '--due', '--json']);
    expect((await both(() => ['rotate', '--all', '--type', 'app-secret', '--yes', '--concurrency', '1', '--json'])).code).toBe(0);
    await both(() => ['rotate', '--all', '--prefix', 'nothing/here', '--yes']);
    // A token that may not rotate anything sees nothing to rotate.
    const narrowAll = await run(['rotate', '--all', '--yes', '--json'], { KEYTURN_ADDR: addr, KEYTURN_TOKEN: narrow });
    expect([narrowAll.code, JSON.parse(narrowAll.stdout.trim().split('\n').pop()!)]).toEqual([0, { summary: { total: 0, done: 0, skipped: 0, failed: 0, dryRun: false } }]);
  });
});
