/**
 * Where a worker thread's compiled script is. A worker runs JavaScript: it is found beside the
 * module that starts it (dist/FOLDER/), or in dist/FOLDER/ seen from the CLI bundle (one folder
 * down in dist/) or from the sources (the tests run src/, after `npm run build`). Undefined when
 * it is not built: the caller then does the work on its own thread.
 *
 * @example
 * ```ts
 * const url = workerScript('scan', 'scan-worker.js', import.meta.url);
 * if (url) new Worker(url, { workerData });
 * ```
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function workerScript(folder: string, file: string, from: string): URL | undefined {
  for (const rel of [`./${file}`, `../${folder}/${file}`, `../../dist/${folder}/${file}`]) {
    const url = new URL(rel, from);
    if (existsSync(fileURLToPath(url))) return url;
  }
  return undefined;
}
