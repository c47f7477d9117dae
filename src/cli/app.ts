/**
 * The CLI's shared plumbing: common options (`--home`, `--json`), settings resolution, opening
 * Keyturn for the length of one command, and the exit-code policy.
 *
 * Exit codes: 0 success; 1 failure; 2 usage error (bad arguments or bad input: any KT_ code whose
 * HTTP status is 400).
 */
import type { Command } from 'commander';
import { exitCodeOf, KeyturnError } from '../core/errors.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { openKeyturn, type Keyturn } from '../runtime/keyturn.js';
import { cliContext, type AuditContext } from '../audit/context.js';
import type { CliIo } from './io.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface CommonOptions {
  home?: string;
  json?: boolean;
}

export interface CliApp {
  readonly io: CliIo;
  /** Who runs this command line, for the audit log: the OS user, source `cli`, one correlation id. */
  readonly context: AuditContext;
  settings(opts: CommonOptions): Settings;
  /** Opens Keyturn, runs `fn`, always closes. */
  withKeyturn<T>(opts: CommonOptions, fn: (kt: Keyturn) => Promise<T>): Promise<T>;
}

export function createApp(io: CliIo): CliApp {
  const app: CliApp = {
    io,
    context: cliContext(),
    settings: (opts) => loadSettings(io.env, opts.home === undefined ? {} : { home: opts.home }),
    withKeyturn: async (opts, fn) => {
      const kt = await openKeyturn(app.settings(opts), { audit: app.context });
      try {
        return await fn(kt);
      } finally {
        await kt.close();
      }
    },
  };
  return app;
}

/**
 * Runs `fn` with SIGTERM and SIGINT asking the engine to stop at the next step boundary instead
 * of killing the process mid-step. Only for the real process (tests pass their own streams).
 */
export async function withGracefulStop<T>(kt: Keyturn, fn: () => Promise<T>): Promise<T> {
  const stop = () => kt.engine().requestStop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    return await fn();
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
  }
}

/** Adds the options every command takes. */
export function common(cmd: Command): Command {
  return cmd.option('--home <dir>', 'Keyturn home folder (default: $KEYTURN_HOME or ~/.keyturn)').option('--json', 'print machine-readable JSON');
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
