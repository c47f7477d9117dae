/**
 * What a command reads and writes: streams and environment, injectable so tests run the CLI
 * in-process, and the two output shapes every command has (a readable table or `--json`).
 */
import type { Readable, Writable } from 'node:stream';
import type { KeyturnError } from '../core/errors.js';
import { processEnv } from '../config/env-vars.js';

export interface CliIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
  stdin: Readable & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Set by -q/--quiet: `emit` prints no human text (JSON and `emitData` still print). */
  quiet?: boolean;
  /** The folder relative paths and default files are found in (default: `process.cwd()`). */
  cwd?: string;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    // process.stdin sets up a stream (a few ms) on first access: only commands that read it pay.
    get stdin() {
      return process.stdin;
    },
    env: processEnv(),
  };
}

/**
 * Renders rows as aligned columns under a header; empty cells show "-". Every line ends with a
 * newline, the last one too, so a table followed by `\n` and more text leaves one blank line.
 */
export function table(headers: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined || c === '' ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(headers), ...cells.map(line)].join('\n')}\n`;
}

/** The folder of this command line: `io.cwd`, else the process's working directory. */
export function workingDir(io: CliIo): string {
  return io.cwd ?? process.cwd();
}

/**
 * Writes a command's result: JSON (one document) with --json, else the human text (none with
 * --quiet), which always ends with exactly one newline.
 */
export function emit(io: CliIo, json: boolean, data: unknown, human: () => string): void {
  if (json) io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else if (!io.quiet) writeText(io, human().replace(/\n+$/, ''));
}

/**
 * Like `emit`, for output that is the data asked for (a completion script): --quiet keeps it,
 * and text that ends with newlines is written as it is (a value's own newlines are part of it).
 */
export function emitData(io: CliIo, json: boolean, data: unknown, text: () => string): void {
  if (json) io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else writeText(io, text());
}

/**
 * Writes a secret's value (or one field of it) exactly: to a pipe or a file the text and nothing
 * more, so `keyturn secret get p > f` leaves the stored bytes in f, a trailing newline only if
 * the value has one. On a terminal a newline is added when the text does not end in one, so the
 * shell's prompt starts on a line of its own. --json is unchanged: one document and a newline.
 *
 * @example
 * ```ts
 * emitValue(io, false, { path, value }, () => 'tok_1'); // "tok_1" on a pipe, "tok_1\n" on a terminal
 * ```
 */
export function emitValue(io: CliIo, json: boolean, data: unknown, text: () => string): void {
  if (json) {
    io.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    return;
  }
  const value = text();
  if (value !== '') io.stdout.write(io.stdout.isTTY === true && !value.endsWith('\n') ? `${value}\n` : value);
}

/** Text gets a final newline when it has none; nothing is written for no text. */
function writeText(io: CliIo, text: string): void {
  if (text !== '') io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * Writes an error the way the user asked for: JSON on stderr with --json, else two lines. The
 * commands a message or fix suggests (`keyturn runs show ID`) are written the way the user runs
 * Keyturn (`self`: `npx keyturn` under npx), so they work when copied.
 */
export function emitError(io: CliIo, json: boolean, err: KeyturnError, self = 'keyturn'): void {
  const asRun = (text: string) => (self === 'keyturn' ? text : text.replaceAll('`keyturn ', `\`${self} `));
  if (json) {
    const body = err.toJSON();
    io.stderr.write(`${JSON.stringify({ error: { ...body, message: asRun(body.message), fix: asRun(body.fix) } })}\n`);
  } else io.stderr.write(`error ${err.code}: ${asRun(err.message)}\n  fix: ${asRun(err.fix)}\n`);
}

/** ISO-8601 time to the millisecond, or "-". */
export function isoTime(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '-' : new Date(ms).toISOString();
}

/** Reads all of stdin as UTF-8. */
export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
