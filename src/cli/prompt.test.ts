/** The hidden prompt, driven through a fake terminal: what is typed never shows, the terminal is always put back. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isKeyturnError, type KeyturnError } from '../core/errors.js';
import type { CliIo } from './io.js';
import { canPrompt, readHidden } from './prompt.js';
import { fakeTty } from '../../test/helpers/fake-tty.js';

async function rejection(p: Promise<unknown>): Promise<KeyturnError> {
  try {
    await p;
  } catch (e) {
    if (isKeyturnError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

const signalListeners = () => ({ SIGINT: process.listenerCount('SIGINT'), SIGTERM: process.listenerCount('SIGTERM'), exit: process.listenerCount('exit') });

describe('readHidden', () => {
  it('asks on stderr, reads one line without echoing it, and puts the terminal back', async () => {
    const t = fakeTty();
    const listeners = signalListeners();
    const answer = readHidden(t.io, 'Value for a/b (input hidden): ');
    t.stdin.write('hunter2\rleft over');
    expect(await answer).toBe('hunter2');
    expect(t.stderr()).toBe('Value for a/b (input hidden): \n');
    expect(t.modes).toEqual([true, false]);
    expect(t.stdin.isPaused()).toBe(true);
    expect(t.stdin.listenerCount('data')).toBe(0);
    expect(signalListeners()).toEqual(listeners);
  });

  it('edits: Backspace, Ctrl-U, escape sequences ignored, characters split across chunks', async () => {
    const t = fakeTty();
    const answer = readHidden(t.io, '? ');
    t.stdin.write('wrong\u0015ab\u007fc');
    t.stdin.write('\u001b[D\u001b[1;5C\u001bOA\u001b[200~x\u001b[201~\t');
    const e = Buffer.from('é');
    t.stdin.write(e.subarray(0, 1));
    t.stdin.write(Buffer.concat([e.subarray(1), Buffer.from('\u0001\n')]));
    expect(await answer).toBe('acx\té');
  });

  it('Enter on an empty line gives an empty value (the caller decides whether that is allowed)', async () => {
    const t = fakeTty();
    const answer = readHidden(t.io, '? ');
    t.stdin.write('\n');
    expect(await answer).toBe('');
  });

  it('Ctrl-C cancels with KT_INPUT_ABORTED, without the typed text, and restores the terminal', async () => {
    const t = fakeTty();
    const answer = readHidden(t.io, '? ');
    t.stdin.write('half-typed-secret\u0003more\r');
    const err = await rejection(answer);
    expect(err.code).toBe('KT_INPUT_ABORTED');
    expect(err.message).toContain('Ctrl-C');
    expect(err.message).not.toContain('half');
    expect(t.stderr()).toBe('? \n');
    expect(t.modes).toEqual([true, false]);
    expect(t.stdin.listenerCount('data')).toBe(0);
  });

  it('Ctrl-D cancels on an empty line and ends the value after text', async () => {
    const empty = fakeTty();
    const cancelled = readHidden(empty.io, '? ');
    empty.stdin.write('\u0004');
    expect((await rejection(cancelled)).code).toBe('KT_INPUT_ABORTED');
    const typed = fakeTty();
    const answer = readHidden(typed.io, '? ');
    typed.stdin.write('abc\u0004');
    expect(await answer).toBe('abc');
  });

  it('the input closing before Enter cancels: a half-typed value is never returned', async () => {
    const t = fakeTty();
    const answer = readHidden(t.io, '? ');
    t.stdin.end('partial');
    expect((await rejection(answer)).code).toBe('KT_INPUT_ABORTED');
    expect(t.modes).toEqual([true, false]);
  });

  it('SIGINT while waiting cancels and restores the terminal', async () => {
    const t = fakeTty();
    const listeners = signalListeners();
    const answer = readHidden(t.io, '? ');
    // Call the prompt's own handler rather than signalling the test process.
    const handler = process.listeners('SIGINT').at(-1) as () => void;
    handler();
    expect((await rejection(answer)).message).toContain('interrupted');
    expect(t.modes).toEqual([true, false]);
    expect(signalListeners()).toEqual(listeners);
  });

  it('leaves a terminal that was already raw raw', async () => {
    const t = fakeTty({ raw: true });
    const answer = readHidden(t.io, '? ');
    t.stdin.write('x\r');
    await answer;
    expect(t.modes).toEqual([true, true]);
  });

  it('refuses a stdin that is no terminal, or one that cannot hide input', async () => {
    const plain: CliIo = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
    expect(canPrompt(plain)).toBe(false);
    expect((await rejection(readHidden(plain, '? '))).code).toBe('KT_USAGE');
    const noRaw: CliIo = { ...plain, stdin: Object.assign(new PassThrough(), { isTTY: true }) };
    expect(canPrompt(noRaw)).toBe(false);
    const listeners = signalListeners();
    const failing = fakeTty({ failRaw: true });
    expect((await rejection(readHidden(failing.io, '? '))).code).toBe('KT_USAGE');
    expect(failing.stderr()).toBe('');
    expect(failing.stdin.listenerCount('data')).toBe(0);
    expect(signalListeners()).toEqual(listeners);
  });
});
