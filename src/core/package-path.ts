/**
 * Paths inside the installed Keyturn package (its schema/ and docs/), found from wherever this
 * code runs: the sources, dist/ or the CLI bundle in dist/bundle/chunks/.
 *
 * @example
 * ```ts
 * packagePath('schema', 'keyturn.schema.json'); // /usr/lib/node_modules/keyturn/schema/keyturn.schema.json
 * ```
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The folder holding Keyturn's package.json. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'keyturn') return (root = dir);
    const up = dirname(dir);
    if (up === dir) throw new Error('the keyturn package.json was not found above this module');
    dir = up;
  }
}

export function packagePath(...segments: string[]): string {
  return join(packageRoot(), ...segments);
}
