/**
 * Helpers for the backup tests: run the CLI expecting success, and a snapshot of every version
 * of every secret of a home (values read through `keyturn secret get`) with their stages, to
 * compare a home before a backup with the home restored from it.
 *
 * @example
 * ```ts
 * const before = await snapshot({ KEYTURN_HOME: home });
 * // ... backup, destroy, restore into restored ...
 * expect(await snapshot({ KEYTURN_HOME: restored })).toEqual(before);
 * ```
 */
import { runCli, type CliResult } from './cli.js';

export const quiet = { KEYTURN_LOG_LEVEL: 'silent' };

export interface Snapshot {
  [path: string]: { versions: Record<number, { id: string; value: unknown }>; stages: Record<string, number> };
}

export async function ok(argv: string[], env: Record<string, string>, stdin?: string): Promise<CliResult> {
  const r = await runCli(argv, { env: { ...env, ...quiet }, ...(stdin === undefined ? {} : { stdin }) });
  if (r.code !== 0) throw new Error(`keyturn ${argv.join(' ')} failed (${r.code}): ${r.stderr}`);
  return r;
}

export function json<T>(r: CliResult): T {
  return JSON.parse(r.stdout) as T;
}

/** Every version of every secret (values through `secret get --version N --json`) and their stages. */
export async function snapshot(env: Record<string, string>): Promise<Snapshot> {
  const list = json<{ secrets: Array<{ path: string }> } | Array<{ path: string }>>(await ok(['secret', 'ls', '--json'], env));
  const paths = (Array.isArray(list) ? list : list.secrets).map((s) => s.path).sort();
  const out: Snapshot = {};
  for (const path of paths) {
    const history = json<{ history: Array<{ version: number; id: string; stages: string[] }> }>(await ok(['secret', 'history', path, '--json'], env));
    const entry: Snapshot[string] = { versions: {}, stages: {} };
    for (const v of history.history) {
      const got = json<{ value: unknown }>(await ok(['secret', 'get', path, '--version', String(v.version), '--json', '--allow-inactive'], env));
      entry.versions[v.version] = { id: v.id, value: got.value };
      for (const s of v.stages) entry.stages[s] = v.version;
    }
    out[path] = entry;
  }
  return out;
}
