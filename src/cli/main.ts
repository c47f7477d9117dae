/**
 * The `keyturn` command line. `main(argv, io)` runs one command and returns the exit code, so
 * tests drive the CLI in-process with their own streams and environment.
 *
 * Start-up is kept small: only the module of the command being run is imported (see
 * ./commands/index.ts), and that module imports the store, the engine or a driver only inside its
 * action. `keyturn --version` and `keyturn --help` load commander and this file, nothing more.
 *
 * Global options (`--home DIR`, `--json`, `-q/--quiet`) may come before or after the command:
 * `keyturn --json secret ls` is `keyturn secret ls --json`. `KEYTURN_OUTPUT=json` makes --json
 * the default.
 *
 * @example
 * ```ts
 * const code = await main(['secret', 'get', 'prod/db/app', '--json']);
 * ```
 */
import { Command, CommanderError } from 'commander';
import { EXIT_CODES, KeyturnError, isKeyturnError } from '../core/errors.js';
import { ENV_VARS, envVarsHelp } from '../config/env-vars.js';
import { guardArguments } from './arguments.js';
import { createApp, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitCodeFor, type CliApp } from './app.js';
import { COMMANDS, type CommandEntry } from './commands/index.js';
import { emitError, processIo, type CliIo } from './io.js';
import { cliVersion } from './version.js';

/** Options every command takes, wherever they stand on the line; `value` ones take an argument. */
const GLOBAL_OPTIONS: ReadonlyArray<{ flags: readonly string[]; value: boolean }> = [
  { flags: ['--home'], value: true },
  { flags: ['--json'], value: false },
  { flags: ['-q', '--quiet'], value: false },
];

function globalOption(arg: string): { value: boolean; inline: boolean } | undefined {
  for (const o of GLOBAL_OPTIONS) {
    for (const f of o.flags) {
      if (arg === f) return { value: o.value, inline: false };
      if (o.value && arg.startsWith(`${f}=`)) return { value: true, inline: true };
    }
  }
  return undefined;
}

/**
 * Moves global options written before the command to its end, where every command accepts them,
 * and finds the command's name. `--` ends the options as usual.
 */
export function normalizeArgv(argv: readonly string[]): { argv: string[]; command: string | undefined; subcommand?: string } {
  const leading: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const arg = argv[i]!;
    const g = globalOption(arg);
    if (!g) break;
    leading.push(arg);
    if (g.value && !g.inline && i + 1 < argv.length) leading.push(argv[++i]!);
    i += 1;
  }
  const rest = argv.slice(i);
  const first = rest[0];
  const command = first !== undefined && !first.startsWith('-') ? first : undefined;
  const second = rest[1];
  const subcommand = command !== undefined && second !== undefined && !second.startsWith('-') ? second : undefined;
  // `keyturn --json` alone, or before --help/--version: leave the line as written.
  if (command === undefined) return { argv: [...argv], command };
  const dashdash = rest.indexOf('--');
  const out = dashdash === -1 ? [...rest, ...leading] : [...rest.slice(0, dashdash), ...leading, ...rest.slice(dashdash)];
  return { argv: out, command, ...(subcommand === undefined ? {} : { subcommand }) };
}

function entryFor(name: string | undefined): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name ?? ''));
}

/**
 * The program with the commands it needs: the one named on the line (imported now), or, for the
 * top-level help and unknown commands, every command as a name and summary only.
 */
export async function buildProgram(io: CliIo, command: string | undefined, app: CliApp = createApp(io)): Promise<Command> {
  const program = new Command('keyturn')
    .description('Store, rotate, deliver and audit secrets without locking anyone out.')
    .version(cliVersion(), '-V, --version')
    .usage('[--home DIR] [--json] [-q] <command> [options]')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Global options, before or after the command: --home DIR, --json, -q/--quiet.
Every command has --help with examples: keyturn secret put --help.
Tab completion for bash, zsh and fish: keyturn completion --help.

Examples:
  keyturn quickstart
  keyturn secret ls --json
  keyturn --home /srv/keyturn status

Environment:
${envVarsHelp()}

Exit codes: ${EXIT_CODES.map((e) => `${e.code} ${e.short}`).join(', ')} (see docs/errors.md for every KT_ code).`,
    );
  const wanted = entryFor(command === 'help' ? undefined : command);
  if (wanted) (await wanted.load())(program, app);
  else for (const c of COMMANDS) program.command(c.name).summary(c.summary).description(c.summary);
  // Every command reports through the same streams and never exits the process itself.
  const configure = (cmd: Command): void => {
    cmd.exitOverride();
    guardArguments(cmd);
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => (app.output.json ? undefined : io.stderr.write(s)) });
    cmd.showHelpAfterError(app.output.json ? false : '(run with --help for usage)');
    cmd.commands.forEach(configure);
  };
  configure(program);
  program.hook('preAction', (_root, action) => {
    const opts = action.opts() as { json?: boolean; quiet?: boolean };
    if (opts.json === undefined && app.output.json) action.setOptionValue('json', true);
    if (opts.quiet) io.quiet = true;
  });
  return program;
}

/** The output format asked for before parsing (so a usage error can already be JSON). */
function wantsJson(argv: readonly string[], env: CliIo['env']): boolean {
  const dashdash = argv.indexOf('--');
  return (dashdash === -1 ? argv : argv.slice(0, dashdash)).includes('--json') || env.KEYTURN_OUTPUT === 'json';
}

/** Runs one command line; returns the process exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const json = wantsJson(argv, io.env);
  const app = createApp(io, { json });
  try {
    const output = io.env.KEYTURN_OUTPUT;
    const checked = output ? ENV_VARS.find((v) => v.name === 'KEYTURN_OUTPUT')!.check(output) : undefined;
    if (checked && 'problem' in checked) throw new KeyturnError('KT_CONFIG_INVALID', `KEYTURN_OUTPUT: ${checked.problem}`);
    const line = normalizeArgv(argv);
    if (line.subcommand !== undefined) app.subcommand = line.subcommand;
    const program = await buildProgram(io, line.command, app);
    await program.parseAsync(line.argv, { from: 'user' });
    return app.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      if (e.exitCode === 0) return EXIT_OK;
      // Without --json commander printed its message already; with it, only this JSON object is printed.
      if (json) emitError(io, true, new KeyturnError('KT_USAGE', e.message.replace(/^error: /, '')));
      return EXIT_USAGE;
    }
    const err = isKeyturnError(e) ? e : internal(e);
    emitError(io, json, err, app.self);
    if (err.code === 'KT_INTERNAL' && io.env.KEYTURN_LOG_LEVEL === 'debug' && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return isKeyturnError(e) ? exitCodeFor(err) : EXIT_FAILURE;
  }
}

function internal(e: unknown): KeyturnError {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new KeyturnError('KT_INTERNAL', message, { cause: e });
}
