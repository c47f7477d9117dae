/**
 * Strict standard base64 (RFC 4648 §4, with padding) for the audit formats.
 *
 * Node's `Buffer.from(s, 'base64')` skips characters it does not know and accepts missing
 * padding, so two different strings can decode to the same bytes. Signed notes, checkpoints
 * and proofs must have exactly one spelling, so this decoder takes only the canonical one.
 *
 * @example
 * ```ts
 * decodeBase64Strict('AAEC');   // <Buffer 00 01 02>
 * decodeBase64Strict('AAEC\n'); // null
 * ```
 */

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Decodes canonical padded base64, or returns null for anything else. */
export function decodeBase64Strict(text: string): Buffer | null {
  if (!BASE64.test(text)) return null;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : null;
}
