// Bundles the CLI (src/cli/entry.ts) into dist/bundle/: one entry chunk with what every command
// needs to parse its arguments, and one chunk per lazily imported module, so `keyturn --version`
// loads a few hundred kilobytes and a command loads only what it uses. The database and target
// drivers (pg, mysql2, ioredis) and pino stay in node_modules and load only when a target or state
// database of that kind is used, or a message is logged. Run by `npm run build` (and so by `prepare` at `npm ci`).
import { rmSync, writeFileSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = new URL('../dist/bundle/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });

// `import process from 'node:process'` (commander) makes Node build an ES module facade of the
// process object, touching every lazy getter on it: a few milliseconds of every start. The global
// is the same object; the shim is CommonJS so that both `import process from` and `require('process')` get it.
const processGlobal = {
  name: 'process-global',
  setup(b) {
    b.onResolve({ filter: /^(node:)?process$/ }, () => ({ path: 'process', namespace: 'process-global' }));
    b.onLoad({ filter: /.*/, namespace: 'process-global' }, () => ({ contents: 'module.exports = globalThis.process;', loader: 'js' }));
  },
};

const result = await build({
  entryPoints: { keyturn: new URL('../src/cli/entry.ts', import.meta.url).pathname },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22.13',
  chunkNames: 'chunks/[name]-[hash]',
  external: ['pg', 'mysql2', 'mysql2/*', 'ioredis', 'pino'],
  sourcemap: 'linked',
  legalComments: 'linked',
  // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __keyturnRequire } from 'node:module'; const require = __keyturnRequire(import.meta.url);" },
  plugins: [processGlobal],
  metafile: true,
  logLevel: 'warning',
});

// What each output file holds and imports statically: test/cli-startup.test.ts reads it to check
// that the entry loads no driver, database or schema library.
writeFileSync(new URL('meta.json', `file://${outdir}`), JSON.stringify(result.metafile));
