/**
 * The help of every command, read from the whole command tree (every entry of COMMANDS loaded):
 * each has examples, and each example is a command line the tree accepts (its commands, options
 * and choices exist); no default prints as a quoted number and every option says what it is for.
 * Then: number options refused as usage errors, and the shell completion scripts run in a real
 * shell. What each command's module loads is checked in cli-startup.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { Command, type Option } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/cli/app.js';
import { COMMANDS } from '../src/cli/commands/index.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/state.js';

/** Options main.ts accepts anywhere on the line, before the command too. */
const GLOBAL_OPTIONS = new Set(['--home', '--json', '-q', '--quiet']);

async function loadTree(): Promise<Command> {
  const app = createApp({ stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]), env: {} });
  const program = new Command('keyturn');
  for (const entry of COMMANDS) (await entry.load())(program, app);
  return program;
}

function walk(cmd: Command, path: string[] = []): Array<{ path: string[]; cmd: Command }> {
  return cmd.commands.flatMap((c) => [{ path: [...path, c.name()], cmd: c }, ...walk(c, [...path, c.name()])]);
}

function options(cmd: Command): readonly Option[] {
  return cmd.createHelp().visibleOptions(cmd);
}

/** The lines of a help's Examples section, without their indent. */
function examples(help: string): string[] {
  const at = help.indexOf('\nExamples:\n');
  if (at === -1) return [];
  const out: string[] = [];
  for (const line of help.slice(at + '\nExamples:\n'.length).split('\n')) {
    if (!line.startsWith('  ')) break;
    out.push(line.trim());
  }
  return out;
}

/**
 * The simple commands of a shell line, as words: enough shell for help examples (quotes,
 * `$(...)` and `<(...)`, pipes, `;`, `&&`, redirections and comments). A substitution is the word
 * `X` in its command, and its own commands are listed too.
 */
export function shellCommands(src: string): string[][] {
  const commands: string[][] = [];
  let i = 0;
  const list = (end?: string): void => {
    let words: string[] = [];
    let word = '';
    let inWord = false;
    let dropNext = false;
    const endWord = () => {
      if (inWord && !dropNext) words.push(word);
      else if (inWord) dropNext = false;
      word = '';
      inWord = false;
    };
    const endCommand = () => {
      endWord();
      if (words.length) commands.push(words);
      words = [];
    };
    while (i < src.length) {
      const c = src[i]!;
      if (end !== undefined && c === end) {
        i += 1;
        endCommand();
        return;
      }
      if (c === ' ' || c === '\t') {
        endWord();
        i += 1;
      } else if (c === '#' && !inWord) {
        i = src.length;
      } else if (c === '|' || c === ';' || c === '&') {
        endCommand();
        i += 1;
      } else if ((c === '<' || c === '>') && src[i + 1] === '(') {
        endWord();
        i += 2;
        list(')');
        words.push('X');
      } else if (c === '<' || c === '>') {
        endWord();
        i += src[i + 1] === c ? 2 : 1;
        dropNext = true;
      } else if (c === "'") {
        const close = src.indexOf("'", i + 1);
        word += src.slice(i + 1, close);
        inWord = true;
        i = close + 1;
      } else if (c === '"') {
        inWord = true;
        i += 1;
        while (i < src.length && src[i] !== '"') {
          if (src[i] === '$' && src[i + 1] === '(') {
            i += 2;
            list(')');
            word += 'X';
          } else if (src[i] === '\\') {
            word += src[i + 1];
            i += 2;
          } else {
            word += src[i];
            i += 1;
          }
        }
        i += 1;
      } else if (c === '$' && src[i + 1] === '(') {
        i += 2;
        list(')');
        word += 'X';
        inWord = true;
      } else {
        word += c === '\\' ? (src[++i] ?? '') : c;
        inWord = true;
        i += 1;
      }
    }
    endCommand();
  };
  list();
  return commands;
}

