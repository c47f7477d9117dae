/**
 * Vitest global setup: bundles the CLI from the sources before any test runs, so the tests that
 * spawn `bin/keyturn.js` run what the sources say, never a stale dist/bundle. esbuild takes
 * about a second; the type check stays with `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/bundle-cli.js', import.meta.url))], { stdio: 'inherit' });
}
