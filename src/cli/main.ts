/**
 * The `keyturn` command line. `main(argv, io)` runs one command and returns the exit code, so
 * tests drive the CLI in-process with their own streams and environment.
 *
 * @example
 * ```ts
 * const code = await main(['secret', 'get', 'prod/db/app', '--json']);
 * ```
 */
import { Command, CommanderError } from 'commander';
import { KeyturnError, isKeyturnError } from '../core/errors.js';
import { createApp, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, exitCodeFor } from './app.js';
import { emitError, processIo, type CliIo } from './io.js';
import { registerInit } from './commands/init.js';
import { registerStatus } from './commands/status.js';
import { registerKey } from './commands/key.js';
import { registerSecret } from './commands/secret/index.js';
import { registerQuickstart } from './commands/quickstart.js';
import { registerApply } from './commands/apply.js';
import { registerRotate } from './commands/rotate.js';
import { registerRuns } from './commands/runs.js';
import { registerAudit } from './commands/audit.js';

const VERSION = '0.1.0';

export function buildProgram(io: CliIo): Command {
  const app = createApp(io);
  const program = new Command('keyturn')
    .description('Store, rotate, deliver and audit secrets without locking anyone out.')
    .version(VERSION, '-V, --version')
    .enablePositionalOptions()
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Environment:
  KEYTURN_HOME            home folder with root.key and keyturn.db (default ~/.keyturn)
  KEYTURN_DATABASE_URL    postgres:// URL of a shared state database (default: SQLite in the home)
  KEYTURN_ROOT_KEY        base64 root key, instead of root.key
  KEYTURN_LOG_LEVEL       log level on stderr (default warn); logs never contain secret values

Exit codes: 0 ok, 1 failure, 2 usage error or bad input.
Docs: docs/errors.md lists every KT_ error code and its fix.`,
    );
  program.exitOverride();
  program.configureOutput({
    writeOut: (s) => io.stdout.write(s),
    writeErr: (s) => io.stderr.write(s),
  });
  registerInit(program, app);
  registerQuickstart(program, app);
  registerSecret(program, app);
  registerApply(program, app);
  registerRotate(program, app);
  registerRuns(program, app);
  registerAudit(program, app);
  registerKey(program, app);
  registerStatus(program, app);
  // Every subcommand reports through the same streams and never exits the process itself.
  const configure = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    cmd.showHelpAfterError('(run with --help for usage)');
    cmd.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/** Runs one command line; returns the process exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const program = buildProgram(io);
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT_OK;
      // commander already printed its message; with --json, add a structured one.
      if (json) emitError(io, true, new KeyturnError('KT_USAGE', e.message.replace(/^error: /, '')));
      return e.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const err = isKeyturnError(e) ? e : internal(e);
    emitError(io, json, err);
    if (err.code === 'KT_INTERNAL' && io.env.KEYTURN_LOG_LEVEL === 'debug' && e instanceof Error && e.stack) io.stderr.write(`${e.stack}\n`);
    return isKeyturnError(e) ? exitCodeFor(err) : EXIT_FAILURE;
  }
}

function internal(e: unknown): KeyturnError {
  const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new KeyturnError('KT_INTERNAL', message, { cause: e });
}
