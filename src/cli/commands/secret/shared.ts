/** Helpers shared by the `keyturn secret` commands: value sources, version selectors, output shapes. */
import { readFileSync } from 'node:fs';
import { KeyturnError } from '../../../core/errors.js';
import type { SecretValue } from '../../../core/types.js';
import { parseFields, parseJsonValue, parseStage, printable } from '../../../core/values.js';
import type { VersionSelector } from '../../../stores/store.js';
import { readAll, type CliIo } from '../../io.js';
import { canPrompt, readHidden } from '../../prompt.js';

export interface ValueOptions {
  value?: string;
  stdin?: boolean;
  file?: string;
  field?: string[];
  jsonValue?: boolean;
  /** Accept an empty value (`''`, no fields, or a field that is `''`); refused with KT_VALUE_EMPTY otherwise. */
  allowEmpty?: boolean;
}

/** Field names that say the field holds a secret (a warning when one is typed on the command line). */
const SECRET_FIELD = /pass|pwd|secret|token|key|credential|auth|private|cert|pin|otp|salt|sig/i;

/** What `--field NAME=-` says: this field's value comes from standard input. */
export const FIELD_FROM_STDIN = '-';

/**
 * Reads the value from exactly one source. `--stdin` drops one trailing newline; when stdin is a
 * terminal it asks on stderr with `question` and reads one line without echoing it. One
 * `--field NAME=-` reads that field the same way (asking "Value for field NAME (input hidden): ").
 * An empty value, no fields, or an empty field is refused (KT_VALUE_EMPTY) unless `allowEmpty`.
 * A command that took a value calls {@link warnIfOnCommandLine} once it succeeded.
 *
 * @example
 * ```ts
 * const value = await readValue({ stdin: true }, io, 'Value for prod/api/token (input hidden): ');
 * const fields = await readValue({ field: ['username=app', 'password=-'] }, io);
 * ```
 */
/** A value from standard input: asked for, hidden, on a terminal; else read whole, one trailing newline dropped. */
async function readStdinValue(io: CliIo, question: string): Promise<{ text: string; source: string }> {
  if (canPrompt(io)) return { text: await readHidden(io, question), source: 'the prompt' };
  return { text: (await readAll(io.stdin)).replace(/\r?\n$/, ''), source: 'standard input' };
}