/** Why the tree refuses `keyturn ARGS`, or null when it accepts it. */
function refusal(tree: Command, args: readonly string[]): string | null {
  let cmd = tree;
  let positionals = 0;
  let endOfOptions = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!endOfOptions && arg === '--') {
      endOfOptions = true;
    } else if (!endOfOptions && arg.startsWith('-')) {
      const flag = arg.split('=')[0]!;
      const option = options(cmd).find((o) => o.short === flag || o.long === flag);
      if (!option && !GLOBAL_OPTIONS.has(flag)) return `${cmd.name()} has no option ${flag}`;
      const takesValue = option ? option.required || option.optional : flag === '--home';
      if (takesValue && !arg.includes('=')) {
        const value = args[++i];
        if (value === undefined) return `${flag} needs a value`;
        if (option?.argChoices && !option.argChoices.includes(value)) return `${flag} does not take ${value}`;
      }
    } else {
      const sub = positionals === 0 ? cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg)) : undefined;
      if (sub) {
        cmd = sub;
        continue;
      }
      // A variadic last argument (`<endpoint...>`) takes every word after it.
      const last = cmd.registeredArguments.at(-1);
      const argument = cmd.registeredArguments[positionals] ?? (last?.variadic ? last : undefined);
      if (!argument) return `${cmd.name()} takes no argument ${arg}`;
      if (argument.argChoices && !argument.argChoices.includes(arg)) return `${cmd.name()} does not take ${arg}`;
      positionals += 1;
    }
  }
  if (cmd === tree) return 'no command';
  const required = cmd.registeredArguments.filter((a) => a.required).length;
  if (positionals < required) return `${cmd.name()} needs ${required} argument(s)`;
  if (cmd.commands.length > 0 && cmd.registeredArguments.length === 0) return `${cmd.name()} needs a subcommand`;
  for (const o of cmd.options) if (o.mandatory && !args.some((a) => a === o.long || a === o.short || a.startsWith(`${o.long}=`))) return `${cmd.name()} needs ${o.long}`;
  return null;
}

let tree: Command;
let commands: Array<{ path: string[]; cmd: Command; help: string }>;
let topHelp: string;

beforeAll(async () => {
  tree = await loadTree();
  commands = [];
  for (const { path, cmd } of walk(tree)) {
    const r = await runCli([...path, '--help']);
    expect(r.code, path.join(' ')).toBe(0);
    commands.push({ path, cmd, help: r.stdout });
  }
  topHelp = (await runCli(['--help'])).stdout;
});

describe('the command tree', () => {
  it('has every entry of COMMANDS, with its subcommands', () => {
    expect(tree.commands.map((c) => c.name())).toEqual(COMMANDS.map((c) => c.name));
    const paths = commands.map((c) => c.path.join(' '));
    for (const p of ['secret put', 'secret rm', 'runs show', 'audit tail', 'audit verify', 'key rotate-root', 'completion']) expect(paths).toContain(p);
    expect(commands.length).toBeGreaterThan(30);
  });

  it('top-level help lists every command and has examples of the installed command', () => {
    for (const c of COMMANDS) expect(topHelp).toMatch(new RegExp(`^  ${c.name}\\b.*${c.summary.slice(0, 20).replace(/[()]/g, '\\$&')}`, 'm'));
    const lines = examples(topHelp);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^keyturn /);
    for (const line of lines) expect(refusal(tree, shellCommands(line)[0]!.slice(1)), line).toBeNull();
  });
});

