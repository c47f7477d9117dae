/**
 * Runs the CLI in-process (`runCli`) or as a real process (`spawnCli`, through bin/keyturn.js and
 * the compiled dist/), capturing stdout, stderr and the exit code.
 */
import { spawnSync } from 'node:child_process';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(argv: string[], options: { env?: Record<string, string | undefined>; stdin?: string } = {}): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await main(argv, { stdout, stderr, stdin: Readable.from([options.stdin ?? '']), env: { ...options.env } });
  return { code, stdout: out, stderr: err };
}

export const BIN = fileURLToPath(new URL('../../bin/keyturn.js', import.meta.url));

export function spawnCli(argv: string[], options: { env?: Record<string, string | undefined>; stdin?: string } = {}): CliResult {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const r = spawnSync(process.execPath, [BIN, ...argv], { env, input: options.stdin ?? '', encoding: 'utf8', timeout: 30_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
