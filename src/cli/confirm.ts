/**
 * Asking before a command that cannot be undone (or changes what Keyturn manages).
 *
 * - `--yes`: confirmed, nothing is asked.
 * - On a terminal (stdin and stderr both TTYs): the question goes to stderr as
 *   `QUESTION [y/N] ` (also with --json, so stdout stays the command's data) and one line is read
 *   from stdin; `y` or `yes` goes on, anything else or the end of input is `KT_ABORTED` (exit 1).
 * - Not on a terminal (a script, CI, a pipe), or when stdin carries the command's input:
 *   `KT_CONFIRMATION_REQUIRED` (exit 2) without reading anything; the fix is `--yes`.
 *
 * Call it before the first change, so a refusal leaves everything as it was.
 *
 * @example
 * ```ts
 * await confirm(app, { question: `Purge ${path} and its 3 versions for good?`, yes: opts.yes });
 * await kt.store.purge(path);
 * ```
 */
import type { Readable } from 'node:stream';
import { KeyturnError } from '../core/errors.js';
import type { CliIo } from './io.js';

export interface ConfirmOptions {
  /** The question, ending in "?", without the "[y/N]". Names what changes; never a value. */
  question: string;
  /** `--yes` was given: confirmed without asking. */
  yes?: boolean | undefined;
  /** Stdin carries the command's input (`-f -`), so no answer can be read from it. */
  stdinInUse?: boolean;
}

/** Whether a question can be asked and answered: stdin and stderr are both terminals. */
export function onTerminal(io: CliIo): boolean {
  return !!io.stdin.isTTY && !!io.stderr.isTTY;
}

/** Resolves when confirmed; throws KT_CONFIRMATION_REQUIRED or KT_ABORTED otherwise. */
export async function confirm(app: { readonly io: CliIo }, options: ConfirmOptions): Promise<void> {
  if (options.yes) return;
  const { io } = app;
  const what = options.question.replace(/\?$/, '');
  if (options.stdinInUse) {
    throw new KeyturnError('KT_CONFIRMATION_REQUIRED', `${what}: stdin holds the command's input, so no answer can be read; pass --yes to confirm`);
  }
  if (!onTerminal(io)) throw new KeyturnError('KT_CONFIRMATION_REQUIRED', `${what}: not on a terminal, so nothing was asked; pass --yes to confirm`);
  io.stderr.write(`${options.question} [y/N] `);
  const answer = await readLine(io.stdin);
  if (answer === null) {
    io.stderr.write('\n');
    throw new KeyturnError('KT_ABORTED', 'no answer (end of input): nothing was changed');
  }
  // The answer is not echoed: whatever was typed stays on the terminal only.
  if (!/^(y|yes)$/i.test(answer.trim())) throw new KeyturnError('KT_ABORTED', 'not confirmed: nothing was changed');
}

/**
 * Reads one line (without its line end) from `stream`, or null at the end of input with nothing
 * typed. What was typed after the line is given back to the stream.
 */
function readLine(stream: Readable): Promise<string | null> {
  if (stream.readableEnded) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (line: string | null, rest?: string) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.pause();
      if (rest) stream.unshift(Buffer.from(rest));
      resolve(line);
    };
    const onData = (chunk: Buffer | string) => {
      text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl !== -1) finish(text.slice(0, nl).replace(/\r$/, ''), text.slice(nl + 1));
    };
    const onEnd = () => finish(text === '' ? null : text);
    const onError = (e: unknown) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      reject(e instanceof Error ? e : new Error(String(e)));
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
    // A stream paused before (by an earlier question) does not flow again on a new listener alone.
    stream.resume();
  });
}
