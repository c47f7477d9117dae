/**
 * The stderr excerpt of a failed command, with every secret value taken out.
 *
 * A failing hook often prints what it was given, so before the last ~500 characters of its
 * stderr go into an error message, each value is replaced by `[redacted]`: the string value, or
 * the whole JSON value and every field value (strings, numbers, nested JSON and its leaves), each
 * also in its common encodings: JSON-escaped, URL-encoded, base64 and base64url (with or without
 * padding), hex (lower and upper case) and spaced out one character at a time; plus the base64 of
 * `a:b` for every two string fields (HTTP Basic's `username:password`). Longer forms go first so
 * a value that contains another is removed whole. Partial values are handled at both edges:
 *
 * - the kept tail of stderr may start in the middle of a value, so when stderr was cut, the
 *   first (longest value) characters are dropped before scrubbing;
 * - a command killed mid-write may end with the start of a value, so a trailing prefix of a
 *   value (4 characters or more) is redacted too.
 *
 * Scrubbing happens before the excerpt is cut to length (at most {@link EXCERPT_CHARS} characters
 * and {@link EXCERPT_BYTES} bytes of UTF-8), so the cut never splits a value.
 *
 * @example
 * ```ts
 * const forms = secretForms({ password: 'hunter2!' });
 * stderrExcerpt(Buffer.from('login failed for hunter2!\n'), false, forms); // 'login failed for [redacted]'
 * ```
 */
import type { JsonValue, SecretValue } from '../../core/types.js';

export const REDACTED = '[redacted]';
export const EXCERPT_CHARS = 500;
/** The excerpt's most bytes (UTF-8), whatever its characters. */
export const EXCERPT_BYTES = 512;
/** Most string fields paired for the HTTP Basic form (n × n pairs). */
const MAX_BASIC_FIELDS = 16;
const MIN_TRAILING_PREFIX = 4;

/** Every spelling of every value in `value` that must not appear in a message, longest first. */
export function secretForms(value: SecretValue): string[] {
  const leaves: string[] = [];
  const visit = (v: JsonValue): void => {
    if (typeof v === 'string') leaves.push(v);
    else if (typeof v === 'number') leaves.push(String(v));
    else if (Array.isArray(v)) {
      leaves.push(JSON.stringify(v));
      v.forEach(visit);
    } else if (v !== null && typeof v === 'object') {
      leaves.push(JSON.stringify(v));
      Object.values(v).forEach(visit);
    }
  };
  const derived: string[] = [];
  if (typeof value === 'string') leaves.push(value);
  else {
    leaves.push(JSON.stringify(value));
    Object.values(value).forEach(visit);
    // HTTP Basic: base64 of `username:password`, for every two string fields.
    const strings = Object.values(value)
      .filter((v): v is string => typeof v === 'string' && v !== '')
      .slice(0, MAX_BASIC_FIELDS);
    for (const a of strings) for (const b of strings) if (a !== b) derived.push(...base64Forms(`${a}:${b}`));
  }

  const forms = new Set<string>(derived);
  for (const leaf of leaves) {
    forms.add(leaf);
    forms.add(JSON.stringify(leaf).slice(1, -1));
    forms.add(encodeURIComponent(leaf));
    for (const f of base64Forms(leaf)) forms.add(f);
    const hex = Buffer.from(leaf, 'utf8').toString('hex');
    forms.add(hex);
    forms.add(hex.toUpperCase());
    if ([...leaf].length > 1) forms.add([...leaf].join(' '));
  }
  forms.delete('');
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Base64 and base64url of `text`, without their `=` padding (so padded and bare both match). */
function base64Forms(text: string): string[] {
  const b = Buffer.from(text, 'utf8');
  return [b.toString('base64').replace(/=+$/, ''), b.toString('base64url')];
}

/** How many bytes of stderr to keep so that the excerpt can be scrubbed and still be full length. */
export function stderrKeepBytes(forms: readonly string[]): number {
  const longest = forms[0]?.length ?? 0;
  return 4 * (EXCERPT_CHARS + longest) + 64;
}

/**
 * The last `EXCERPT_CHARS` characters of `tail` with every form replaced by `[redacted]`.
 * `truncated` says whether `tail` is only the end of a longer stderr.
 */
export function stderrExcerpt(tail: Buffer, truncated: boolean, forms: readonly string[]): string {
  let text = tail.toString('utf8');
  // A value cut by the start of the kept tail spans at most (longest - 1) characters, plus up to
  // three U+FFFD from a multi-byte character split by the cut.
  if (truncated) text = text.slice((forms[0]?.length ?? 0) + 3);
  for (const form of forms) text = text.split(form).join(REDACTED);
  text = redactTrailingPrefix(text, forms);
  text = text.replace(/[^\x20-\x7e\n\t\u00a0-\uffff]/g, '?').trimEnd();
  const cut = truncated || text.length > EXCERPT_CHARS || Buffer.byteLength(text) > EXCERPT_BYTES;
  if (!cut) return text;
  let excerpt = text.slice(-EXCERPT_CHARS);
  // '…' takes 3 bytes of the budget.
  while (Buffer.byteLength(excerpt) > EXCERPT_BYTES - 3) excerpt = [...excerpt].slice(1).join('');
  return `…${excerpt}`;
}

function redactTrailingPrefix(text: string, forms: readonly string[]): string {
  let longest = 0;
  for (const form of forms) {
    const max = Math.min(form.length - 1, text.length, EXCERPT_CHARS);
    for (let k = max; k >= MIN_TRAILING_PREFIX && k > longest; k--) {
      if (text.endsWith(form.slice(0, k))) {
        longest = k;
        break;
      }
    }
  }
  return longest === 0 ? text : `${text.slice(0, -longest)}${REDACTED}`;
}