describe('every command and subcommand help', () => {
  it('has an Examples section with at least one keyturn command line', () => {
    const missing = commands.filter((c) => !c.help.includes('\nExamples:\n') || !examples(c.help).some((l) => shellCommands(l).some((w) => w.includes('keyturn'))));
    expect(missing.map((c) => c.path.join(' '))).toEqual([]);
  });

  it('has examples the command tree accepts: each command, option and choice exists', () => {
    const bad: string[] = [];
    let checked = 0;
    for (const c of commands) {
      for (const line of examples(c.help)) {
        expect(line, `${c.path.join(' ')}: an example runs npx keyturn or a path to it`).not.toMatch(/npx keyturn|bin\/keyturn/);
        for (const words of shellCommands(line)) {
          const at = words.findIndex((w) => !/^[A-Z_][A-Z0-9_]*=/.test(w));
          if (words[at] !== 'keyturn') continue;
          checked += 1;
          const why = refusal(tree, words.slice(at + 1));
          if (why) bad.push(`${c.path.join(' ')}: "${line}": ${why}`);
        }
      }
    }
    expect(bad).toEqual([]);
    expect(checked).toBeGreaterThan(commands.length);
  });

  it('prints no default as a quoted number, and no option has a numeric string default', () => {
    for (const c of commands) {
      expect(c.help, c.path.join(' ')).not.toMatch(/\(default: "-?\d+(\.\d+)?"\)/);
      for (const o of c.cmd.options) {
        if (typeof o.defaultValue === 'string') expect(o.defaultValue, `${c.path.join(' ')} ${o.flags}`).not.toMatch(/^-?\d+(\.\d+)?$/);
      }
    }
    expect(commands.find((c) => c.path.join(' ') === 'runs')!.help).toMatch(/--limit <n>.*\(default: 50\)/s);
    expect(commands.find((c) => c.path.join(' ') === 'audit tail')!.help).toMatch(/--lines <n>.*\(default: 20\)/s);
  });

  it('describes every option and every subcommand', () => {
    const undescribed: string[] = [];
    for (const c of commands) {
      if (!c.cmd.description().trim()) undescribed.push(c.path.join(' '));
      for (const o of options(c.cmd)) if (!o.description.trim()) undescribed.push(`${c.path.join(' ')} ${o.flags}`);
    }
    expect(undescribed).toEqual([]);
  });
});

describe('number options: a bad value is a usage error', () => {
  let home: ReturnType<typeof tempDir>;
  beforeAll(() => {
    home = tempDir();
  });
  afterAll(() => home.remove());

  const cases: Array<[string[], string, string]> = [
    [['runs', '--limit', 'abc'], "option '--limit <n>' argument 'abc' is invalid", '--limit takes a whole number from 1 to 10000.'],
    [['runs', '--limit', '0'], "option '--limit <n>' argument '0' is invalid", '--limit takes a whole number from 1 to 10000.'],
    [['audit', 'tail', '-n', 'x'], "option '-n, --lines <n>' argument 'x' is invalid", '--lines takes a whole number, 0 or more.'],
    [['audit', 'tail', '--interval', '5'], "option '--interval <ms>' argument '5' is invalid", '--interval takes a whole number from 10 to 3600000.'],
    [['audit', 'tail', '--max', '0'], "option '--max <n>' argument '0' is invalid", '--max takes a whole number, 1 or more.'],
    [['rotate', '--all', '--yes', '--concurrency', '0'], "option '--concurrency <n>' argument '0' is invalid", '--concurrency takes a whole number from 1 to 64.'],
    [['rotate', '--all', '--yes', '--concurrency', '65'], "option '--concurrency <n>' argument '65' is invalid", '--concurrency takes a whole number from 1 to 64.'],
    [['secret', 'rm', 'a/b', '--recovery-days', 'abc'], "option '--recovery-days <days>' argument 'abc' is invalid", '--recovery-days takes a whole number from 7 to 90.'],
    [['secret', 'rm', 'a/b', '--recovery-days', '3'], "option '--recovery-days <days>' argument '3' is invalid", '--recovery-days takes a whole number from 7 to 90.'],
    [['audit', 'export', '--hours', 'abc', '--output', 'x.jsonl'], "option '--hours <n>' argument 'abc' is invalid", '--hours takes a number, 0 or more.'],
    [['audit', 'export', '--since', 'yesterday', '--output', 'x.jsonl'], "option '--since <time>' argument 'yesterday' is invalid", '--since takes an RFC 3339 time such as 2025-01-02T00:00:00Z.'],
  ];

  it.each(cases)('keyturn %j', async (argv, what, range) => {
    const env = { KEYTURN_HOME: home.dir };
    const human = await runCli(argv, { env });
    expect(human.code).toBe(2);
    expect(human.stdout).toBe('');
    expect(human.stderr).toBe(`error: ${what}. ${range}\n(run with --help for usage)\n`);

    for (const json of [await runCli([...argv, '--json'], { env }), await runCli(['--json', ...argv], { env }), await runCli(argv, { env: { ...env, KEYTURN_OUTPUT: 'json' } })]) {
      expect(json.code).toBe(2);
      expect(json.stdout).toBe('');
      expect(json.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'KT_USAGE', message: `${what}. ${range}`, fix: expect.any(String), status: 400 } });
    }
    // Refused while parsing: the home was not even created.
    expect(readdirSync(home.dir)).toEqual([]);
  });

  it('a good value reaches the command as a number', async () => {
    const env = { KEYTURN_HOME: join(home.dir, 'ok') };
    expect((await runCli(['init'], { env })).code).toBe(0);
    expect((await runCli(['secret', 'put', 'a/b', '--value', 'v'], { env })).code).toBe(0);
    const rm = await runCli(['secret', 'rm', 'a/b', '--recovery-days', '7', '--json'], { env });
    expect(rm.code, rm.stderr).toBe(0);
    const info = JSON.parse(rm.stdout) as { deletedAt: string; purgeAfter: string };
    expect(Date.parse(info.purgeAfter) - Date.parse(info.deletedAt)).toBe(7 * 86_400_000);
    const runs = await runCli(['runs', '--limit', '5', '--json'], { env });
    expect(runs).toMatchObject({ code: 0, stdout: '[]\n' });
    const tail = await runCli(['audit', 'tail', '-n', '2', '--json'], { env });
    expect(tail.code, tail.stderr).toBe(0);
    expect(tail.stdout.trimEnd().split('\n')).toHaveLength(2);
  });
});

