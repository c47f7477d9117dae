/**
 * Runs the CLI in-process (`runCli`; `runCliOnTerminal` with stdin and stderr that say they are a
 * terminal and an answer typed at each question) or as a real process (`spawnCli`, through
 * bin/keyturn.js and the compiled dist/), capturing stdout, stderr and the exit code.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { PassThrough, Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** A real process ended by a signal (startCli): which one. */
  signal?: NodeJS.Signals | null;
}

/** A stream that keeps what is written to it, as text. */
export function captured(): { stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return { stream, text: () => text };
}

export async function runCli(argv: string[], options: { env?: Record<string, string | undefined>; stdin?: string; cwd?: string } = {}): Promise<CliResult> {
  const stdout = captured();
  const stderr = captured();
  const code = await main(argv, {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin: Readable.from([options.stdin ?? '']),
    env: { ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/**
 * Runs the CLI in-process as if on a terminal: stdin, stdout and stderr have `isTTY`, and each
 * `QUESTION [y/N] ` written to stderr is answered with `answer` and a newline (null: the end of
 * input). `questions` holds the questions asked, without the "[y/N]".
 */
export async function runCliOnTerminal(argv: string[], options: { env?: Record<string, string | undefined>; answer?: string | null; cwd?: string } = {}): Promise<CliResult & { questions: string[] }> {
  const stdout = captured();
  Object.assign(stdout.stream, { isTTY: true });
  const stderr = Object.assign(new PassThrough(), { isTTY: true });
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  const questions: string[] = [];
  let err = '';
  stderr.on('data', (d: Buffer) => {
    err += d.toString();
    const asked = /([^\n]*) \[y\/N\] $/.exec(err);
    if (!asked) return;
    questions.push(asked[1]!);
    err += '\n'; // what the terminal would show after the answer; also ends this match
    if (options.answer === null) stdin.end();
    else stdin.write(`${options.answer ?? 'y'}\n`);
  });
  const code = await main(argv, { stdout: stdout.stream, stderr, stdin, env: { ...options.env }, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) });
  return { code, stdout: stdout.text(), stderr: err, questions };
}

export const BIN = fileURLToPath(new URL('../../bin/keyturn.js', import.meta.url));

/**
 * The time a test allows each process it starts: a test that starts N gives itself
 * `{ timeout: N * SPAWN_MS }`, so a machine with both cores busy makes it slower, not red.
 */
export const SPAWN_MS = 20_000;

/**
 * Starts `bin/keyturn.js` and waits for it. With `stdoutFile` its stdout is that file (created or
 * truncated), as `keyturn ... > FILE` in a shell, and `stdout` in the result is ''.
 */
export function spawnCli(argv: string[], options: { env?: Record<string, string | undefined>; stdin?: string; stdoutFile?: string } = {}): CliResult {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const out = options.stdoutFile === undefined ? 'pipe' : openSync(options.stdoutFile, 'w');
  try {
    const r = spawnSync(process.execPath, [BIN, ...argv], { env, input: options.stdin ?? '', encoding: 'utf8', timeout: 30_000, stdio: ['pipe', out, 'pipe'] });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr };
  } finally {
    if (typeof out === 'number') closeSync(out);
  }
}

/** Starts the CLI as a real process without waiting (several at once race for real); resolves when it exits. */
export function startCli(argv: string[], options: { env?: Record<string, string | undefined> } = {}): Promise<CliResult> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '' };
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  const child = spawn(process.execPath, [BIN, ...argv], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? -1, stdout, stderr, signal }));
  });
}

export interface ServerProcess {
  child: ChildProcess;
  /** The address from its first stdout line (`http://127.0.0.1:PORT`, or https with TLS). */
  listening: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** What it wrote on stderr so far. */
  stderr(): string;
  /** SIGTERM, then its exit code (null if it had already exited). */
  stop(): Promise<number | null>;
}

/** `keyturn server --listen 127.0.0.1:0 --json ARGS` as a real process over the home `env` names; resolves once it listens. */
export async function startServerProcess(env: Record<string, string>, args: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'server', '--listen', '127.0.0.1:0', '--json', ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    void exited.then((code) => reject(new Error(`keyturn server exited ${code} before listening: ${stderr}`)));
  });
  return {
    child,
    listening: (JSON.parse(first) as { listening: string }).listening,
    exited,
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null) return null;
      child.kill('SIGTERM');
      return exited;
    },
  };
}
