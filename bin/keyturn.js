#!/usr/bin/env node
// The `keyturn` command: a thin launcher for the bundled CLI in dist/bundle/ (scripts/bundle-cli.js).
//
// Written to parse and run on any Node.js, so that an old one gets one clear line instead of a
// stack trace: no static imports, no syntax newer than ES2018 before the version check. In a
// clone, `npm ci` installs Node 24 next to it (the `node` devDependency); a launcher started by an
// older Node (through `npm link`, say) hands over to that one.
var REQUIRED = [22, 13];

function tooOld(version) {
  var v = version.split('.').map(Number);
  return v[0] < REQUIRED[0] || (v[0] === REQUIRED[0] && v[1] < REQUIRED[1]);
}

if (tooOld(process.versions.node)) {
  Promise.all([import('node:child_process'), import('node:fs'), import('node:path'), import('node:url')]).then(function (m) {
    var childProcess = m[0];
    var fs = m[1];
    var path = m[2];
    var url = m[3];
    var here = path.dirname(url.fileURLToPath(import.meta.url));
    var bundled = path.join(here, '..', 'node_modules', 'node', 'bin', 'node');
    if (fs.existsSync(bundled) && fs.realpathSync(bundled) !== fs.realpathSync(process.execPath)) {
      var r = childProcess.spawnSync(bundled, [url.fileURLToPath(import.meta.url)].concat(process.argv.slice(2)), { stdio: 'inherit' });
      process.exit(r.status === null ? 1 : r.status);
    }
    process.stderr.write(
      'keyturn needs Node.js >= ' +
        REQUIRED.join('.') +
        ' but found ' +
        process.versions.node +
        ' (' +
        process.execPath +
        '); ' +
        'install Node.js 24 LTS (your package manager, or `npm i -g node@24`), or run it from a clone with `npm ci && npx keyturn`, which brings its own.\n',
    );
    process.exit(1);
  });
} else {
  // V8's code cache for the bundle: every later start skips parsing and compiling it.
  import('node:module')
    .then(function (m) {
      if (m.enableCompileCache) m.enableCompileCache();
      return import('../dist/bundle/keyturn.mjs');
    })
    .then(function (cli) {
      return cli.run(process.argv.slice(2));
    });
}
