/**
 * Renders docs/errors.md from the error registry. `npm run docs:errors` writes it; a test fails
 * when the committed page and the registry differ.
 */
import { ERRORS, exitCodeOf, type ErrorCode } from './errors.js';

const HEADER = `# Error codes

Every error Keyturn reports on purpose carries a stable \`KT_\` code, a message that names what is
wrong (never a secret value), a fix, and the HTTP status the API answers with. The CLI prints
\`error CODE: message\` and \`fix: ...\` on stderr (with \`--json\`: \`{"error": {...}}\`), and exits with:

| exit code | meaning |
| --- | --- |
| 0 | success |
| 1 | failure (anything not the caller's input) |
| 2 | usage error or bad input (every code with HTTP status 400) |

This page is generated from \`src/core/errors.ts\` by \`npm run docs:errors\`; a test keeps it in sync.

| code | status | exit | what it means | what to do |
| --- | --- | --- | --- | --- |
`;

export function renderErrorsDoc(): string {
  const rows = (Object.keys(ERRORS) as ErrorCode[]).map((code) => {
    const e = ERRORS[code];
    const cell = (s: string) => s.replace(/\|/g, '\\|');
    return `| \`${code}\` | ${e.status} | ${exitCodeOf(code)} | ${cell(e.title)} | ${cell(e.fix)} |`;
  });
  return `${HEADER}${rows.join('\n')}\n`;
}
