/**
 * An initialized Keyturn home for each test of a CLI suite: a temp folder, `keyturn init` in it
 * before each test, removed after. `kt` runs the CLI in-process on it; `dump` is every row of
 * its state database (test/helpers/state-dump.ts) for before/after comparisons.
 *
 * @example
 * ```ts
 * const home = useCliHome();
 * it('refuses', async () => {
 *   const before = home.dump();
 *   expect((await home.kt(['secret', 'put', 'a/b', '--value', ''])).code).toBe(2);
 *   expect(home.dump()).toEqual(before);
 * });
 * ```
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { runCli, type CliResult } from './cli.js';
import { dumpState } from './state-dump.js';
import { tempDir } from './state.js';

export interface CliHome {
  /** The home folder (KEYTURN_HOME) of the current test. */
  readonly dir: string;
  readonly env: Record<string, string>;
  kt(argv: string[], stdin?: string): Promise<CliResult>;
  dump(): unknown;
}

export function useCliHome(): CliHome {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let env: Record<string, string> = {};
  beforeEach(async () => {
    tmp = tempDir();
    env = { KEYTURN_HOME: tmp.dir };
    expect((await runCli(['init'], { env })).code).toBe(0);
  });
  afterEach(() => tmp?.remove());
  return {
    get dir() {
      return tmp!.dir;
    },
    get env() {
      return env;
    },
    kt: (argv, stdin) => runCli(argv, { env, ...(stdin === undefined ? {} : { stdin }) }),
    dump: () => dumpState(tmp!.dir),
  };
}
