/**
 * The script target: the Target contract with a real script (test/fixtures/scripts/pg-role.sh,
 * psql against the password-auth cluster on 55432), with passwords in the environment and as JSON
 * on stdin; then what is particular to running commands (test/fixtures/scripts/probe.sh): no
 * password on any command line, stderr scrubbed and bounded, timeouts and cancellation kill the
 * command with what it started, exit codes mapped, revoke (directly and from the engine's cleanup).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isKeyturnError, type KeyturnError } from '../src/core/errors.js';
import { caught, errorText } from '../src/contracts/consumer-contract.js';
import { newPassword, uniqueName } from '../src/contracts/names.js';
import { runTargetContract } from '../src/contracts/target-contract.js';
import { createTarget, type TargetConfigInput } from '../src/targets/registry.js';
import { cloneUsername, type Credential, type Strategy, type Target } from '../src/targets/target.js';
import { contextWith } from './fixtures/targets/fixture.js';
import { scriptFixture, type ScriptFixture } from './fixtures/targets/script.js';
import { cleanupWorld } from './helpers/cleanup-world.js';
import { runCli } from './helpers/cli.js';
import { psqlAsPostgres } from './helpers/pg-auth.js';
import { alive } from './helpers/processes.js';
import { tempDir } from './helpers/state.js';

runTargetContract({ name: 'script (pg-role.sh, passwords in env)', strategies: ['single-user', 'alternating-users'], make: () => scriptFixture('env') });
runTargetContract({ name: 'script (pg-role.sh, passwords as JSON on stdin)', strategies: ['single-user', 'alternating-users'], make: () => scriptFixture('stdin') });

const PROBE = fileURLToPath(new URL('./fixtures/scripts/probe.sh', import.meta.url));

/** A script target whose set, test and revoke all run probe.sh with `args`. */
function probe(args: string[], extra: Partial<Extract<TargetConfigInput, { type: 'script' }>> = {}): Target {
  return createTarget({ type: 'script', set: [PROBE, ...args], test: [PROBE, ...args], revoke: [PROBE, ...args], ...extra });
}

async function failure(fn: () => Promise<unknown>): Promise<KeyturnError> {
  const e = await caught(fn);
  if (!isKeyturnError(e)) throw e;
  return e;
}

/** Every process's command line on this machine, NUL turned into spaces. */
function allCommandLines(): string[] {
  const lines: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      lines.push(readFileSync(`/proc/${pid}/cmdline`).toString('utf8').replaceAll('\0', ' '));
    } catch {
      // Gone since the listing.
    }
  }
  return lines;
}

