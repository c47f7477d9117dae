#!/usr/bin/env node
// The `keyturn` command: a thin launcher for the compiled CLI in dist/.
import { main } from '../dist/cli/main.js';

// A reader that stops early (`keyturn audit tail | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
