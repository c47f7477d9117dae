#!/usr/bin/env node
// The `keyturn` command: a thin launcher for the compiled CLI in dist/.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
