/**
 * How the http-api-key target recognizes a key at the provider without the provider ever giving
 * the key back: by the name it was created with (`keyName`: `kt-` and the first 16 hex digits of
 * the key's SHA-256, which tells nothing usable about a random key and is safe in logs), or, for
 * a key Keyturn did not create (the first one, made by hand), by the provider's hint of it (its
 * first and last characters, as `sk-a…f9d2` or `****f9d2`). Also reads the items of a `list`
 * answer by the configured field paths.
 *
 * @example
 * ```ts
 * keyName('Kt-4Nq…');                       // 'kt-3f9a1c07de52b6a0'
 * hintMatches('Kt-4…x9Qz', 'Kt-4Nq…x9Qz');  // true
 * listedKeys({ data: [{ id: 7, name: 'kt-3f9a…' }] }, { items: 'data', id: 'id', name: 'name' }); // [{ id: '7', name: 'kt-3f9a…', hint: null }]
 * ```
 */
import { createHash } from 'node:crypto';

/** A keyturn key name anywhere in a name the provider shows. */
const KEYTURN_NAME = /kt-[0-9a-f]{16}/;

/**
 * The name Keyturn gives a key at create: derived from the key, so it is found again after a crash.
 *
 * @example
 * ```ts
 * keyName('secret-value').startsWith('kt-'); // true
 * ```
 */
export function keyName(key: string): string {
  return `kt-${createHash('sha256').update(key, 'utf8').digest('hex').slice(0, 16)}`;
}

/** True when `name` holds the keyturn name of `key`. */
export function namedFor(name: string | null, key: string): boolean {
  return name !== null && name.includes(keyName(key));
}

/** True when `name` holds a keyturn name (of any key). */
export function isKeyturnName(name: string | null): boolean {
  return name !== null && KEYTURN_NAME.test(name);
}

/** A mask between the shown start and end of a hint: three or more dots or asterisks, or an ellipsis. */
const MASK = /(?:\.{3,}|\*{3,}|…+)/;

/**
 * True when the provider's `hint` fits `key`: the part before the mask starts the key and the part
 * after ends it (a hint without a mask: the key's last characters), showing at least 4 characters.
 *
 * @example
 * ```ts
 * hintMatches('****f9d2', 'abcdef9d2'); // true
 * hintMatches('ab…zz', 'abcdef9d2');   // false
 * ```
 */
export function hintMatches(hint: string, key: string): boolean {
  const parts = hint.split(MASK);
  if (parts.length > 2) return false;
  const [start, end] = parts.length === 2 ? [parts[0]!, parts[1]!] : ['', parts[0]!];
  if (start.length + end.length < 4 || start.length + end.length >= key.length) return false;
  return key.startsWith(start) && key.endsWith(end);
}

/** One key as the provider lists it. */
export interface ListedKey {
  readonly id: string;
  readonly name: string | null;
  readonly hint: string | null;
}

/** The value at a dotted path (`data.items`, `0.id`); '' is the value itself. */
export function pick(value: unknown, path: string): unknown {
  if (path === '') return value;
  let at: unknown = value;
  for (const segment of path.split('.')) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<string, unknown>)[segment];
  }
  return at;
}

function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return null;
}

/**
 * The keys of a `list` answer, or null when the answer does not have the configured shape (no
 * array at `items`, an item without an id).
 *
 * @example
 * ```ts
 * listedKeys([{ key_id: 'a1', label: 'kt-…' }], { items: '', id: 'key_id', name: 'label' }); // [{ id: 'a1', name: 'kt-…', hint: null }]
 * ```
 */
export function listedKeys(answer: unknown, fields: { readonly items: string; readonly id: string; readonly name: string; readonly hint?: string | undefined }): ListedKey[] | null {
  const items = pick(answer, fields.items);
  if (!Array.isArray(items)) return null;
  const out: ListedKey[] = [];
  for (const item of items) {
    const id = text(pick(item, fields.id));
    if (id === null) return null;
    out.push({ id, name: text(pick(item, fields.name)), hint: fields.hint === undefined ? null : text(pick(item, fields.hint)) });
  }
  return out;
}
