/**
 * Vitest global setup: bundles the CLI from the sources before any test runs, so the tests that
 * spawn `bin/keyturn.js` run what the sources say, never a stale dist/bundle. esbuild takes
 * about a second; the type check stays with `npm run build`. The web dashboard (ui/) is built
 * into dist/ui too (Vite, about 1.5 s) when a file of ui/ is newer than the last build, so the
 * tests of `/ui` serve what its sources say.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** The newest modification time of the files under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  execFileSync(process.execPath, [join(root, 'scripts/bundle-cli.js')], { stdio: 'inherit' });
  const built = join(root, 'dist/ui/index.html');
  if (!existsSync(built) || statSync(built).mtimeMs < newest(join(root, 'ui'))) {
    execFileSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(root, 'ui/vite.config.js'), '--logLevel', 'warn'], { stdio: 'inherit' });
  }
}
