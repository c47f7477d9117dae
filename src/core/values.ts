/**
 * Secret values: parsing, validation and the size limit.
 *
 * The limit counts the UTF-8 bytes of the stored form (the string itself, or the JSON text of
 * the fields object). Errors name sizes and field names, never the value.
 */
import { KeyturnError } from './errors.js';
import { STAGES, type JsonValue, type SecretValue, type Stage, type Version } from './types.js';

export const DEFAULT_MAX_VALUE_BYTES = 64 * 1024;
const FIELD_NAME = /^[A-Za-z0-9._-]+$/;

/** The bytes a value is stored as. */
export function encodeValue(value: SecretValue): { kind: 'string' | 'json'; bytes: Buffer } {
  if (typeof value === 'string') return { kind: 'string', bytes: Buffer.from(value, 'utf8') };
  return { kind: 'json', bytes: Buffer.from(JSON.stringify(value), 'utf8') };
}

export function decodeValue(kind: 'string' | 'json', bytes: Buffer): SecretValue {
  const text = bytes.toString('utf8');
  return kind === 'string' ? text : (JSON.parse(text) as SecretValue);
}

/** One reason a value cannot be stored: the code the store throws, and the field it is about. */
export interface ValueIssue {
  code: 'KT_VALUE_NOT_OBJECT' | 'KT_VALUE_FIELD_INVALID' | 'KT_VALUE_TOO_LARGE';
  /** The field whose name is wrong, for KT_VALUE_FIELD_INVALID. */
  field?: string;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * Every reason the store would refuse `value` (shape, field names, size against `maxBytes`);
 * empty when it can be stored. The checks {@link assertValidValue} runs, for callers that report
 * them all at once (keyturn.yaml's initial values).
 *
 * @example
 * ```ts
 * valueIssues({ 'bad field': 'x' }, 65536); // [{ code: 'KT_VALUE_FIELD_INVALID', field: 'bad field', ... }]
 * ```
 */
export function valueIssues(value: unknown, maxBytes: number): ValueIssue[] {
  if (typeof value !== 'string') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return [{ code: 'KT_VALUE_NOT_OBJECT', message: 'a secret value must be a string or a JSON object of fields' }];
    }
    const bad = Object.keys(value).filter((name) => !FIELD_NAME.test(name));
    if (bad.length > 0) return bad.map((name) => ({ code: 'KT_VALUE_FIELD_INVALID', field: name, message: `field name "${printable(name)}" must match [A-Za-z0-9._-]+` }));
  }
  const size = encodeValue(value as SecretValue).bytes.length;
  if (size > maxBytes) return [{ code: 'KT_VALUE_TOO_LARGE', message: `the value is ${size} bytes; the limit is ${maxBytes} bytes`, details: { size, limit: maxBytes } }];
  return [];
}

/** Throws unless `value` is a string or a plain object of fields within `maxBytes`. */
export function assertValidValue(value: unknown, maxBytes: number): asserts value is SecretValue {
  const first = valueIssues(value, maxBytes)[0];
  if (first) throw new KeyturnError(first.code, first.message, first.details ? { details: first.details } : {});
}

/** Parses JSON text into a fields object, with a `KT_` error that does not echo the text. */
export function parseJsonValue(text: string): SecretValue {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    const position = /position (\d+)/.exec(String((e as Error).message))?.[1];
    throw new KeyturnError('KT_VALUE_INVALID_JSON', `the value is not valid JSON${position ? ` (at character ${position})` : ''}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new KeyturnError('KT_VALUE_NOT_OBJECT', 'a JSON value must be an object of fields');
  }
  return parsed as SecretValue;
}

/** Parses `name=value` pairs into a fields object. */
export function parseFields(pairs: readonly string[]): SecretValue {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    // Without "=", the text may be a value typed by mistake: never echo it.
    if (eq < 0) throw new KeyturnError('KT_VALUE_FIELD_INVALID', 'a --field has no "="; give it as name=value');
    const name = pair.slice(0, eq);
    if (!FIELD_NAME.test(name)) {
      throw new KeyturnError('KT_VALUE_FIELD_INVALID', `field name "${printable(name)}" must be non-empty [A-Za-z0-9._-]`);
    }
    out[name] = pair.slice(eq + 1);
  }
  return out;
}

/** Parses a stage name, or throws KT_STAGE_UNKNOWN. */
export function parseStage(text: string): Stage {
  if ((STAGES as readonly string[]).includes(text)) return text as Stage;
  throw new KeyturnError('KT_STAGE_UNKNOWN', `unknown stage "${printable(text)}"; use one of: ${STAGES.join(', ')}`);
}

/** A short, safe rendering of user text for an error message (names only, never values). */
export function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 64 ? `${clean.slice(0, 61)}...` : clean;
}

/** One field of a version's value: KT_FIELD_NOT_AVAILABLE for a plain string, KT_FIELD_NOT_FOUND for a missing field. */
export function fieldOf(version: Version, field: string): JsonValue {
  if (typeof version.value === 'string') throw new KeyturnError('KT_FIELD_NOT_AVAILABLE', `${version.path} holds a plain string, not fields`);
  if (!Object.hasOwn(version.value, field)) {
    throw new KeyturnError('KT_FIELD_NOT_FOUND', `${version.path} version ${version.number} has no field "${printable(field)}"; it has: ${Object.keys(version.value).join(', ')}`);
  }
  return version.value[field]!;
}
