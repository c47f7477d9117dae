/**
 * Secret values: parsing, validation and the size limit.
 *
 * The limit counts the UTF-8 bytes of the stored form (the string itself, or the JSON text of
 * the fields object). Errors name sizes and field names, never the value.
 */
import { KeyturnError } from './errors.js';
import { STAGES, type SecretValue, type Stage } from './types.js';

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

/** Throws unless `value` is a string or a plain object of fields within `maxBytes`. */
export function assertValidValue(value: unknown, maxBytes: number): asserts value is SecretValue {
  if (typeof value !== 'string') {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new KeyturnError('KT_VALUE_NOT_OBJECT', 'a secret value must be a string or a JSON object of fields');
    }
    for (const name of Object.keys(value)) {
      if (!FIELD_NAME.test(name)) throw new KeyturnError('KT_VALUE_FIELD_INVALID', `field name "${printable(name)}" must match [A-Za-z0-9._-]+`);
    }
  }
  const size = encodeValue(value as SecretValue).bytes.length;
  if (size > maxBytes) {
    throw new KeyturnError('KT_VALUE_TOO_LARGE', `the value is ${size} bytes; the limit is ${maxBytes} bytes`, {
      details: { size, limit: maxBytes },
    });
  }
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
