/**
 * What the CLI answers beyond the data: one exit-code rule derived from each error's HTTP status
 * (3 for "what you asked for does not exist"), `keyturn status` on a home that is not initialized,
 * text output that ends with exactly one newline, and failed runs named by the step that failed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ERRORS, exitCodeOf, type ErrorCode } from '../src/core/errors.js';
import { table } from '../src/cli/io.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { rotationFixture, type RotationFixture } from './helpers/rotation-fixtures.js';
import { tempDir } from './helpers/state.js';

let tmp: ReturnType<typeof tempDir>;
let env: Record<string, string>;

beforeEach(() => {
  tmp = tempDir();
  env = { KEYTURN_HOME: join(tmp.dir, 'home'), KEYTURN_LOG_LEVEL: 'silent' };
});
afterEach(() => tmp.remove());

const kt = (argv: string[], extra: Record<string, string> = {}) => runCli(argv, { env: { ...env, ...extra } });

async function ok(argv: string[], extra: Record<string, string> = {}): Promise<CliResult> {
  const r = await kt(argv, extra);
  expect(r.code, `${argv.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

const NOT_FOUND: readonly ErrorCode[] = [
  'KT_FIELD_NOT_FOUND',
  'KT_SECRET_NOT_FOUND',
  'KT_VERSION_NOT_FOUND',
  'KT_STAGE_NOT_SET',
  'KT_NO_PREVIOUS_VERSION',
  'KT_AUDIT_EVENT_NOT_FOUND',
  'KT_POLICY_NOT_FOUND',
  'KT_TARGET_NOT_FOUND',
  'KT_RUN_NOT_FOUND',
  'KT_ACCESS_POLICY_NOT_FOUND',
  'KT_TOKEN_NOT_FOUND',
  'KT_API_ROUTE_NOT_FOUND',
  'KT_JWKS_NOT_FOUND',
  'KT_BREAKGLASS_NOT_FOUND',
  'KT_OIDC_ISSUER_NOT_FOUND',
  'KT_AGENT_SECRET_NOT_HELD',
  'KT_NOTIFY_CHANNEL_NOT_FOUND',
  'KT_SCAN_PATH_NOT_FOUND',
];
/** Codes only the HTTP API (or the agent's local read API) can return (no command asks for a route). */
const API_ONLY: readonly ErrorCode[] = ['KT_API_ROUTE_NOT_FOUND', 'KT_BREAKGLASS_NOT_FOUND', 'KT_AGENT_SECRET_NOT_HELD'];

