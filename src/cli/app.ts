/**
 * The CLI's shared plumbing: common options (`--home`, `--json`), settings resolution, opening
 * Keyturn for the length of one command, and the exit-code policy.
 *
 * Exit codes (derived from the error's HTTP status by exitCodeOf, see EXIT_CODES in
 * core/errors.ts): 0 success; 1 failure; 2 usage error or bad input (status 400); 3 what was asked
 * for does not exist (status 404); 4 an endpoint could not be checked (`keyturn cert watch` only:
 * no error code exits 4).
 */
import type { Command } from 'commander';
import { exitCodeOf, KeyturnError } from '../core/errors.js';
import type { Settings } from '../config/settings.js';
import type * as Runtime from './runtime.js';
import type { Keyturn } from '../runtime/keyturn.js';
import type { AuditContext } from '../audit/context.js';
import type { CliIo } from './io.js';
import type { KeyturnClient } from '../client/client.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_NOT_FOUND = 3;
/** `keyturn cert watch`: an endpoint gave no certificate to check (and every one read was fine). */
export const EXIT_UNREACHABLE = 4;

export interface CommonOptions {
  home?: string;
  json?: boolean;
  quiet?: boolean;
}

/** How this command line prints: JSON when --json or KEYTURN_OUTPUT=json is on the line, known before parsing. */
export interface OutputMode {
  json: boolean;
}

export interface CliApp {
  readonly io: CliIo;
  readonly output: OutputMode;
  /** The subcommand named on the line (`get` in `keyturn secret get ...`), so a group can set up only it. */
  subcommand?: string;
  /** How the user runs Keyturn, for the commands it suggests: `npx keyturn` under npx, else `keyturn`. */
  readonly self: string;
  /**
   * The exit code of a command that has printed its whole answer and fails without an error
   * (`keyturn status` on a home that is not initialized); 0 unless a command sets it.
   */
  exitCode: number;
  /** Who runs this command line, for the audit log: the OS user, source `cli`, one correlation id. */
  auditContext(): Promise<AuditContext>;
  /** The settings of this command line: the environment, then `--home`; validated and frozen. */
  settings(opts: CommonOptions): Promise<Settings>;
  /** The runtime (store, engine, audit), imported on first use so that parsing stays fast. */
  runtime(): Promise<typeof Runtime>;
  /** Opens Keyturn, runs `fn`, always closes. */
  withKeyturn<T>(opts: CommonOptions, fn: (kt: Keyturn) => Promise<T>): Promise<T>;
  /** Whether this command line talks to a server (KEYTURN_ADDR is set) instead of a local home. */
  isRemote(opts: CommonOptions): Promise<boolean>;
  /**
   * Runs `fn` with the client of this command line: the server at KEYTURN_ADDR (with
   * KEYTURN_TOKEN), else the local home, opened for `fn` and closed after (a rotation there stops
   * at a step boundary on SIGTERM or SIGINT). The secret, rotate and runs commands go through it.
   */
  withClient<T>(opts: CommonOptions, fn: (client: KeyturnClient) => Promise<T>): Promise<T>;
}

export function createApp(io: CliIo, output: Partial<OutputMode> = {}): CliApp {
  let context: Promise<AuditContext> | undefined;
  const mode: OutputMode = { json: !!output.json };
  const app: CliApp = {
    io,
    output: mode,
    // npm exec (npx) sets npm_command=exec for the program it runs.
    self: io.env.npm_command === 'exec' ? 'npx keyturn' : 'keyturn',
    exitCode: EXIT_OK,
    auditContext: () => (context ??= app.runtime().then((m) => m.cliContext())),
    settings: async (opts) => {
      const { loadSettings } = await app.runtime();
      return loadSettings(io.env, opts.home === undefined ? {} : { home: opts.home });
    },
    runtime: () => import('./runtime.js'),
    withKeyturn: async (opts, fn) => {
      const [settings, { openKeyturn }] = await Promise.all([app.settings(opts), app.runtime()]);
      const kt = await openKeyturn(settings, { audit: await app.auditContext() });
      try {
        return await fn(kt);
      } finally {
        await kt.close();
      }
    },
    isRemote: async (opts) => (await app.settings(opts)).remote !== undefined,
    withClient: async (opts, fn) => {
      const settings = await app.settings(opts);
      // A run started by this command line carries its correlation id, whether here or on the server.
      const { correlationId } = await app.auditContext();
      if (settings.remote) {
        const { remoteClient } = await import('../client/remote.js');
        const client = remoteClient(settings.remote, correlationId === null ? {} : { correlationId });
        try {
          return await fn(client);
        } finally {
          await client.close();
        }
      }
      const { localClient } = await app.runtime();
      return app.withKeyturn(opts, (kt) => fn(localClient(kt, { around: (run) => withGracefulStop(kt, run), correlationId })));
    },
  };
  return app;
}

/**
 * Runs `fn` with SIGTERM and SIGINT asking the engine to stop at the next step boundary instead
 * of killing the process mid-step. Only for the real process (tests pass their own streams).
 */
export async function withGracefulStop<T>(kt: Keyturn, fn: () => Promise<T>): Promise<T> {
  const engine = await kt.engine();
  const stop = () => engine.requestStop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    return await fn();
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

/** Adds the options every command takes (they may also come before the command: see main.ts). */
export function common(cmd: Command): Command {
  return cmd
    .option('--home <dir>', 'Keyturn home folder (default: $KEYTURN_HOME or ~/.keyturn)')
    .option('--json', 'print machine-readable JSON (default with KEYTURN_OUTPUT=json)')
    .option('-q, --quiet', 'print no messages, only the data asked for and errors');
}

export function exitCodeFor(err: KeyturnError): number {
  return exitCodeOf(err.code);
}

/** Collects a repeatable option into an array. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Parses repeated `k=v` options into a record, or throws the given code. */
export function keyValues(pairs: readonly string[] | undefined, code: 'KT_TAG_INVALID'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new KeyturnError(code, 'a --tag is not key=value');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}
