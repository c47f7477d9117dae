/**
 * Values typed where they do not belong never come back in a message: stray arguments, an
 * unknown option's `=value`, a word that is no command (text and --json); and `--field NAME=-`
 * reads one field from standard input, with a warning when a secret is given on the command line.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { useCliHome } from './helpers/cli-home.js';

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