describe('exit codes', () => {
  it('follow from the HTTP status alone; the "does not exist" codes are exactly the 404s', () => {
    for (const [code, spec] of Object.entries(ERRORS) as Array<[ErrorCode, (typeof ERRORS)[ErrorCode]]>) {
      expect(exitCodeOf(code), code).toBe(spec.status === 400 ? 2 : spec.status === 404 ? 3 : 1);
    }
    expect((Object.keys(ERRORS) as ErrorCode[]).filter((c) => ERRORS[c].status === 404).sort()).toEqual([...NOT_FOUND].sort());
    expect(exitCodeOf('KT_NOT_INITIALIZED')).toBe(1);
    // A user missing on a target is the target's failure, not something the caller asked Keyturn for.
    expect(exitCodeOf('KT_TARGET_USER_MISSING')).toBe(1);
  });

  it('docs/errors.md and keyturn --help state the rule, and the docs give every 404 exit 3', async () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    expect(doc).toContain('| 3 | what you asked for does not exist: every code with HTTP status 404 |');
    expect(doc).toContain('| 2 | usage error or bad input: every code with HTTP status 400 |');
    expect(doc.replace(/\s+/g, ' ')).toContain('The exit code follows from the HTTP status alone: 400 exits 2, 404 exits 3, every other status exits 1.');
    for (const code of NOT_FOUND) expect(doc).toContain(`| \`${code}\` | 404 | 3 |`);
    expect(doc).toContain('| `KT_NOT_INITIALIZED` | 500 | 1 |');
    const help = await runCli(['--help']);
    expect(help.stdout).toContain('Exit codes: 0 ok, 1 failure, 2 usage error or bad input, 3 what you asked for does not exist');
  });

  it('every 404 code exits 3 through the CLI, in JSON and in words', async () => {
    await ok(['init']);
    await ok(['secret', 'put', 'app/fields', '--field', 'user=a']);
    await ok(['secret', 'put', 'app/one', '--value', 'v']);
    const cfg = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(cfg, 'version: 1\ntargets:\n  gen: { type: generic }\nsecrets:\n  app/gen:\n    type: app-secret\n    target: gen\n    strategy: simple\n');
    await ok(['apply', '-f', cfg]);
    // A policy whose target is no longer applied (the state edited by hand).
    const db = new DatabaseSync(join(env.KEYTURN_HOME!, 'keyturn.db'));
    db.exec("DELETE FROM targets WHERE name = 'gen'");
    db.close();

    const cases: Array<[string[], ErrorCode]> = [
      [['secret', 'get', 'no/such'], 'KT_SECRET_NOT_FOUND'],
      [['secret', 'get', 'app/fields', '--field', 'password'], 'KT_FIELD_NOT_FOUND'],
      [['secret', 'get', 'app/one', '--stage', 'previous'], 'KT_STAGE_NOT_SET'],
      [['secret', 'get', 'app/one', '--version', '99'], 'KT_VERSION_NOT_FOUND'],
      [['secret', 'rollback', 'app/one'], 'KT_NO_PREVIOUS_VERSION'],
      [['runs', 'show', 'run_x'], 'KT_RUN_NOT_FOUND'],
      [['audit', 'prove', 'ev_999_000000000000'], 'KT_AUDIT_EVENT_NOT_FOUND'],
      [['rotate', 'app/one'], 'KT_POLICY_NOT_FOUND'],
      [['rotate', 'app/gen'], 'KT_TARGET_NOT_FOUND'],
      [['policy', 'show', 'nope'], 'KT_ACCESS_POLICY_NOT_FOUND'],
      [['token', 'revoke', 'tok_nope'], 'KT_TOKEN_NOT_FOUND'],
      [['oidc', 'show', 'nope'], 'KT_OIDC_ISSUER_NOT_FOUND'],
      [['notify', 'test', 'nope'], 'KT_NOTIFY_CHANNEL_NOT_FOUND'],
      [['jwks', 'app/one'], 'KT_JWKS_NOT_FOUND'],
      [['scan', join(tmp.dir, 'no-such-folder')], 'KT_SCAN_PATH_NOT_FOUND'],
    ];
    expect(cases.map(([, code]) => code).sort()).toEqual(NOT_FOUND.filter((c) => !API_ONLY.includes(c)).sort());
    for (const [argv, code] of cases) {
      const json = await kt([...argv, '--json']);
      expect(json.code, `${argv.join(' ')}: ${json.stderr}`).toBe(3);
      expect(JSON.parse(json.stderr).error).toMatchObject({ code, status: 404 });
      expect(json.stdout).toBe('');
      const human = await kt(argv);
      expect(human.code).toBe(3);
      expect(human.stderr).toMatch(new RegExp(`^error ${code}: .+\\n  fix: .+\\n$`));
    }
  });

  it('a home that is not initialized stays a failure (exit 1); bad input stays 2', async () => {
    const r = await kt(['secret', 'ls', '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stderr).error.code).toBe('KT_NOT_INITIALIZED');
    await ok(['init']);
    expect((await kt(['secret', 'get', '/bad'])).code).toBe(2);
  });

  it('a bad keyturn.yaml is KT_CONFIG_FILE_INVALID: exit 2, file:line and key path, a fix that names the file', async () => {
    await ok(['init']);
    const cfg = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(cfg, 'version: 1\nsecrets:\n  app/x:\n    type: app-secret\n    target: pg\n');
    const r = await kt(['apply', '-f', cfg, '--json']);
    expect(r.code).toBe(2);
    const { error } = JSON.parse(r.stderr) as { error: { code: string; message: string; fix: string } };
    expect(error.code).toBe('KT_CONFIG_FILE_INVALID');
    expect(error.message).toBe(`${cfg}:5: secrets.app/x.target: unknown target "pg"; declared targets: none`);
    expect(error.fix).toContain('keyturn.yaml');
    expect(error.fix).not.toContain('environment variable or option');
    const missing = await kt(['apply', '-f', join(tmp.dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error KT_CONFIG_FILE_MISSING: .*nope\.yaml does not exist/);
  });
});

describe('keyturn status', () => {
  it('on a home that is not initialized: says so and how to start, exit 1, and creates nothing', async () => {
    const home = env.KEYTURN_HOME!;
    const human = await kt(['status']);
    expect(human.code).toBe(1);
    expect(human.stderr).toBe('');
    expect(human.stdout).toContain(`Keyturn is not initialized in ${home}: no state database at ${join(home, 'keyturn.db')}.`);
    expect(human.stdout).toMatch(/^ {2}keyturn init {2,}\S/m);
    expect(human.stdout).toMatch(/^ {2}keyturn quickstart {2}\S/m);
    const json = await kt(['status', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      initialized: false,
      home,
      state: { dialect: 'sqlite', location: join(home, 'keyturn.db') },
      reason: `no state database at ${join(home, 'keyturn.db')}`,
      next: ['keyturn init', 'keyturn quickstart'],
    });
    expect(existsSync(home)).toBe(false);

    // An empty folder stays empty; --home is carried into the advice.
    const other = join(tmp.dir, 'empty');
    mkdirSync(other);
    const r = await runCli(['status', '--home', other, '--json'], { env: {} });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ initialized: false, home: other, next: [`keyturn init --home ${other}`, `keyturn quickstart --home ${other}`] });
    expect(readdirSync(other)).toEqual([]);
    expect(readdirSync(tmp.dir).sort()).toEqual(['empty']);
  });

  it('on an initialized home: "initialized": true, exit 0', async () => {
    await ok(['init']);
    const r = await ok(['status', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ initialized: true, home: env.KEYTURN_HOME, state: { dialect: 'sqlite' } });
  });
});

describe('text output', () => {
  it('a table ends with its newline', () => {
    expect(table(['A', 'B'], [['1', null]])).toBe('A  B\n1  -\n');
    expect(table(['A'], [])).toBe('A\n');
  });

  it('every command that prints a table, alone or with more text, ends with exactly one newline and no double blank line', async () => {
    const outputs: Array<[string, string]> = [];
    const check = async (argv: string[], extra: Record<string, string> = {}) => outputs.push([argv.join(' '), (await ok(argv, extra)).stdout]);
    await ok(['init']);
    await check(['runs']);
    await check(['secret', 'ls']);
    await ok(['secret', 'put', 'a/b', '--value', 'one']);
    await ok(['secret', 'put', 'a/b', '--value', 'two']);
    await ok(['secret', 'put', 'gone/x', '--value', 'v']);
    await ok(['secret', 'rm', 'gone/x']);
    await check(['secret', 'ls']);
    await check(['secret', 'ls', 'a']);
    await check(['secret', 'ls', '--deleted']);
    await check(['secret', 'history', 'a/b']);
    await check(['status']);
    const cfg = join(tmp.dir, 'keyturn.yaml');
    writeFileSync(cfg, `version: 1\nsecrets:\n  app/s:\n    type: app-secret\n    consumers:\n      - type: file\n        path: ${join(tmp.dir, 's.env')}\n`);
    await check(['apply', '-f', cfg, '--dry-run']);
    await check(['apply', '-f', cfg]);
    await check(['rotate', 'app/s']);
    const run = JSON.parse((await ok(['runs', '--json'])).stdout)[0] as { id: string };
    await check(['runs']);
    await check(['runs', 'app/s']);
    await check(['runs', 'show', run.id]);
    await check(['audit', 'deliver']);
    await check(['audit', 'deliver'], { KEYTURN_AUDIT_JSONL: 'audit.jsonl' });
    await check(['quickstart', '--home', join(tmp.dir, 'qs')]);
    for (const [line, out] of outputs) {
      expect(out, line).toMatch(/[^\n]\n$/);
      expect(out, line).not.toContain('\n\n\n');
    }
    const show = outputs.find(([l]) => l.startsWith('runs show'))![1];
    expect(show).toMatch(/\n\nSteps:\n#\s+STEP/);
    expect(show).toMatch(/\n\nConsumers:\n#\s+KIND/);
    expect(outputs.find(([l]) => l.endsWith('--dry-run'))![1]).toMatch(/\n\nPlan: 2 to create/);
  });
});

describe('a failed run names the step that failed, not the step it resumes at', () => {
  let fx: RotationFixture<'mysql'> | undefined;
  afterEach(async () => {
    await fx?.close();
    fx = undefined;
  });

  it('MariaDB takes the new password, then the locked account fails test: "failed at test", resumed at set', async () => {
    fx = await rotationFixture('mysql', 'single-user', { secretExtra: '    rotation: { attempts: 2, backoffBaseMs: 20, backoffCapMs: 50, timeoutMs: 5000 }\n' });
    const fenv = { ...fx.env, KEYTURN_LOG_LEVEL: 'silent' };
    // An operator locks the account: the admin can still set its password, but nobody logs in.
    await fx.target.sql(`ALTER USER ${fx.target.accountOf(fx.username)} ACCOUNT LOCK`);

    const first = await runCli(['rotate', fx.path], { env: fenv });
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(new RegExp(`^app/db: attempt 1 failed at test: KT_TARGET_AUTH_FAILED: .+; the next attempt resumes at set at \\S+Z, or now with: keyturn runs resume run_`));
    expect(first.stdout).not.toContain('failed at set');
    expect(first.stderr).toContain('failed at test: KT_TARGET_AUTH_FAILED');
    const [run] = JSON.parse((await runCli(['runs', '--json'], { env: fenv })).stdout) as Array<{ id: string; status: string; step: string; failedStep: string | null; error: { code: string } }>;
    expect(run).toMatchObject({ status: 'retrying', step: 'set', failedStep: 'test', error: { code: 'KT_TARGET_AUTH_FAILED' } });

    const second = await runCli(['runs', 'resume', run!.id], { env: fenv });
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/^app\/db: rotation failed at test: KT_TARGET_AUTH_FAILED: .+; see: keyturn runs show run_/);
    const show = await runCli(['runs', 'show', run!.id], { env: fenv });
    expect(show.stdout).toMatch(/^status\s+failed$/m);
    expect(show.stdout).toMatch(/^next step\s+set$/m);
    expect(show.stdout).toMatch(/^error\s+failed at test: KT_TARGET_AUTH_FAILED: /m);
    expect(JSON.parse((await runCli(['runs', 'show', run!.id, '--json'], { env: fenv })).stdout)).toMatchObject({ status: 'failed', step: 'set', failedStep: 'test' });
    expect((await runCli(['runs'], { env: fenv })).stdout).toMatch(/failed\s+set\s+2\s+KT_TARGET_AUTH_FAILED at test/);

    // Unlocked, the run resumes at set (the new password already works there) and finishes.
    await fx.target.sql(`ALTER USER ${fx.target.accountOf(fx.username)} ACCOUNT UNLOCK`);
    const done = await runCli(['runs', 'resume', run!.id, '--json'], { env: fenv });
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toMatchObject({ status: 'done', failedStep: null, error: null });
  });
});
