// Bundles the CLI (src/cli/entry.ts) into dist/bundle/: one entry chunk with what every command
// needs to parse its arguments, and one chunk per lazily imported module, so `keyturn --version`
// loads a few hundred kilobytes and a command loads only what it uses. The database and target
// drivers (pg, mysql2, ioredis, ldapts, amqplib, ssh2), the PKCS#11 addon (pkcs11js) and pino stay in node_modules and load only
// when a target or state database of that kind is used, or a message is logged. Run by `npm run build` (and so by `prepare` at `npm ci`).
import { rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { builtinModules } from 'node:module';
import { build } from 'esbuild';

const outdir = new URL('../dist/bundle/', import.meta.url).pathname;
const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
rmSync(outdir, { recursive: true, force: true });

// Node's built-ins come from process.getBuiltinModule(), not an ES import: for `import ... from
// 'node:crypto'` Node builds an ES module facade that reads every export (and so loads what sits
// behind lazy getters: webcrypto, undici behind node:http, ...), several ms a module at every
// start. The shim is CommonJS, so default, named and require() imports all get the module itself.
const builtins = new Set(builtinModules);
// Some built-ins are costly to load or to copy into a module namespace (node:util's properties
// take ~5 ms to enumerate, child_process ~6 ms to load) and sit on every path only because
// commander imports them. They get an ES shim whose functions load the module when first called.
// Only the names below exist: importing another one fails the build, loudly.
const lazyShim = (name, functions) => `const load = () => process.getBuiltinModule('${name}');
${functions.map((f) => `export const ${f} = (...args) => load().${f}(...args);`).join('\n')}
export default new Proxy({}, { get: (_, key) => load()[key] });`;
const LAZY = {
  'node:child_process': lazyShim('node:child_process', ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork']),
  'node:util': lazyShim('node:util', ['promisify', 'stripVTControlCharacters', 'inspect', 'format', 'isDeepStrictEqual']),
};
const builtinShim = {
  name: 'builtin-shim',
  setup(b) {
    b.onResolve({ filter: /^[a-z_:/]+$/ }, (args) => {
      const name = args.path.startsWith('node:') ? args.path.slice(5) : args.path;
      if (!builtins.has(name) && !builtins.has(args.path)) return undefined;
      return { path: args.path.startsWith('node:') ? args.path : `node:${name}`, namespace: 'builtin-shim' };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin-shim' }, (args) => ({ contents: LAZY[args.path] ?? `module.exports = process.getBuiltinModule(${JSON.stringify(args.path)});`, loader: 'js' }));
  },
};

// ES imports of built-ins in our sources and commander become plain lookups, so they need no
// shim module at all (each shared shim would be a chunk of its own, a file to load at start-up):
// `import { join } from 'node:path'` -> `const { join } = process.getBuiltinModule('node:path');`.
// commander's default import of child_process becomes a proxy that loads it when first used.
const IMPORT = /^import\s+(?!type\s)([^;'"]+?)\s+from\s+['"](node:[\w/]+)['"];?[ \t]*$/gm;
function rewriteBuiltinImports(text) {
  return text.replace(IMPORT, (line, clause, name) => {
    const get = `globalThis.process.getBuiltinModule(${JSON.stringify(name)})`;
    const parts = [];
    const named = /\{([^}]*)\}/.exec(clause);
    const head = clause
      .replace(/\{[^}]*\}/, '')
      .replace(/,\s*$/, '')
      .trim();
    if (head.startsWith('* as ')) parts.push(`const ${head.slice(5).trim()} = ${get};`);
    else if (head !== '') parts.push(`const ${head} = ${name in LAZY ? `new Proxy({}, { get: (_, key) => ${get}[key] })` : get};`);
    if (named) {
      const bindings = named[1]
        .split(',')
        .map((b) => b.trim())
        .filter((b) => b !== '' && !b.startsWith('type '))
        .map((b) => b.replace(/^(\w+)\s+as\s+(\w+)$/, '$1: $2'));
      if (bindings.length > 0) parts.push(`const { ${bindings.join(', ')} } = ${get};`);
    }
    return parts.join(' ');
  });
}
const builtinImports = {
  name: 'builtin-imports',
  setup(b) {
    b.onLoad({ filter: /\/(src\/.*\.ts|node_modules\/commander\/.*\.js)$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      return { contents: rewriteBuiltinImports(text), loader: args.path.endsWith('.ts') ? 'ts' : 'js', resolveDir: dirname(args.path) };
    });
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
  external: [
    'pg',
    'mysql2',
    'mysql2/*',
    'ioredis',
    'ldapts',
    'amqplib',
    'ssh2',
    'pkcs11js',
    'pino',
    'fastify',
    'prom-client',
    'undici',
    'jose',
    '@aws-sdk/*',
    '@azure/*',
    '@google-cloud/*',
    '@grpc/*',
    'oci-*',
    '@kubernetes/client-node',
  ],
  sourcemap: 'linked',
  // Less to read and hash at every start (the compile cache is keyed by the file's content);
  // names stay, so profiles and stack traces read as the sources.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'linked',
  // CommonJS dependencies bundled into ESM still call require() for Node's built-ins.
  banner: { js: "import { createRequire as __keyturnRequire } from 'node:module'; const require = __keyturnRequire(import.meta.url);" },
  // `keyturn --version` (src/cli/version.ts): package.json's version, read here once, not at every start.
  define: { __KEYTURN_VERSION__: JSON.stringify(version) },
  plugins: [builtinImports, builtinShim],
  metafile: true,
  logLevel: 'warning',
});

// What each output file holds and imports statically: test/cli-startup.test.ts reads it to check
// that the entry loads no driver, database or schema library.
writeFileSync(new URL('meta.json', `file://${outdir}`), JSON.stringify(result.metafile));
