/**
 * The process entry of the `keyturn` command, bundled into `dist/bundle/keyturn.js` by
 * `scripts/bundle-cli.js` and started by `bin/keyturn.js` after its Node.js version check.
 * Everything a command needs beyond parsing loads when that command runs (see docs/architecture.md).
 *
 * @example
 * ```ts
 * await run(process.argv.slice(2)); // sets process.exitCode
 * ```
 */
import { main } from './main.js';

export async function run(argv: readonly string[]): Promise<void> {
  // A reader that stops early (`keyturn audit tail | head`) is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  process.exitCode = await main(argv);
}
