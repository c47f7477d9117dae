/**
 * The little XML the local S3 server writes: escaped text, elements, and S3's error document
 * (`<Error><Code/><Message/><Resource/><RequestId/></Error>`).
 *
 * @example
 * ```ts
 * errorXml('NoSuchKey', 'The specified key does not exist.', '/audit/x.json', 'req-1');
 * el('Key', 'a&b'); // '<Key>a&amp;b</Key>'
 * ```
 */

export const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** XML text with &, <, >, " and ' escaped. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] as string);
}

/** `<name>text</name>` with the text escaped (pass `raw` for already-built children). */
export function el(name: string, text: string | number | boolean, raw = false): string {
  return `<${name}>${raw ? String(text) : esc(String(text))}</${name}>`;
}

/** S3's error body. */
export function errorXml(code: string, message: string, resource: string, requestId: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${el('Code', code)}${el('Message', message)}${el('Resource', resource)}${el('RequestId', requestId)}</Error>`;
}
