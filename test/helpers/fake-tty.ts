/**
 * A fake terminal for the CLI's streams: stdin is a PassThrough that says it is a TTY and records
 * its raw-mode switches, stderr is captured. Tests drive a prompt by writing to `stdin`.
 *
 * @example
 * ```ts
 * const t = fakeTty();
 * const answer = readHidden(t.io, '? ');
 * t.stdin.write('s3cret\r');
 * ```
 */
import { PassThrough } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';
import { captured } from './cli.js';

export interface FakeTty {
  io: CliIo;
  stdin: PassThrough & { isTTY: boolean; isRaw: boolean; setRawMode(mode: boolean): unknown };
  /** Every setRawMode call, in order. */
  modes: boolean[];
  stdout(): string;
  stderr(): string;
}

export function fakeTty(options: { raw?: boolean; failRaw?: boolean; env?: Record<string, string | undefined> } = {}): FakeTty {
  const modes: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), {
    isTTY: true,
    isRaw: options.raw ?? false,
    setRawMode(mode: boolean) {
      if (options.failRaw) throw new Error('EIO');
      modes.push(mode);
      stdin.isRaw = mode;
      return stdin;
    },
  });
  const stdout = captured();
  const stderr = captured();
  return { io: { stdin, stdout: stdout.stream, stderr: stderr.stream, env: { ...options.env } }, stdin, modes, stdout: stdout.text, stderr: stderr.text };
}
