/**
 * Loads `keyturn.yaml`: YAML → `${env:VAR}` expansion in bootstrap values → zod validation with
 * dot-path errors → a deeply frozen config. Nothing else parses the file. Every problem with the
 * file is KT_CONFIG_FILE_INVALID, named as `file:line: key.path: what is wrong`, except a strategy
 * the secret's target does not rotate with, which is KT_TARGET_STRATEGY_UNSUPPORTED at
 * `secrets.PATH.strategy` (./check-strategies.ts).
 *
 * Limits against hostile files: at most {@link MAX_CONFIG_BYTES} (checked before the file or stdin
 * is read in full) and at most {@link MAX_ALIAS_COUNT} alias expansions (a "billion laughs" bomb).
 *
 * @example
 * ```ts
 * const config = loadConfigFile('keyturn.yaml', process.env);
 * config.secrets['prod/db/app']?.strategy; // 'alternating-users'
 * ```
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { KeyturnError } from '../core/errors.js';
import { DEFAULT_MAX_VALUE_BYTES, printable, valueIssues } from '../core/values.js';
import { strategyIssues } from './check-strategies.js';
import { configSchema, type KeyturnConfig } from './schema.js';

/** The largest keyturn.yaml read: 1 MiB. */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** The most alias expansions a file may make (yaml's own default, stated here on purpose). */
export const MAX_ALIAS_COUNT = 100;

const ENV_REF = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Formats a zod issue path as a dot-path; secret paths (with "/") stay one segment. */
export function dotPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => String(p)).join('.');
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

/** The line of the node at `path` in the file (or of its nearest ancestor there), 0 when unknown. */
type Locate = (path: ReadonlyArray<PropertyKey>) => number;

function locator(doc: Document, lines: LineCounter): Locate {
  return (path) => {
    for (let n = path.length; n >= 0; n -= 1) {
      const node: unknown = doc.getIn(path.slice(0, n), true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
    }
    return 0;
  };
}

/** `file:line`, or the file alone when the line is unknown. */
function place(source: string, line: number): string {
  return line > 0 ? `${source}:${line}` : source;
}

/** A config-file error: it names the file and where in it, never a value. */
function fileError(message: string, details?: Record<string, unknown>): KeyturnError {
  return new KeyturnError('KT_CONFIG_FILE_INVALID', message, details ? { details } : {});
}

/** Expands `${env:VAR}` in a bootstrap value; a missing variable is an error naming it and where. */
function expand(value: unknown, env: Record<string, string | undefined>, path: readonly string[], at: (path: readonly string[]) => string): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) throw fileError(`${at(path)}: ${dotPath(path)}: environment variable ${name} is not set`);
      return v;
    });
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expand(v, env, [...path, k], at)]));
  }
  return value;
}

/** Limits the file is checked against, from the settings. */
export interface ConfigLimits {
  /** KEYTURN_MAX_VALUE_BYTES: the largest initial value (default 64 KiB). */
  maxValueBytes?: number;
}

/**
 * What the store would refuse in the initial values (field names, sizes, shape), plus an empty
 * value or one without fields, each at its key path: secrets.PATH.initial[.FIELD]. A field may be
 * empty: written in the file, it is deliberate (an admin without a password on a test server).
 */
function initialValueIssues(config: KeyturnConfig, maxValueBytes: number): Array<{ path: string[]; message: string }> {
  const out: Array<{ path: string[]; message: string }> = [];
  for (const [secret, s] of Object.entries(config.secrets)) {
    const v: unknown = s.initial;
    if (v === undefined) continue;
    const at = ['secrets', secret, 'initial'];
    for (const issue of valueIssues(v, maxValueBytes)) {
      const where = issue.field === undefined ? at : [...at, issue.field];
      // "; " separates the issues of one error, so the size is said without one.
      const message = issue.code === 'KT_VALUE_TOO_LARGE' ? `the value is ${String(issue.details?.size)} bytes, over the limit of ${maxValueBytes} bytes (KEYTURN_MAX_VALUE_BYTES)` : issue.message;
      out.push({ path: where, message: `${message} (${issue.code})` });
    }
    if (v === '') out.push({ path: at, message: 'the initial value is empty (KT_VALUE_EMPTY)' });
    else if (v !== null && typeof v === 'object') {
      if (Object.keys(v).length === 0) out.push({ path: at, message: 'the initial value has no fields (KT_VALUE_EMPTY)' });
    }
  }
  return out;
}

/**
 * Parses YAML text into a validated, frozen config. `source` names the file in errors, which are
 * KT_CONFIG_FILE_INVALID with `file:line` and the key path of each problem.
 */
