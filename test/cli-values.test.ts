/**
 * What `secret put` (and `audit hash`) take as a value: empty values refused unless
 * --allow-empty, a hidden prompt when --stdin is a terminal, and `--expect-version N`
 * (compare-and-set on the current version). Every refusal leaves the state database unchanged and
 * never shows the value.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { fakeTty, type FakeTty } from './helpers/fake-tty.js';
import { BIN, SPAWN_MS, spawnCli } from './helpers/cli.js';
import { useCliHome } from './helpers/cli-home.js';

const home = useCliHome();
const { kt, dump } = home;
const errorOf = (stderr: string) => (JSON.parse(stderr) as { error: { code: string; message: string; fix: string; details?: Record<string, unknown> } }).error;

/** Runs the CLI on a fake terminal; once the prompt is on stderr, types `keys`. */
async function atTerminal(argv: string[], keys: string | null): Promise<{ code: number; t: FakeTty }> {
  const t = fakeTty({ env: home.env });
  if (keys !== null) {
    const typeOnce = (): void => {
      if (!t.stderr().includes('(input hidden): ')) return;
      t.io.stderr.off('data', typeOnce);
      t.stdin.write(keys);
    };
    t.io.stderr.on('data', typeOnce);
  }
  const code = await main(argv, t.io);
  return { code, t };
}

describe('empty values are refused unless --allow-empty', () => {
  const file = () => join(home.dir, 'empty.txt');
  const cases: Array<[string, string[], string?]> = [
    ['--stdin with nothing piped in (an unset variable)', ['--stdin'], ''],
    ['--stdin with only a newline', ['--stdin'], '\n'],
    ["--value ''", ['--value', '']],
    ['--file of an empty file', ['--file', 'EMPTY_FILE']],
    ['--field password=', ['--field', 'username=app-user', '--field', 'password=']],
    ['a JSON value with an empty field', ['--stdin', '--json-value'], '{"username":"app-user","password":""}'],
    ['a JSON value with no fields', ['--stdin', '--json-value'], '{}'],
  ];
  const argvOf = (args: string[]) => args.map((a) => (a === 'EMPTY_FILE' ? file() : a));

  it.each(cases)('%s: KT_VALUE_EMPTY, exit 2, nothing stored', async (_name, args, stdin) => {
    writeFileSync(file(), '');
    await kt(['secret', 'put', 'ok/one', '--value', 'keep-me']);
    const before = dump();
    for (const path of ['new/secret', 'ok/one']) {
      const r = await kt(['secret', 'put', path, ...argvOf(args), '--json'], stdin);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const error = errorOf(r.stderr);
      expect(error.code).toBe('KT_VALUE_EMPTY');
      expect(error.fix).toContain('--allow-empty');
      expect(r.stderr).not.toContain('app-user');
      expect(dump()).toEqual(before);
    }
    const human = await kt(['secret', 'put', 'new/secret', ...argvOf(args)], stdin);
    expect(human.stderr).toMatch(/^error KT_VALUE_EMPTY: .+; nothing was done\n {2}fix: .*--allow-empty.*\n$/);
    expect(dump()).toEqual(before);
  });

  it('the message says where the empty value came from', async () => {
    expect(errorOf((await kt(['secret', 'put', 'a/b', '--stdin', '--json'], '')).stderr).message).toBe('the value (from standard input) is empty (was the variable piped in unset?); nothing was done');
    const fields = errorOf((await kt(['secret', 'put', 'a/b', '--field', 'user=u', '--field', 'password=', '--field', 'token=', '--json'])).stderr);
    expect(fields.message).toBe('fields password, token (from --field) are empty; nothing was done');
    expect(fields.details).toEqual({ source: '--field', fields: ['password', 'token'] });
  });

  it('--allow-empty stores each of them', async () => {
    writeFileSync(file(), '');
    for (const [i, [, args, stdin]] of cases.entries()) {
      const r = await kt(['secret', 'put', `empty/${i}`, ...argvOf(args), '--allow-empty'], stdin);
      expect(r.code, r.stderr).toBe(0);
    }
    const value = async (i: number) => JSON.parse((await kt(['secret', 'get', `empty/${i}`, '--json'])).stdout).value;
    for (const i of [0, 1, 2, 3]) expect(await value(i)).toBe('');
    expect(await value(4)).toEqual({ username: 'app-user', password: '' });
    expect(await value(6)).toEqual({});
  });

  it('audit hash refuses an empty value too, and hashes one with --allow-empty', async () => {
    const refused = await kt(['audit', 'hash', '--stdin', '--find', '--json'], '');
    expect(refused.code).toBe(2);
    expect(errorOf(refused.stderr).code).toBe('KT_VALUE_EMPTY');
    expect((await kt(['audit', 'hash', '', '--json'])).code).toBe(2);
    expect((await kt(['audit', 'hash', '--field', 'password=', '--json'])).code).toBe(2);

    expect((await kt(['secret', 'put', 'flags/banner', '--value', '', '--allow-empty'])).code).toBe(0);
    const found = await kt(['audit', 'hash', '--stdin', '--allow-empty', '--find', '--json'], '');
    expect(found.code, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).events).toEqual([expect.objectContaining({ action: 'secret.put', path: 'flags/banner' })]);
  });
});