export async function readValue(opts: ValueOptions, io: CliIo, question = 'Value (input hidden): '): Promise<SecretValue> {
  const fromStdin = (opts.field ?? []).filter((f) => f.slice(f.indexOf('=') + 1) === FIELD_FROM_STDIN && f.includes('='));
  if (fromStdin.length > 0 && opts.stdin) throw new KeyturnError('KT_USAGE', '--field NAME=- reads standard input already; leave out --stdin');
  if (fromStdin.length > 1) throw new KeyturnError('KT_USAGE', `only one --field may read standard input (NAME=-), got ${fromStdin.length}`);
  const sources = [opts.value !== undefined, !!opts.stdin, opts.file !== undefined, (opts.field?.length ?? 0) > 0].filter(Boolean).length;
  if (sources === 0) throw new KeyturnError('KT_VALUE_MISSING');
  if (sources > 1) throw new KeyturnError('KT_VALUE_SOURCE_CONFLICT');
  if (opts.field?.length) {
    if (opts.jsonValue) throw new KeyturnError('KT_VALUE_SOURCE_CONFLICT', '--field builds a JSON object already; leave out --json-value');
    const fields = parseFields(opts.field) as Record<string, string>;
    const name = Object.keys(fields).find((n) => fields[n] === FIELD_FROM_STDIN);
    if (name === undefined) return notEmpty(fields, opts, '--field');
    const read = await readStdinValue(io, `Value for field ${printable(name)} (input hidden): `);
    fields[name] = read.text;
    return notEmpty(fields, opts, read.text === '' && read.source === 'standard input' ? 'standard input' : '--field');
  }
  let text: string;
  let source: string;
  if (opts.value !== undefined) {
    text = opts.value;
    source = '--value';
  } else if (opts.stdin) {
    ({ text, source } = await readStdinValue(io, question));
  } else {
    let bytes: Buffer;
    try {
      bytes = readFileSync(opts.file!);
    } catch (e) {
      throw new KeyturnError('KT_USAGE', `cannot read ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    text = utf8(bytes, opts.file!);
    source = `the file ${opts.file}`;
  }
  // Empty text is refused before JSON parsing: "empty" says more than "not valid JSON".
  if (text === '' && !opts.allowEmpty) throw emptyError(`the value (from ${source}) is empty`, source);
  return notEmpty(opts.jsonValue ? parseJsonValue(text) : text, opts, source);
}

/**
 * The file's bytes as text, refusing bytes that are not UTF-8 (KT_VALUE_NOT_UTF8) instead of
 * storing U+FFFD in their place. A byte order mark is kept, as it always was.
 */
function utf8(bytes: Buffer, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    // The offset of the first bad byte helps find it; the bytes themselves are never shown.
    const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
    let at = 0;
    try {
      for (; at < bytes.length; at += 1) decoder.decode(bytes.subarray(at, at + 1), { stream: true });
    } catch {
      // `at` is the byte where the text stopped being UTF-8 (at the end: a sequence cut short).
    }
    throw new KeyturnError('KT_VALUE_NOT_UTF8', `the file ${file} is not valid UTF-8 text (the first invalid byte is near byte ${at} of ${bytes.length}); nothing was done`, {
      details: { file, size: bytes.length, offset: at },
    });
  }
}

/**
 * One line on stderr (not with -q) when the value, or a field named like a secret, was typed on
 * the command line, where the process list and the shell history show it. Called after the
 * command succeeded, so an error (plain or --json) stays the only thing on stderr.
 *
 * @example
 * ```ts
 * warnIfOnCommandLine({ field: ['username=app', 'password=hunter2'] }, io);
 * // warning: --field password=… was given on the command line, visible in the process list …
 * ```
 */
export function warnIfOnCommandLine(opts: ValueOptions, io: CliIo): void {
  if (io.quiet) return;
  let what: string | undefined;
  if (opts.value !== undefined && opts.value !== '') what = 'the value';
  else {
    for (const pair of opts.field ?? []) {
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const text = pair.slice(eq + 1);
      if (eq > 0 && SECRET_FIELD.test(name) && text !== '' && text !== FIELD_FROM_STDIN) {
        what = `--field ${printable(name)}=…`;
        break;
      }
    }
  }
  if (what !== undefined) io.stderr.write(`warning: ${what} was given on the command line, visible in the process list and shell history; prefer --stdin, --file or --field NAME=-\n`);
}

/** The value, unless it is empty or has an empty field and `--allow-empty` is not given. */
function notEmpty(value: SecretValue, opts: ValueOptions, source: string): SecretValue {
  if (opts.allowEmpty) return value;
  if (typeof value === 'string') {
    if (value === '') throw emptyError(`the value (from ${source}) is empty`, source);
    return value;
  }
  const names = Object.keys(value);
  if (names.length === 0) throw emptyError(`the value (from ${source}) has no fields`, source);
  const empty = names.filter((n) => value[n] === '');
  if (empty.length > 0) {
    const list = empty.map((n) => printable(n)).join(', ');
    throw emptyError(`${empty.length === 1 ? 'field' : 'fields'} ${list} (from ${source}) ${empty.length === 1 ? 'is' : 'are'} empty`, source, { fields: empty.map((n) => printable(n)) });
  }
  return value;
}

function emptyError(what: string, source: string, details: Record<string, unknown> = {}): KeyturnError {
  // An unset variable piped in is the usual way to get here by mistake: say so.
  const hint = source === 'standard input' ? ' (was the variable piped in unset?)' : '';
  return new KeyturnError('KT_VALUE_EMPTY', `${what}${hint}; nothing was done`, { details: { source, ...details } });
}

/** Parses `--expect-version N`: a whole number, 0 or more (0: the secret must not exist yet). */
export function parseExpectVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  // The text is not echoed: a value typed into the wrong option must not reach the terminal log.
  if (!Number.isSafeInteger(n)) throw new KeyturnError('KT_USAGE', '--expect-version takes a version number: a whole number, 0 or more (0: the secret must not exist yet)');
  return n;
}

/** `--stage` / `--version` (a number or a version id) into a selector. */
export function selector(opts: { stage?: string; version?: string }): VersionSelector {
  if (opts.stage !== undefined && opts.version !== undefined) throw new KeyturnError('KT_USAGE', 'give --stage or --version, not both');
  if (opts.version !== undefined) return /^\d+$/.test(opts.version) ? { number: Number(opts.version) } : { versionId: opts.version };
  return { stage: parseStage(opts.stage ?? 'current') };
}

export { infoJson, versionJson } from '../../../client/wire.js';