export function parseConfig(text: string, env: Record<string, string | undefined>, source = 'keyturn.yaml', limits: ConfigLimits = {}): KeyturnConfig {
  assertConfigSize(Buffer.byteLength(text, 'utf8'), source);
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    throw fileError(`${source}:${e.linePos?.[0]?.line ?? '?'}: YAML error: ${e.message.split('\n')[0]}`);
  }
  const locate = locator(doc, lines);
  const at = (path: ReadonlyArray<PropertyKey>) => place(source, locate(path));
  // `file:line: key.path: message` for each issue, in file order (keys below secrets.PATH.initial are printed safely).
  const located = (found: ReadonlyArray<{ path: string[]; message: string }>): string[] =>
    found
      .map((i) => {
        const line = locate(i.path);
        const path = [...i.path.slice(0, 3), ...i.path.slice(3).map((f) => printable(f))];
        return { line, text: `${place(source, line)}: ${dotPath(path)}: ${i.message}` };
      })
      .sort((a, b) => a.line - b.line)
      .map((i) => i.text);
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (e) {
    // yaml throws a ReferenceError when aliases expand too far (or refer to nothing).
    const why = /excessive alias count/i.test(String((e as Error).message))
      ? `its aliases (*name) expand more than ${MAX_ALIAS_COUNT} times, which looks like an alias bomb ("billion laughs"); write the values out or use fewer aliases`
      : `YAML error: ${String((e as Error).message).split('\n')[0]}`;
    throw fileError(`${source}: ${why}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw fileError(`${source}: expected a mapping with version, targets and secrets`);
  // Only bootstrap values may reference the environment; anywhere else a ${env:} stays literal and fails validation where it matters.
  const secrets = (raw as { secrets?: unknown }).secrets;
  if (secrets && typeof secrets === 'object') {
    for (const [path, s] of Object.entries(secrets as Record<string, Record<string, unknown>>)) {
      if (s && typeof s === 'object' && 'initial' in s) s.initial = expand(s.initial, env, ['secrets', path, 'initial'], at);
    }
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => {
        // An unknown key is found in the file at the key itself, not at the mapping that holds it.
        const line = locate(i.code === 'unrecognized_keys' && i.keys.length > 0 ? [...i.path, i.keys[0]!] : i.path);
        return { line, text: `${place(source, line)}: ${dotPath(i.path) || '(top level)'}: ${i.message}` };
      })
      .sort((a, b) => a.line - b.line)
      .map((i) => i.text);
    throw fileError(issues.join('; '), { issues });
  }
  // A strategy the secret's target does not rotate with: refused now, not at the first run.
  const unsupported = strategyIssues(parsed.data);
  if (unsupported.length > 0) {
    const issues = located(unsupported);
    throw new KeyturnError('KT_TARGET_STRATEGY_UNSUPPORTED', issues.join('; '), { details: { issues } });
  }
  // The checks the store runs on a value, run on every initial value before anything is written.
  const bad = initialValueIssues(parsed.data, limits.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES);
  if (bad.length > 0) {
    const issues = located(bad);
    throw fileError(issues.join('; '), { issues });
  }
  return deepFreeze(parsed.data);
}

function assertConfigSize(size: number, source: string, atLeast = false): void {
  if (size <= MAX_CONFIG_BYTES) return;
  throw fileError(`${source} is ${atLeast ? 'more than ' : ''}${size} bytes; the limit for a configuration file is ${MAX_CONFIG_BYTES} bytes (1 MiB)`, { size, limit: MAX_CONFIG_BYTES });
}

/** Reads a file of at most MAX_CONFIG_BYTES: its size is checked before its content is read. */
function readBoundedFile(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw fileError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isFile()) assertConfigSize(stat.size, file);
    // Read one byte past the limit, so a file that grows (or is not a regular file) is still caught.
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    assertConfigSize(n, file, true);
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof KeyturnError) throw e;
    throw fileError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
  } finally {
    closeSync(fd);
  }
}

export function loadConfigFile(file: string, env: Record<string, string | undefined>, limits: ConfigLimits = {}): KeyturnConfig {
  return parseConfig(readBoundedFile(file), env, file, limits);
}

/**
 * Reads a config from a stream (stdin for `-f -`), stopping with KT_CONFIG_FILE_INVALID as soon as
 * it passes MAX_CONFIG_BYTES instead of holding all of it.
 *
 * @example
 * ```ts
 * const config = await readConfigStream(process.stdin, process.env, 'stdin');
 * ```
 */
export async function readConfigStream(stream: Readable, env: Record<string, string | undefined>, source = 'stdin', limits: ConfigLimits = {}): Promise<KeyturnConfig> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buf.length;
    if (size > MAX_CONFIG_BYTES) {
      stream.destroy();
      assertConfigSize(size, source, true);
    }
    chunks.push(buf);
  }
  return parseConfig(Buffer.concat(chunks).toString('utf8'), env, source, limits);
}