describe('--stdin at a terminal asks for the value, input hidden', () => {
  it('prompts on stderr, stores what is typed, echoes nothing and restores the terminal', async () => {
    const { code, t } = await atTerminal(['secret', 'put', 'tty/token', '--stdin'], 'typed-s3cret\r');
    expect(code, t.stderr()).toBe(0);
    expect(t.stderr()).toBe('Value for tty/token (input hidden): \n');
    expect(t.stdout()).toMatch(/^tty\/token: stored version 1 /);
    expect(t.stdout() + t.stderr()).not.toContain('typed-s3cret');
    expect(t.modes).toEqual([true, false]);
    expect((await kt(['secret', 'get', 'tty/token'])).stdout).toBe('typed-s3cret');
  });

  it('Ctrl-C aborts with KT_INPUT_ABORTED and writes nothing', async () => {
    await kt(['secret', 'put', 'tty/token', '--value', 'old']);
    const before = dump();
    const { code, t } = await atTerminal(['secret', 'put', 'tty/token', '--stdin', '--json'], 'half-typed\u0003');
    expect(code).toBe(2);
    expect(t.stderr()).toMatch(/^Value for tty\/token \(input hidden\): \n/);
    expect(errorOf(t.stderr().split('\n')[1]!).code).toBe('KT_INPUT_ABORTED');
    expect(t.stderr()).not.toContain('half-typed');
    expect(t.modes).toEqual([true, false]);
    expect(dump()).toEqual(before);
  });

  it('Enter alone is an empty value: refused, or stored with --allow-empty', async () => {
    const before = dump();
    const refused = await atTerminal(['secret', 'put', 'tty/empty', '--stdin', '--json'], '\r');
    expect(refused.code).toBe(2);
    expect(refused.t.stderr()).toContain('"KT_VALUE_EMPTY"');
    expect(dump()).toEqual(before);
    expect((await atTerminal(['secret', 'put', 'tty/empty', '--stdin', '--allow-empty'], '\r')).code).toBe(0);
  });

  it('a bad path or option is refused before the prompt', async () => {
    for (const argv of [
      ['secret', 'put', '/tty/token', '--stdin'],
      ['secret', 'put', 'tty/token', '--stdin', '--expect-version', 'x'],
      ['secret', 'put', 'tty/token', '--stdin', '--tag', 'novalue'],
    ]) {
      const { code, t } = await atTerminal(argv, null);
      expect(code).toBe(2);
      expect(t.stderr()).toMatch(/^error KT_/);
      expect(t.modes).toEqual([]);
    }
  });

  it('audit hash asks too', async () => {
    const { code, t } = await atTerminal(['audit', 'hash', '--stdin'], 'typed-s3cret\r');
    expect(code, t.stderr()).toBe(0);
    expect(t.stderr()).toBe('Value to hash (input hidden): \n');
    expect(t.stdout()).toMatch(/^hmac-sha256:/);
  });
});