describe('script target: commands', () => {
  let dir: string;
  const leftovers: number[] = [];
  const ctx = contextWith(null);
  const admin: Credential = { username: 'kt_admin', password: newPassword(true) };
  const current: Credential = { username: 'app', password: newPassword(true) };
  const next: Credential = { username: 'app', password: newPassword(true), host: 'db.internal' };
  const secrets = [admin.password, current.password, next.password];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keyturn-script-'));
  });
  afterEach(async () => {
    for (const pid of leftovers.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs `set` with probe.sh record; while it waits, returns what the test saw; then lets it finish. */
  async function recordSet(input: 'env' | 'stdin', strategy: Strategy = 'single-user') {
    const target = probe(['record', dir, '{username}', '{strategy}'], { input });
    const cred = strategy === 'alternating-users' ? { ...next, username: cloneUsername('app') } : next;
    const running = target.set({ ...ctx(strategy, 'app'), admin }, cred, current);
    running.catch(() => undefined);
    await expect.poll(() => existsSync(join(dir, 'started')), { timeout: 10_000, interval: 20 }).toBe(true);
    const lines = allCommandLines();
    await writeFile(join(dir, 'go'), '');
    await running;
    const argv = (await readFile(join(dir, 'cmdline'), 'utf8')).split('\0').slice(0, -1);
    const names = (await readFile(join(dir, 'env-names'), 'utf8')).trim().split('\n');
    const stdin = input === 'stdin' ? (JSON.parse(await readFile(join(dir, 'stdin'), 'utf8')) as Record<string, unknown>) : null;
    return { lines, argv, names, stdin };
  }

  it('puts no password on any command line of the machine; argv holds only the expanded non-secret placeholders', async () => {
    const { lines, argv, names } = await recordSet('env');
    expect(
      lines.some((l) => l.includes(PROBE)),
      'the command was seen running',
    ).toBe(true);
    for (const s of secrets) expect(lines.some((l) => l.includes(s))).toBe(false);
    expect(argv.slice(1)).toEqual([PROBE, 'record', dir, 'app', 'single-user']);
    expect(names).toEqual(
      expect.arrayContaining([
        'KEYTURN_ACTION',
        'KEYTURN_STRATEGY',
        'KEYTURN_PRIMARY_USERNAME',
        'KEYTURN_INPUT',
        'KEYTURN_USERNAME',
        'KEYTURN_PASSWORD',
        'KEYTURN_CURRENT_USERNAME',
        'KEYTURN_CURRENT_PASSWORD',
        'KEYTURN_ADMIN_USERNAME',
        'KEYTURN_ADMIN_PASSWORD',
      ]),
    );
    // A clean environment: nothing of Keyturn's own (which may hold KEYTURN_ROOT_KEY or a database URL).
    for (const name of Object.keys(process.env)) if (!['PATH', 'PWD', 'SHLVL', '_'].includes(name)) expect(names).not.toContain(name);
  });

  it('with input: stdin, passwords come only as JSON on stdin, never in the environment', async () => {
    const { lines, argv, names, stdin } = await recordSet('stdin', 'alternating-users');
    for (const s of secrets) expect(lines.some((l) => l.includes(s))).toBe(false);
    expect(argv.slice(1)).toEqual([PROBE, 'record', dir, 'app_clone', 'alternating-users']);
    expect(names.filter((n) => n.endsWith('PASSWORD'))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['KEYTURN_USERNAME', 'KEYTURN_CURRENT_USERNAME', 'KEYTURN_ADMIN_USERNAME']));
    expect(stdin).toEqual({
      version: 1,
      action: 'set',
      strategy: 'alternating-users',
      primaryUsername: 'app',
      credential: { ...next, username: 'app_clone' },
      current,
      admin,
    });
  });

  it('scrubs every spelling of every password in play from stderr, keeps user names, and names the exit code', async () => {
    const e = await failure(() => probe(['leak']).set({ ...ctx('single-user', 'app'), admin }, next, current));
    expect(e.code).toBe('KT_TARGET_FAILED');
    expect(e.message).toContain('(exit 1)');
    expect(e.message).toContain('login failed for app with password [redacted]');
    expect(e.message).toMatch(/base64: \[redacted\]/);
    expect(e.message).toContain('hex: [redacted]');
    expect(e.message).toContain('admin: [redacted] current: [redacted]');
    const text = errorText(e);
    for (const s of secrets) {
      expect(text).not.toContain(s);
      expect(text).not.toContain(Buffer.from(s).toString('base64').replace(/=+$/, ''));
      expect(text).not.toContain(Buffer.from(s).toString('hex'));
    }
  });

  it('keeps a bounded, scrubbed tail of a flood of stderr', async () => {
    const e = await failure(() => probe(['flood']).test(ctx('single-user', 'app'), next));
    expect(e.code).toBe('KT_TARGET_FAILED');
    expect(e.message.length).toBeLessThan(1000);
    expect(e.message).toMatch(/stderr: …x+\nfinally: \[redacted\]$/);
    expect(errorText(e)).not.toContain(next.password);
  });

  it('kills the command and what it started when the call times out: KT_TARGET_UNAVAILABLE', async () => {
    const e = await failure(() => probe(['hang', dir], { timeoutMs: 300 }).test(ctx('single-user', 'app'), next));
    expect(e.code).toBe('KT_TARGET_UNAVAILABLE');
    expect(e.message).toContain('timed out after 300 ms');
    const sleeper = Number((await readFile(join(dir, 'child.pid'), 'utf8')).trim());
    leftovers.push(sleeper);
    await expect.poll(() => alive(sleeper), { timeout: 10_000, interval: 20 }).toBe(false);
  });

  it("kills the command and what it started when the context's signal aborts: KT_TARGET_UNAVAILABLE", async () => {
    const abort = new AbortController();
    const running = failure(() => probe(['hang', dir], { timeoutMs: 60_000 }).set({ ...ctx('single-user', 'app'), signal: abort.signal }, next, current));
    await expect.poll(() => existsSync(join(dir, 'child.pid')), { timeout: 10_000, interval: 20 }).toBe(true);
    const sleeper = Number((await readFile(join(dir, 'child.pid'), 'utf8')).trim());
    leftovers.push(sleeper);
    expect(alive(sleeper)).toBe(true);
    abort.abort();
    const e = await running;
    expect(e.code).toBe('KT_TARGET_UNAVAILABLE');
    expect(e.message).toContain('aborted');
    await expect.poll(() => alive(sleeper), { timeout: 10_000, interval: 20 }).toBe(false);
  });

  it('maps exit codes: the defaults, configured ones, others to KT_TARGET_FAILED; a missing command is KT_TARGET_CONFIG_INVALID', async () => {
    const cases: Array<[code: number, want: string, exitCodes?: Record<string, number>]> = [
      [3, 'KT_TARGET_AUTH_FAILED'],
      [4, 'KT_TARGET_USER_MISSING'],
      [5, 'KT_TARGET_PERMISSION_DENIED'],
      [6, 'KT_TARGET_UNAVAILABLE'],
      [7, 'KT_TARGET_PASSWORD_REJECTED'],
      [8, 'KT_TARGET_ADMIN_REQUIRED'],
      [2, 'KT_TARGET_FAILED'],
      [42, 'KT_TARGET_AUTH_FAILED', { authFailed: 42 }],
      [3, 'KT_TARGET_FAILED', { authFailed: 42 }],
    ];
    for (const [code, want, exitCodes] of cases) {
      const e = await failure(() => probe(['exit', String(code)], exitCodes ? { exitCodes } : {}).test(ctx('single-user', 'app'), next));
      expect(e.code, `exit ${code} with ${JSON.stringify(exitCodes ?? {})}`).toBe(want);
      expect(e.message).toContain(`exiting with ${code} as asked`);
      expect(e.details.exitCode).toBe(code);
    }
    const auth = await failure(() => probe(['exit', '3']).set({ ...ctx('single-user', 'app'), admin }, next, current));
    expect(auth.message).toContain('refused the credential of "kt_admin"');
    const missing = await failure(() => createTarget({ type: 'script', set: ['/nonexistent/keyturn-script'], test: ['/nonexistent/keyturn-script'] }).test(ctx('single-user', 'app'), next));
    expect(missing.code).toBe('KT_TARGET_CONFIG_INVALID');
    expect(missing.message).toContain('ENOENT');
  });

  it('refuses a user name that would read as an option, before running anything', async () => {
    const e = await failure(() => probe(['record', dir, '{username}']).test(ctx('single-user', '--help'), { username: '--help', password: 'x' }));
    expect(e.code).toBe('KT_TARGET_USERNAME_INVALID');
    expect(existsSync(join(dir, 'started'))).toBe(false);
  });
});

