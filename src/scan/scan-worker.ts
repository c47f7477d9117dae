/**
 * The worker thread of a parallel scan (src/scan/pool.ts): compiles the config it is given
 * once, then scans each batch of files it is sent and answers with the findings (raw secrets
 * included: they stay inside this process) and the bytes read.
 *
 * @example
 * ```ts
 * new Worker(new URL('./scan-worker.js', import.meta.url), { workerData: { config } });
 * ```
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileScanConfig, type ScanConfig } from './config.js';
import { Detector } from './detect.js';
import type { RawFinding } from './finding.js';
import { scanFile } from './read.js';

export interface WorkerBatch {
  readonly files: ReadonlyArray<{ readonly path: string; readonly display: string }>;
}

export interface WorkerAnswer {
  readonly findings?: RawFinding[];
  readonly bytes?: number;
  readonly error?: { readonly code?: string; readonly message: string };
}

const detector = new Detector(compileScanConfig((workerData as { config: ScanConfig }).config));

parentPort!.on('message', (batch: WorkerBatch) => {
  void (async () => {
    const findings: RawFinding[] = [];
    let bytes = 0;
    try {
      for (const f of batch.files) if (!detector.skipsFile(f.display)) bytes += scanFile(detector, f.path, f.display, (x) => findings.push(x));
      parentPort!.postMessage({ findings, bytes } satisfies WorkerAnswer);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      parentPort!.postMessage({ error: { ...(e.code === undefined ? {} : { code: e.code }), message: e.message } } satisfies WorkerAnswer);
    }
  })();
});
