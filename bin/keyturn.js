#!/usr/bin/env node
// The `keyturn` command: a thin launcher for the bundled CLI in dist/bundle/ (scripts/bundle-cli.js).
//
// Written to parse and run on any Node.js, so that an old one gets one clear line instead of a
// stack trace: no static imports, no syntax newer than ES2018 before the version check.
var REQUIRED = [22, 13];
var found = process.versions.node.split('.').map(Number);
if (found[0] < REQUIRED[0] || (found[0] === REQUIRED[0] && found[1] < REQUIRED[1])) {
  process.stderr.write(
    'keyturn needs Node.js >= ' + REQUIRED.join('.') + ' but found ' + process.versions.node + ' (' + process.execPath + '); ' +
      'install Node.js 24 LTS (https://nodejs.org, your package manager, or `npm i -g node@24`), or run it from a clone with `npm ci && npx keyturn`, which brings its own.\n',
  );
  process.exit(1);
}

// V8's code cache for the bundle: every later start skips parsing and compiling it.
import('node:module')
  .then(function (m) {
    if (m.enableCompileCache) m.enableCompileCache();
    return import('../dist/bundle/keyturn.js');
  })
  .then(function (cli) {
    return cli.run(process.argv.slice(2));
  });
