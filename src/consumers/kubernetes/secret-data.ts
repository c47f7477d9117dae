/**
 * How a Keyturn value becomes the `data` of a Kubernetes Secret, so that pods mounting it or
 * reading it through `envFrom` see ordinary keys: a value of fields gives one key per field (a
 * string field as is, any other JSON value as its JSON text), a plain string the key `value`.
 * The annotations say which secret and version the data is and whether it was a string or
 * fields, so the value can be read back exactly.
 *
 * @example
 * ```ts
 * secretData({ username: 'app', password: 'p' }); // { username: 'YXBw', password: 'cA==' }
 * valueFromData(secretData('s3cret'), 'string'); // 's3cret'
 * ```
 */
import type { JsonValue, SecretValue } from '../../core/types.js';

/** Annotation keys Keyturn writes on the Secrets it manages. */
export const ANNOTATIONS = {
  path: 'keyturn.dev/path',
  version: 'keyturn.dev/version',
  versionId: 'keyturn.dev/version-id',
  kind: 'keyturn.dev/kind',
} as const;

/** The owner label of a Secret Keyturn created. */
export const MANAGED_BY = { key: 'app.kubernetes.io/managed-by', value: 'keyturn' } as const;

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** Field names that cannot be Secret keys (keys are `[-._a-zA-Z0-9]+`, at most 253). */
export function badKeys(value: SecretValue): string[] {
  if (typeof value === 'string') return [];
  return Object.keys(value).filter((k) => !SECRET_KEY.test(k) || k === '.' || k === '..' || k.length > 253);
}

/** The Secret `data` (base64 values) for a value. Check {@link badKeys} first. */
export function secretData(value: SecretValue): Record<string, string> {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  if (typeof value === 'string') return { value: b64(value) };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = b64(typeof v === 'string' ? v : JSON.stringify(v));
  return out;
}

/** The kind annotation of a value: `string` or `json`. */
export function valueKind(value: SecretValue): 'string' | 'json' {
  return typeof value === 'string' ? 'string' : 'json';
}

/**
 * The value a Secret's `data` holds: the key `value` for a `string`, else the fields (each field
 * parsed back from JSON when `fieldKinds` says it was not a string; by default every field is a string).
 */
export function valueFromData(data: Record<string, string> | undefined, kind: string | undefined): SecretValue {
  const text = (b: string) => Buffer.from(b, 'base64').toString('utf8');
  const d = data ?? {};
  if (kind === 'string') return text(d.value ?? '');
  const out: Record<string, JsonValue> = {};
  for (const [k, v] of Object.entries(d)) out[k] = text(v);
  return out;
}

/** True when two `data` maps hold the same keys and bytes. */
export function sameData(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const left = a ?? {};
  const keys = Object.keys(left);
  return keys.length === Object.keys(b).length && keys.every((k) => b[k] !== undefined && Buffer.from(left[k]!, 'base64').equals(Buffer.from(b[k]!, 'base64')));
}
