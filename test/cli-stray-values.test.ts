/**
 * Values typed where they do not belong never come back in a message: stray arguments, an
 * unknown option's `=value`, a word that is no command (text and --json); and `--field NAME=-`
 * reads one field from standard input, with a warning when a secret is given on the command line.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { runCli, spawnCli } from './helpers/cli.js';
import { useCliHome } from './helpers/cli-home.js';
import { fakeTty } from './helpers/fake-tty.js';

const VALUE = 'Hunter2!xyzzy';

describe('usage errors do not echo stray arguments', () => {
  const home = useCliHome();
  const cases: string[][] = [
    ['secret', 'put', 'a/b', VALUE],
    ['secret', 'put', 'a/b', VALUE, 'more'],
    ['secret', 'get', 'a/b', VALUE],
    ['status', VALUE],
    ['secret', 'put', 'a/b', `--valeu=${VALUE}`],
    ['secret', 'put', 'a/b', `-${VALUE}`],
    ['secret', VALUE],
    [VALUE],
  ];
  for (const argv of cases) {
    for (const json of [false, true]) {
      it(`${argv.join(' ').replace(VALUE, 'VALUE')}${json ? ' --json' : ''}: exit 2, the value is absent`, async () => {
        const r = await home.kt(json ? [...argv, '--json'] : argv);
        expect(r.code).toBe(2);
        expect(r.stdout + r.stderr).not.toContain(VALUE);
        expect(r.stdout + r.stderr).not.toContain('Hunter2');
        if (json) expect((JSON.parse(r.stderr) as { error: { code: string } }).error.code).toBe('KT_USAGE');
        else expect(r.stderr).toMatch(/^error: /);
      });
    }
  }

  it('names the problem: how many arguments, which ones, and where a value goes', async () => {
    const r = await home.kt(['secret', 'put', 'a/b', VALUE]);
    expect(r.stderr).toContain('secret put takes 1 argument (PATH), got 2; give the value with --stdin, --file or --field');
    expect((await home.kt(['status', 'x'])).stderr).toContain('status takes no arguments, got 1');
  });

  it('a mistyped command or option name is still shown with its suggestion', async () => {
    expect((await runCli(['stauts'])).stderr).toContain("unknown command 'stauts'");
    const r = await home.kt(['secret', 'put', 'a/b', `--valeu=${VALUE}`]);
    expect(r.stderr).toContain("unknown option '--valeu'");
    expect(r.stderr).toContain('--value');
  });
});

describe('--field NAME=- reads one field from standard input; a secret on the command line is warned about', () => {
  const home = useCliHome();
  const PW = 'pw-from-stdin-7f3a';
  const WARNING = /^warning: .*visible in the process list.*--field NAME=-\n$/;
  const fieldsOf = async (path: string) => JSON.parse((await home.kt(['secret', 'get', path])).stdout) as Record<string, string>;

  it('piped in: stores the field, drops one trailing newline, prints no warning', async () => {
    const r = await home.kt(['secret', 'put', 'prod/db/app', '--field', 'username=app', '--field', 'password=-'], `${PW}\n`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout + r.stderr).not.toContain(PW);
    expect(await fieldsOf('prod/db/app')).toEqual({ username: 'app', password: PW });
    // Through a real process too, as in the help's example.
    const p = spawnCli(['secret', 'put', 'prod/db/two', '--field', 'username=app', '--field', 'password=-', '--json'], { env: home.env, stdin: `${PW}\n\n` });
    expect(p.code, p.stderr).toBe(0);
    expect(await fieldsOf('prod/db/two')).toEqual({ username: 'app', password: `${PW}\n` });
  });

  it('at a terminal: asks "Value for field NAME (input hidden): " and echoes nothing', async () => {
    const t = fakeTty({ env: home.env });
    const typeOnce = (): void => {
      if (!t.stderr().includes('(input hidden): ')) return;
      t.io.stderr.off('data', typeOnce);
      t.stdin.write(`${PW}\r`);
    };
    t.io.stderr.on('data', typeOnce);
    const code = await main(['secret', 'put', 'tty/db', '--field', 'username=app', '--field', 'password=-'], t.io);
    expect(code, t.stderr()).toBe(0);
    expect(t.stderr()).toBe('Value for field password (input hidden): \n');
    expect(t.stdout() + t.stderr()).not.toContain(PW);
    expect(await fieldsOf('tty/db')).toEqual({ username: 'app', password: PW });
  });

  it('two fields with -, or - with --stdin, are usage errors (exit 2) and store nothing', async () => {
    const before = home.dump();
    const two = await home.kt(['secret', 'put', 'a/b', '--field', 'password=-', '--field', 'token=-', '--json'], PW);
    expect(two.code).toBe(2);
    expect(JSON.parse(two.stderr)).toMatchObject({ error: { code: 'KT_USAGE' } });
    expect(two.stderr).toContain('only one --field may read standard input');
    const both = await home.kt(['secret', 'put', 'a/b', '--field', 'password=-', '--stdin'], PW);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('leave out --stdin');
    expect(home.dump()).toEqual(before);
  });

  it('an empty field from standard input is refused like an empty --stdin', async () => {
    const r = await home.kt(['secret', 'put', 'a/b', '--field', 'username=app', '--field', 'password=-', '--json'], '\n');
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toMatchObject({ error: { code: 'KT_VALUE_EMPTY' } });
  });

  it('--value and a secret-named --field on the command line get one warning line, not the value; -q silences it', async () => {
    for (const args of [
      ['--value', PW],
      ['--field', 'username=app', '--field', `password=${PW}`],
      ['--field', `api_token=${PW}`],
    ]) {
      const r = await home.kt(['secret', 'put', 'warn/me', ...args]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(WARNING);
      expect(r.stderr).not.toContain(PW);
      const json = await home.kt(['secret', 'put', 'warn/me', ...args, '--json']);
      expect(json.stderr).toMatch(WARNING);
      expect(JSON.parse(json.stdout)).toMatchObject({ path: 'warn/me' });
      const quiet = await home.kt(['secret', 'put', 'warn/me', ...args, '-q']);
      expect(quiet.code).toBe(0);
      expect(quiet.stderr).toBe('');
    }
    const hash = await home.kt(['audit', 'hash', PW]);
    expect(hash.code, hash.stderr).toBe(0);
    expect(hash.stderr).toMatch(WARNING);
  });

  it('fields not named like a secret, and a failing put, print no warning', async () => {
    const plain = await home.kt(['secret', 'put', 'cfg/one', '--field', 'host=db', '--field', 'port=5432']);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toBe('');
    const failing = await home.kt(['secret', 'put', 'a//b', '--value', PW, '--json']);
    expect(failing.code).toBe(2);
    expect(JSON.parse(failing.stderr)).toMatchObject({ error: { code: 'KT_PATH_EMPTY_SEGMENT' } });
  });

  it("put's help shows the stdin field example", async () => {
    const r = await runCli(['secret', 'put', '--help']);
    expect(r.stdout).toContain('printf %s "$PW" | keyturn secret put prod/db/app --field username=app --field password=-');
  });
});