describe('script target: revoke with pg-role.sh', () => {
  let fx: ScriptFixture;
  const users: string[] = [];
  beforeAll(async () => {
    fx = await scriptFixture('env');
  });
  afterAll(async () => {
    for (const u of users) await fx.dropUser(u);
    await fx.close();
  });

  it('has revoke only when configured; revoke makes the credential stop working, leaves the other user alone, and is idempotent', async () => {
    const { revoke: _omit, ...withoutRevoke } = fx.config() as Extract<TargetConfigInput, { type: 'script' }>;
    expect(createTarget(withoutRevoke).revoke).toBeUndefined();
    expect(typeof fx.target.revoke).toBe('function');

    const primary = { username: uniqueName(), password: newPassword() };
    users.push(primary.username, cloneUsername(primary.username));
    await fx.createUser(primary.username, primary.password);
    const clone = { username: cloneUsername(primary.username), password: newPassword() };
    const ctx = fx.context('alternating-users', primary.username);
    await fx.target.set(ctx, clone, primary);
    expect(await fx.logsIn(primary)).toBe(true);
    await fx.target.revoke!(ctx, primary);
    expect(await fx.logsIn(primary)).toBe(false);
    expect(await fx.logsIn(clone)).toBe(true);
    // Idempotent: again, and on a role that is gone, it succeeds with nothing to do.
    await fx.target.revoke!(ctx, primary);
    await fx.target.revoke!(ctx, { username: uniqueName(), password: newPassword() });
    expect(await fx.logsIn(clone)).toBe(true);
    const e = await failure(() => fx.target.revoke!({ ...ctx, admin: null }, clone));
    expect(e.code).toBe('KT_TARGET_ADMIN_REQUIRED');
    expect(await fx.logsIn(clone)).toBe(true);
  });
});

describe("script target: the engine's cleanup runs the configured revoke", () => {
  it('after grace the previous user gets PASSWORD NULL from pg-role.sh revoke (not a set with an unknown password); the current one logs in', async () => {
    const w = await cleanupWorld('script', 'alternating-users', '{ every: 90d, grace: 1h }');
    try {
      expect((await w.engine.rotate('app/db')).status).toBe('done');
      const previous = await w.cred('previous');
      const current = await w.cred('current');
      const hasPassword = async (role: string) => (await psqlAsPostgres(`SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = '${role}';`)).trim() === 't';
      expect(await hasPassword(previous.username)).toBe(true);

      w.clock.advance(60 * 60_000);
      const outcomes = await w.pass();
      expect(outcomes.flatMap((o) => o.cleanups)).toEqual([expect.objectContaining({ revoke: 'done', errorCode: null })]);
      expect(await hasPassword(previous.username)).toBe(false);
      expect(await w.fx.logsIn(previous)).toBe(false);
      expect(await w.fx.logsIn(current)).toBe(true);
      expect((await w.events('secret.cleanup')).map((e) => e.outcome)).toEqual(['intent', 'success']);
    } finally {
      await w.close();
    }
  });
});

describe('script target: keyturn apply', () => {
  it('refuses a target whose argv would carry a password, naming the key; takes the same target without it', async () => {
    const tmp = tempDir();
    try {
      const env = { KEYTURN_HOME: join(tmp.dir, 'home') };
      expect((await runCli(['init'], { env })).code).toBe(0);
      const yaml = (argv: string) => `version: 1\ntargets:\n  svc: { type: script, set: ${argv}, test: [${PROBE}, exit, '0'] }\n`;
      const file = join(tmp.dir, 'keyturn.yaml');
      await writeFile(file, yaml(`[${PROBE}, set, '--password={password}']`));
      const refused = await runCli(['apply', '-f', file], { env });
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toContain('targets.svc.set.2: {password} would put a secret on the command line');
      await writeFile(file, yaml(`[${PROBE}, set, '--user={username}']`));
      const applied = await runCli(['apply', '-f', file], { env });
      expect(applied.code, applied.stderr).toBe(0);
    } finally {
      tmp.remove();
    }
  });
});
