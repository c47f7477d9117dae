// Bundles the CLI (src/cli/entry.ts) into dist/bundle/: one entry chunk with what every command
// needs to parse its arguments, and one chunk per lazily imported module, so `keyturn --version`
// loads a few hundred kilobytes and a command loads only what it uses. The database and target
// drivers (pg, mysql2, ioredis) and pino stay in node_modules and load only when a target or state
// database of that kind is used, or a message is logged. Run by `npm run build` (and so by `prepare` at `npm ci`).
import { rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

const outdir = new URL('../dist/bundle/', import.meta.url).pathname;
rmSync(outdir, { recursive: true, force: true });

// Node's built-ins come from process.getBuiltinModule(), not an ES import: for `import ... from
// 'node:crypto'` Node builds an ES module facade that reads every export (and so loads what sits
// behind lazy getters: webcrypto, undici behind node:http, ...), several ms a module at every
// start. The shim is CommonJS, so default, named and require() imports all get the module itself.
const builtins = new Set(builtinModules);
const builtinShim = {
  name: 'builtin-shim',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      const name = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
      if (!builtins.has(name) && !builtins.has(args.path)) return undefined;
      return { path: args.path.startsWith('node:') ? args.path : `node:${name}`, namespace: 'builtin-shim' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin-shim' }, (args) => ({ contents: `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`, loader: 'js' }));
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
  // .mjs: Node knows the module type from the name, without looking for a package.json per file.
  outExtension: { '.js': '.mjs' },
  external: ['pg', 'mysql2', 'mysql2/*', 'ioredis', 'pino'],
  sourcemap: 'linked',
  legalComments: 'linked',
  // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __keyturnRequire } from 'node:module'; const require = __keyturnRequire(import.meta.url);" },
  plugins: [builtinShim],
  metafile: true,
  logLevel: 'warning',
});

// What each output file holds and imports statically: test/cli-startup.test.ts reads it to check
// that the entry loads no driver, database or schema library.
writeFileSync(new URL('meta.json', `file://${outdir}`), JSON.stringify(result.metafile));