function hasShell(name: string): boolean {
  return !spawnSync(name, ['-c', 'exit 0']).error;
}

describe('keyturn completion', () => {
  let dir: ReturnType<typeof tempDir>;
  const scripts: Record<string, string> = {};
  beforeAll(async () => {
    dir = tempDir();
    for (const shell of ['bash', 'zsh', 'fish']) {
      const r = await runCli(['completion', shell]);
      expect(r.code, r.stderr).toBe(0);
      scripts[shell] = r.stdout;
      writeFileSync(join(dir.dir, `keyturn.${shell}`), r.stdout);
    }
  });
  afterAll(() => dir.remove());

  /** What the bash script completes for a command line whose last word is being typed. */
  function bashComplete(words: string[], cwd = dir.dir): string[] {
    const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _keyturn; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', script, 'bash', join(dir.dir, 'keyturn.bash'), ...words], { cwd, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout.split('\n').filter((l) => l !== '');
  }

  it('bash: completes commands, subcommands, aliases and options', () => {
    expect(bashComplete(['keyturn', 'sec'])).toEqual(['secret']);
    expect(bashComplete(['keyturn', 'secret', 'g'])).toEqual(['get']);
    expect(bashComplete(['keyturn', ''])).toEqual(COMMANDS.map((c) => c.name));
    expect(bashComplete(['keyturn', 'secret', 'del'])).toEqual(['delete']);
    expect(bashComplete(['keyturn', 'secret', 'delete', 'a/b', '--rec'])).toEqual(['--recovery-days']);
    expect(bashComplete(['keyturn', 'audit', 'tail', '-n', '5', '--f'])).toEqual(['--follow']);
    expect(bashComplete(['keyturn', 'runs', 's'])).toEqual(['show']);
    expect(bashComplete(['keyturn', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
  });

  it('bash: skips global options and option values to find the command', () => {
    expect(bashComplete(['keyturn', '--home', '/tmp', 'secret', 'g'])).toEqual(['get']);
    expect(bashComplete(['keyturn', '--json', '-q', 'secret', 'g'])).toEqual(['get']);
    expect(bashComplete(['keyturn', 'secret', 'put', '--type', 'secret', 'a/b', '--st'])).toEqual(['--stdin', '--stage']);
    expect(bashComplete(['keyturn', 'secret', 'get', '--', ''])).toEqual([]);
  });

  it('bash: completes option values: choices, files and folders', () => {
    mkdirSync(join(dir.dir, 'homes'));
    writeFileSync(join(dir.dir, 'keyturn.yaml'), 'version: 1\n');
    expect(bashComplete(['keyturn', 'secret', 'get', 'a/b', '--stage', 'p'])).toEqual(['pending', 'previous']);
    expect(bashComplete(['keyturn', 'secret', 'put', 'a/b', '--stage', '=', 'c'])).toEqual(['current']);
    expect(bashComplete(['keyturn', 'secret', 'put', 'a/b', '--stage=c'])).toEqual(['--stage=current']);
    expect(bashComplete(['keyturn', 'apply', '-f', 'keyturn.y'])).toEqual(['keyturn.yaml']);
    expect(bashComplete(['keyturn', '--home', 'hom'])).toEqual(['homes']);
    expect(bashComplete(['keyturn', 'secret', 'put', 'a/b', '--value', ''])).toEqual([]);
  });

  it('bash: registers itself for keyturn', () => {
    const r = spawnSync('bash', ['--norc', '--noprofile', '-c', 'source "$1"; complete -p keyturn', 'bash', join(dir.dir, 'keyturn.bash')], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('complete -F _keyturn keyturn');
  });

  it('zsh and fish: the scripts name every command, subcommand and option', () => {
    const leaves = commandsAndOptions();
    for (const shell of ['zsh', 'fish']) {
      for (const c of COMMANDS) expect(scripts[shell], `${shell}: ${c.name}`).toContain(shell === 'zsh' ? `'${c.name}:${c.summary}` : `-a '${c.name}' -d`);
      for (const { path, flags } of leaves) {
        expect(scripts[shell], `${shell}: ${path}`).toContain(`'${path}'`);
        for (const f of flags) expect(scripts[shell], `${shell}: ${path} ${f}`).toContain(shell === 'zsh' ? `'${f}:` : f.startsWith('--') ? `-l '${f.slice(2)}'` : `-s '${f.slice(1)}'`);
      }
    }
    expect(scripts.zsh).toMatch(/^#compdef keyturn\n/);
    expect(scripts.zsh).toContain('compdef _keyturn keyturn');
    expect(scripts.fish).toContain("complete -c keyturn -n '__keyturn_at \"keyturn secret\"' -a 'get'");
  });

  function commandsAndOptions(): Array<{ path: string; flags: string[] }> {
    return commands.map((c) => ({ path: `keyturn ${c.path.join(' ')}`, flags: options(c.cmd).flatMap((o) => [o.short, o.long].filter((f): f is string => !!f)) }));
  }

  it.skipIf(!hasShell('zsh'))('zsh: the script parses (zsh -n); skipped when zsh is not installed on this machine', () => {
    const r = spawnSync('zsh', ['-n', join(dir.dir, 'keyturn.zsh')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it.skipIf(!hasShell('fish'))('fish: the script parses (fish -n); skipped when fish is not installed on this machine', () => {
    const r = spawnSync('fish', ['-n', join(dir.dir, 'keyturn.fish')], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('an unknown or missing shell is a usage error; --json wraps the script', async () => {
    const bad = await runCli(['completion', 'tcsh']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("command-argument value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.");
    const badJson = await runCli(['completion', 'tcsh', '--json']);
    expect(badJson.code).toBe(2);
    expect(JSON.parse(badJson.stderr).error.code).toBe('KT_USAGE');
    expect((await runCli(['completion'])).code).toBe(2);
    const json = await runCli(['completion', 'bash', '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ shell: 'bash', script: scripts.bash });
  });
});
