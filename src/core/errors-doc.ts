/**
 * Renders docs/errors.md from the error registry. `npm run docs:errors` writes it; a test fails
 * when the committed page and the registry differ.
 */
import { ERRORS, EXIT_CODES, exitCodeOf, type ErrorCode } from './errors.js';

const HEADER = `# Error codes

Every error Keyturn reports on purpose carries a stable \`KT_\` code, a message that names what is
wrong (never a secret value), a fix, and the HTTP status the API answers with. The CLI prints
\`error CODE: message\` and \`fix: ...\` on stderr (with \`--json\`: \`{"error": {...}}\`), and exits with:

| exit code | meaning |
| --- | --- |
${EXIT_CODES.map((e) => `| ${e.code} | ${e.meaning} |`).join('\n')}

The exit code follows from the HTTP status alone: 400 exits 2, 404 exits 3, every other status
exits 1. A 404 means that what the command names or selects (a secret, version, stage, field,
run, policy, the target a policy names, or an audit event) does not exist in Keyturn; something
missing outside Keyturn, such as a user on a target, is a failure (exit 1).

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
