/**
 * Text checks shared by the audit formats.
 *
 * A JavaScript string can hold a lone UTF-16 surrogate, which has no UTF-8 encoding: written
 * out it silently becomes U+FFFD, so the bytes signed or hashed would not be the text checked.
 * (`String.prototype.isWellFormed` does the same, but is ES2024 and this project targets ES2023.)
 *
 * @example
 * ```ts
 * isWellFormedText('ok ✓'); // true
 * isWellFormedText('\ud800'); // false
 * ```
 */

const LONE_SURROGATE = /\p{Cs}/u;

/** True when `text` has no lone surrogate, i.e. it round-trips through UTF-8 unchanged. */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}
