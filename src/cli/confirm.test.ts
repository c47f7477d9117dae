/**
 * The confirmation helper on fake streams: --yes, answers typed on a "terminal" (PassThrough
 * streams with isTTY), the end of input, and no terminal at all.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isKeyturnError } from '../core/errors.js';
import { confirm } from './confirm.js';
import type { CliIo } from './io.js';

function fakeIo(tty: { stdin: boolean; stderr: boolean } = { stdin: true, stderr: true }) {
  const stdin = Object.assign(new PassThrough(), { isTTY: tty.stdin });
  const stderr = Object.assign(new PassThrough(), { isTTY: tty.stderr });
  const stdout = new PassThrough();
  let err = '';
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const io: CliIo = { stdin, stderr, stdout, env: {} };
  return { app: { io }, stdin, stderr: () => err };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    if (isKeyturnError(e)) return e.code;
    throw e;
  }
}

describe('confirm', () => {
  it('--yes confirms without a question, on a terminal or not', async () => {
    for (const tty of [
      { stdin: true, stderr: true },
      { stdin: false, stderr: false },
    ]) {
      const f = fakeIo(tty);
      await confirm(f.app, { question: 'Drop it?', yes: true });
      expect(f.stderr()).toBe('');
    }
  });

  it.each(['y', 'Y', 'yes', 'YES', ' y ', 'y\r'])('on a terminal, %j goes on', async (answer) => {
    const f = fakeIo();
    f.stdin.write(`${answer}\n`);
    await confirm(f.app, { question: 'Drop it?' });
    expect(f.stderr()).toBe('Drop it? [y/N] ');
  });

  it.each(['n', 'no', '', 'yep', 'y y'])('on a terminal, %j aborts with KT_ABORTED', async (answer) => {
    const f = fakeIo();
    f.stdin.write(`${answer}\n`);
    expect(await codeOf(confirm(f.app, { question: 'Drop it?' }))).toBe('KT_ABORTED');
    expect(f.stderr()).toBe('Drop it? [y/N] ');
  });

  it('the end of input aborts; a last line without a newline is still an answer', async () => {
    const eof = fakeIo();
    eof.stdin.end();
    expect(await codeOf(confirm(eof.app, { question: 'Drop it?' }))).toBe('KT_ABORTED');
    const partial = fakeIo();
    partial.stdin.end('y');
    expect(await codeOf(confirm(partial.app, { question: 'Drop it?' }))).toBe('resolved');
  });

  it('reads one line only: what was typed after it stays in stdin', async () => {
    const f = fakeIo();
    f.stdin.write('y\nn\n');
    await confirm(f.app, { question: 'First?' });
    expect(await codeOf(confirm(f.app, { question: 'Second?' }))).toBe('KT_ABORTED');
    expect(f.stderr()).toBe('First? [y/N] Second? [y/N] ');
  });

  it('not on a terminal (either stream), or with stdin holding the input: KT_CONFIRMATION_REQUIRED, nothing asked or read', async () => {
    for (const tty of [
      { stdin: false, stderr: false },
      { stdin: true, stderr: false },
      { stdin: false, stderr: true },
    ]) {
      const f = fakeIo(tty);
      f.stdin.write('y\n');
      expect(await codeOf(confirm(f.app, { question: 'Drop it?' }))).toBe('KT_CONFIRMATION_REQUIRED');
      expect(f.stderr()).toBe('');
      expect(f.stdin.readableLength).toBe(2);
    }
    const piped = fakeIo();
    await expect(confirm(piped.app, { question: 'Drop it?', stdinInUse: true })).rejects.toMatchObject({ code: 'KT_CONFIRMATION_REQUIRED', message: expect.stringContaining('stdin') });
    await expect(confirm(fakeIo({ stdin: false, stderr: false }).app, { question: 'Drop it?' })).rejects.toMatchObject({ status: 400, fix: expect.stringContaining('--yes') });
  });
});
