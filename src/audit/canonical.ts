/**
 * RFC 8785 (JCS) canonical JSON: the one byte form of an audit event.
 *
 * Keys are sorted by UTF-16 code units, there is no whitespace, numbers use the ECMAScript
 * shortest form and strings the minimal JSON escapes, so the same event always hashes the same.
 * Values JSON cannot carry exactly (NaN, Infinity, lone surrogates, cycles, BigInt, or an
 * undefined top-level value) are refused with KT_AUDIT_EVENT_INVALID; as in JSON.stringify,
 * object members whose value is undefined are left out.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: 'x' }).toString(); // '{"a":"x","b":1}'
 * ```
 */
import canonicalize from 'canonicalize';
import { KeyturnError } from '../core/errors.js';

/** The RFC 8785 canonical UTF-8 bytes of a JSON value. */
export function canonicalJson(value: unknown): Buffer {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (e) {
    throw new KeyturnError('KT_AUDIT_EVENT_INVALID', `the value has no canonical JSON form: ${(e as Error).message}`, { cause: e });
  }
  if (text === undefined) throw new KeyturnError('KT_AUDIT_EVENT_INVALID', 'the value has no JSON form (undefined, a function or a symbol)');
  return Buffer.from(text, 'utf8');
}
