/**
 * `keyturn secret get` prints a value byte for byte: stored with `--file`, with or without a
 * trailing newline, it comes back identical through `secret get > file` (a real process and
 * in-process) and through `--field`; on a terminal a newline follows a value that has none, so
 * the prompt starts on its own line; `--json` is one document and a newline, as before.
 */
import { once } from 'node:events';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { main } from '../src/cli/main.js';
import { runCliOnTerminal, SPAWN_MS, spawnCli } from './helpers/cli.js';
import { useCliHome } from './helpers/cli-home.js';

const home = useCliHome();

/** Values that differ only at their end: a printer that adds or drops a newline tells them apart. */
const VALUES: Array<[string, string]> = [
  ['no trailing newline', 'tok_no_newline'],
  ['one trailing newline', 'tok_with_newline\n'],
  ['two lines and a newline', 'line one\nline two\n'],
  ['two trailing newlines', 'passé ✓\n\n'],
  ['a CRLF ending', 'windows\r\n'],
];

/** Stores `text` at `path` from a file, byte for byte, and returns the bytes. */
async function storeFromFile(path: string, text: string, extra: string[] = []): Promise<Buffer> {
  const file = join(home.dir, 'in.bin');
  writeFileSync(file, text);
  const put = await home.kt(['secret', 'put', path, '--file', file, ...extra]);
  expect(put.code, put.stderr).toBe(0);
  return readFileSync(file);
}

/** `keyturn secret get ARGV > FILE`, in-process: stdout is a file stream. Returns the file's bytes. */
async function getToFileInProcess(argv: string[]): Promise<Buffer> {
  const file = join(home.dir, 'out-in-process.bin');
  const stdout = createWriteStream(file);
  const stderr = new PassThrough().resume();
  const code = await main(argv, { stdout, stderr, stdin: new PassThrough(), env: { ...home.env } });
  stdout.end();
  await once(stdout, 'finish');
  expect(code).toBe(0);
  return readFileSync(file);
}

describe('secret get prints the stored bytes', () => {
  it.each(VALUES)('%s: --file in, secret get out (in-process, captured and to a file) are the same bytes', async (_name, text) => {
    const bytes = await storeFromFile('app/value', text);
    const get = await home.kt(['secret', 'get', 'app/value']);
    expect(get).toMatchObject({ code: 0, stdout: text, stderr: '' });
    expect(await getToFileInProcess(['secret', 'get', 'app/value'])).toEqual(bytes);
  });

  it.each(VALUES)('%s: --field NAME prints the field exactly', async (_name, text) => {
    await storeFromFile('app/fields', JSON.stringify({ username: 'app', pem: text }), ['--json-value']);
    expect((await home.kt(['secret', 'get', 'app/fields', '--field', 'pem'])).stdout).toBe(text);
    expect(await getToFileInProcess(['secret', 'get', 'app/fields', '--field', 'pem'])).toEqual(Buffer.from(text));
  });

  it('a JSON value without --field prints as JSON text, nothing after it', async () => {
    await storeFromFile('app/fields', '{"username":"app","password":"pw"}', ['--json-value']);
    expect((await home.kt(['secret', 'get', 'app/fields'])).stdout).toBe(JSON.stringify({ username: 'app', password: 'pw' }, null, 2));
  });

  it('--json is unchanged: one document and a newline, the value exact inside it', async () => {
    for (const [, text] of VALUES) {
      await storeFromFile('app/value', text);
      const r = await home.kt(['secret', 'get', 'app/value', '--json']);
      expect(r.stdout.endsWith('}\n')).toBe(true);
      expect((JSON.parse(r.stdout) as { value: string }).value).toBe(text);
    }
  });

  it('through bin/keyturn.js: `secret get PATH > file` writes exactly what --file stored', { timeout: 2 * VALUES.length * SPAWN_MS }, () => {
    const out = join(home.dir, 'out-spawned.bin');
    VALUES.forEach(([, text], i) => {
      const file = join(home.dir, `in-${i}.bin`);
      writeFileSync(file, text);
      expect(spawnCli(['secret', 'put', `bin/v${i}`, '--file', file], { env: home.env }).code).toBe(0);
      const get = spawnCli(['secret', 'get', `bin/v${i}`], { env: home.env, stdoutFile: out });
      expect(get).toMatchObject({ code: 0, stderr: '' });
      expect(readFileSync(out)).toEqual(readFileSync(file));
    });
  });
});

describe('on a terminal the prompt gets a line of its own', () => {
  it.each(VALUES)('%s: a newline is added only when the value does not end in one', async (_name, text) => {
    await storeFromFile('app/value', text);
    await storeFromFile('app/fields', JSON.stringify({ pem: text }), ['--json-value']);
    const shown = text.endsWith('\n') ? text : `${text}\n`;
    expect((await runCliOnTerminal(['secret', 'get', 'app/value'], { env: home.env })).stdout).toBe(shown);
    expect((await runCliOnTerminal(['secret', 'get', 'app/fields', '--field', 'pem'], { env: home.env })).stdout).toBe(shown);
    const json = await runCliOnTerminal(['secret', 'get', 'app/value', '--json'], { env: home.env });
    expect((JSON.parse(json.stdout) as { value: string }).value).toBe(text);
  });
});
