/**
 * One CSV field as the reports write it (RFC 4180): always quoted, quotes doubled. A text that a
 * spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage
 * return) gets a leading `'`, so opening a report never runs what a path or a message holds
 * (OWASP's CSV injection advice); numbers are written as they are.
 *
 * @example
 * ```ts
 * csvField('prod/db'); // '"prod/db"'
 * csvField('=HYPERLINK("x")'); // '"\'=HYPERLINK(""x"")"'
 * csvField(-3); // '"-3"'
 * ```
 */
export function csvField(v: string | number | null | undefined): string {
  const text = v === null || v === undefined ? '' : typeof v === 'number' ? String(v) : /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return `"${text.replaceAll('"', '""')}"`;
}
