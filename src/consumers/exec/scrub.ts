/**
 * The stderr excerpt of a failed command, with every secret value taken out.
 *
 * A failing hook often prints what it was given, so before the last ~500 characters of its
 * stderr go into an error message, each value is replaced by `[redacted]`: the string value, or
 * every field value (strings, numbers, nested JSON and its leaves), each also in its JSON-escaped
 * and URL-encoded spellings. Longer forms go first so a value that contains another is removed
 * whole. Partial values are handled at both edges:
 *
 * - the kept tail of stderr may start in the middle of a value, so when stderr was cut, the
 *   first (longest value) characters are dropped before scrubbing;
 * - a command killed mid-write may end with the start of a value, so a trailing prefix of a
 *   value (4 characters or more) is redacted too.
 *
 * Scrubbing happens before the excerpt is cut to length, so the cut never splits a value.
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
  if (typeof value === 'string') leaves.push(value);
  else Object.values(value).forEach(visit);

  const forms = new Set<string>();
  for (const leaf of leaves) {
    forms.add(leaf);
    forms.add(JSON.stringify(leaf).slice(1, -1));
    forms.add(encodeURIComponent(leaf));
  }
  forms.delete('');
  return [...forms].sort((a, b) => b.length - a.length);
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
  const cut = truncated || text.length > EXCERPT_CHARS;
  return cut ? `…${text.slice(-EXCERPT_CHARS)}` : text;
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
