/**
 * The version `keyturn --version` prints: package.json's. The CLI bundle gets it at build time
 * (scripts/bundle-cli.js defines `__KEYTURN_VERSION__`), so start-up reads no file; unbundled
 * code (the sources under test, dist/ as a library) reads package.json, two folders up from
 * both src/cli/ and dist/cli/.
 *
 * @example
 * ```ts
 * program.version(cliVersion(), '-V, --version'); // '0.1.0'
 * ```
 */
import { readFileSync } from 'node:fs';

declare const __KEYTURN_VERSION__: string | undefined;

export function cliVersion(): string {
  return typeof __KEYTURN_VERSION__ === 'string' ? __KEYTURN_VERSION__ : (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}
