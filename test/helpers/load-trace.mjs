// Loaded with `node --import` by test/cli-startup.test.ts: writes the URL of every module file the
// process loads (not Node's built-ins) to stderr, one `LOAD <url>` line each.
import module from 'node:module';
import { writeSync } from 'node:fs';

module.registerHooks({
  load(url, context, nextLoad) {
    if (url.startsWith('file:')) writeSync(2, `LOAD ${url}\n`);
    return nextLoad(url, context);
  },
});