describe('--expect-version N: compare-and-set on the current version', () => {
  it('writes only while version N is current; 0 only while the secret does not exist', async () => {
    expect((await kt(['secret', 'put', 'cas/k', '--value', 'v1', '--expect-version', '0'])).code).toBe(0);
    const v2 = await kt(['secret', 'put', 'cas/k', '--value', 'v2', '--expect-version', '1', '--json']);
    expect(v2.code, v2.stderr).toBe(0);
    expect(JSON.parse(v2.stdout)).toMatchObject({ path: 'cas/k', version: 2, stages: ['current'] });

    const before = dump();
    const stale = await kt(['secret', 'put', 'cas/k', '--value', 'stale-value', '--expect-version', '1', '--json']);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toBe('');
    expect(errorOf(stale.stderr)).toMatchObject({
      code: 'KT_VERSION_MISMATCH',
      message: 'cas/k: expected current version 1, but its current version is 2; nothing was written',
      details: { path: 'cas/k', expected: 1, actual: 2, exists: true },
    });
    expect(errorOf(stale.stderr).fix).toContain('keyturn secret history PATH');
    const exists = await kt(['secret', 'put', 'cas/k', '--value', 'stale-value', '--expect-version', '0']);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/^error KT_VERSION_MISMATCH: cas\/k: expected no secret there yet \(expected version 0\), but its current version is 2; nothing was written\n {2}fix: .+\n$/);
    const missing = await kt(['secret', 'put', 'cas/none', '--value', 'stale-value', '--expect-version', '3', '--json']);
    expect(errorOf(missing.stderr)).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { expected: 3, actual: 0, exists: false } });
    for (const r of [stale, exists, missing]) expect(r.stderr).not.toContain('stale-value');
    expect(dump()).toEqual(before);

    expect((await kt(['secret', 'put', 'cas/k', '--value', 'v3', '--expect-version', '2'])).code).toBe(0);
    expect((await kt(['secret', 'get', 'cas/k'])).stdout).toBe('v3');
  });

  it('a number that is not a whole number 0 or more is a usage error (exit 2) and nothing is read or written', async () => {
    await kt(['secret', 'put', 'cas/k', '--value', 'v1']);
    const before = dump();
    for (const n of ['abc', '-1', '1.5', '', '1e3', ' 1', '0x1', '99999999999999999999']) {
      const r = await kt(['secret', 'put', 'cas/k', '--stdin', `--expect-version=${n}`, '--json'], 'never-read');
      expect(r.code, `--expect-version=${n}`).toBe(2);
      expect(errorOf(r.stderr).code).toBe('KT_USAGE');
      expect(r.stderr).not.toContain('never-read');
    }
    // Written apart, "-1" is taken for an option by the parser: still a usage error.
    expect((await kt(['secret', 'put', 'cas/k', '--value', 'v', '--expect-version', '-1'])).code).toBe(2);
    expect(dump()).toEqual(before);
  });

  it('two processes racing with the same expected version: one writes, the other is refused', async () => {
    await kt(['secret', 'put', 'cas/race', '--value', 'v1']);
    // Separate processes, as in real use (node:sqlite waits for a lock synchronously, so two
    // connections in one thread cannot race).
    const [a, b] = await Promise.all(['a', 'b'].map((v) => spawnAsync(['secret', 'put', 'cas/race', '--value', `value-${v}`, '--expect-version', '1', '--json'])));
    expect([a!.code, b!.code].sort()).toEqual([0, 1]);
    const loser = a!.code === 1 ? a! : b!;
    expect(errorOf(loser.stderr)).toMatchObject({ code: 'KT_VERSION_MISMATCH', details: { expected: 1, actual: 2 } });
    expect(JSON.parse((await kt(['secret', 'ls', '--json'])).stdout)).toEqual([expect.objectContaining({ path: 'cas/race', versions: 2, current: expect.objectContaining({ version: 2 }) })]);
    const winner = a!.code === 0 ? 'value-a' : 'value-b';
    expect((await kt(['secret', 'get', 'cas/race'])).stdout).toBe(winner);
  });
});

/** Like spawnCli, without blocking: for commands that must run side by side. */
function spawnAsync(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], { env: { PATH: process.env.PATH ?? '', ...home.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe('through bin/keyturn.js', () => {
  it('refuses an unset variable piped in and a stale --expect-version, and shows the new options in --help', { timeout: 8 * SPAWN_MS }, () => {
    const help = spawnCli(['secret', 'put', '--help']);
    expect(help.stdout).toContain('--allow-empty');
    expect(help.stdout).toContain('--expect-version <n>');
    expect(help.stdout).toMatch(/Examples:[\s\S]*--expect-version 0[\s\S]*--allow-empty/);

    const empty = spawnCli(['secret', 'put', 'bin/token', '--stdin'], { env: home.env, stdin: '' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/^error KT_VALUE_EMPTY: .+\n {2}fix: .*--allow-empty.*\n$/);
    expect(spawnCli(['secret', 'ls', '--json'], { env: home.env }).stdout).toBe('[]\n');

    expect(spawnCli(['secret', 'put', 'bin/token', '--stdin', '--expect-version', '0'], { env: home.env, stdin: 'first\n' }).code).toBe(0);
    const stale = spawnCli(['secret', 'put', 'bin/token', '--stdin', '--expect-version', '0'], { env: home.env, stdin: 'second\n' });
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain('error KT_VERSION_MISMATCH: bin/token: expected no secret there yet');
    expect(stale.stderr).not.toContain('second');
    expect(spawnCli(['secret', 'put', 'bin/token', '--value', 'v', '--expect-version', 'one'], { env: home.env }).code).toBe(2);
    expect(spawnCli(['secret', 'get', 'bin/token'], { env: home.env }).stdout).toBe('first');
  });
});
