/**
 * Asking for a secret value at a terminal: the question on stderr, the answer typed with nothing
 * echoed (raw mode), one line. Works on the command's own streams (`CliIo`), so tests drive it
 * with a fake TTY instead of a real terminal.
 *
 * Keys: Enter ends the value; Backspace deletes a character, Ctrl-U the whole line; arrow keys
 * and other escape sequences are ignored. Ctrl-C, Ctrl-D on an empty line, the input closing, or
 * SIGINT/SIGTERM while waiting reject with KT_INPUT_ABORTED. Whatever happens, the terminal is
 * put back the way it was (raw mode off, input paused) and a newline ends the prompt line.
 *
 * @example
 * ```ts
 * if (canPrompt(io)) value = await readHidden(io, 'Value for prod/api/token (input hidden): ');
 * ```
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { KeyturnError } from '../core/errors.js';
import type { CliIo } from './io.js';

/** A terminal input: what `tty.ReadStream` has beyond a stream. */
type TtyInput = Readable & { isTTY?: boolean; isRaw?: boolean; setRawMode?: (mode: boolean) => unknown };

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const ESC = '\u001b';

/** True when stdin is a terminal that can stop echoing (so a value can be typed unseen). */
export function canPrompt(io: CliIo): boolean {
  const input = io.stdin as TtyInput;
  return input.isTTY === true && typeof input.setRawMode === 'function';
}

/**
 * Writes `question` to stderr and reads one line from a terminal stdin without echoing it.
 * Throws KT_INPUT_ABORTED when the user cancels; throws KT_USAGE when stdin is no terminal.
 */
export function readHidden(io: CliIo, question: string): Promise<string> {
  const input = io.stdin as TtyInput;
  if (!canPrompt(io)) return Promise.reject(new KeyturnError('KT_USAGE', 'standard input is not a terminal, so the value cannot be typed hidden'));
  const wasRaw = input.isRaw === true;
  return new Promise<string>((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    let chars: string[] = [];
    // Inside an escape sequence: 'esc' after ESC, 'csi' after ESC [ or ESC O until its final byte.
    let escape: 'none' | 'esc' | 'csi' = 'none';
    let done = false;
    let asked = false;

    // Every listener the prompt sets, taken off again by `restore`.
    const listeners: Array<[NodeJS.EventEmitter, string, Parameters<NodeJS.EventEmitter['on']>[1]]> = [
      [process, 'exit', restoreMode],
      [process, 'SIGINT', onSignal],
      [process, 'SIGTERM', onSignal],
      [input, 'data', onData],
      [input, 'end', onEnd],
      [input, 'close', onEnd],
      [input, 'error', onError],
    ];
    const restore = (): void => {
      for (const [emitter, event, fn] of listeners) emitter.off(event, fn);
      restoreMode();
      input.pause();
    };
    function restoreMode(): void {
      try {
        input.setRawMode!(wasRaw);
      } catch {
        // The terminal is gone (hang-up): there is nothing left to restore.
      }
    }
    const finish = (error: KeyturnError | null): void => {
      if (done) return;
      done = true;
      restore();
      // Ends the prompt's line (nothing was echoed on it).
      if (asked) io.stderr.write('\n');
      const value = chars.join('');
      chars = [];
      if (error) reject(error);
      else resolve(value);
    };
    const abort = (how: string): void => finish(new KeyturnError('KT_INPUT_ABORTED', `the value prompt was cancelled (${how}); nothing was done`));

    function onData(chunk: Buffer | string): void {
      const text = typeof chunk === 'string' ? chunk : decoder.write(chunk);
      for (const ch of text) {
        if (done) return;
        if (escape === 'esc') {
          escape = ch === '[' || ch === 'O' ? 'csi' : 'none';
          continue;
        }
        if (escape === 'csi') {
          const code = ch.codePointAt(0)!;
          if (code >= 0x40 && code <= 0x7e) escape = 'none';
          continue;
        }
        if (ch === '\r' || ch === '\n') finish(null);
        else if (ch === CTRL_C) abort('Ctrl-C');
        else if (ch === CTRL_D) {
          if (chars.length === 0) abort('end of input');
          else finish(null);
        } else if (ch === '\u007f' || ch === '\b') chars.pop();
        else if (ch === CTRL_U) chars = [];
        else if (ch === ESC) escape = 'esc';
        else if (ch === '\t' || ch.codePointAt(0)! >= 0x20) chars.push(ch);
        // Other control characters are dropped: they are keys, not part of a value.
      }
    }
    function onEnd(): void {
      abort('the input closed before Enter');
    }
    function onError(): void {
      abort('the input failed');
    }
    function onSignal(): void {
      abort('interrupted');
    }

    // Set the listeners before raw mode, so that no way out leaves the terminal raw.
    for (const [emitter, event, fn] of listeners) emitter.on(event, fn);
    try {
      input.setRawMode!(true);
    } catch {
      finish(new KeyturnError('KT_USAGE', 'the terminal cannot hide what is typed; pipe the value in with --stdin or give --file'));
      return;
    }
    // Asked only once echo is off: whatever is typed after the question shows is hidden.
    asked = true;
    io.stderr.write(question);
    input.resume();
  });
}
