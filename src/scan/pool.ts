/**
 * Scans a list of files, in worker threads when the tree is large (at least
 * {@link PARALLEL_MIN_FILES} files and {@link PARALLEL_MIN_BYTES}): batches of files go to up to
 * `workers` threads (each compiles the config once, src/scan/scan-worker.ts), the next batch to
 * whichever finishes first; a small tree is scanned on this thread, which costs less than
 * starting workers. Workers are found beside this module in dist/ (the CLI bundle looks in
 * dist/scan/); where there are none (tests run the sources), the scan stays on this thread.
 *
 * @example
 * ```ts
 * const { findings, bytes } = await scanFiles(config, detector, files, { workers: 3 });
 * ```
 */
import { Worker } from 'node:worker_threads';
import { KeyturnError } from '../core/errors.js';
import { workerScript as compiledWorker } from '../core/worker-script.js';
import type { ScanConfig } from './config.js';
import type { Detector } from './detect.js';
import type { RawFinding } from './finding.js';
import { scanFile } from './read.js';
import type { WorkerAnswer } from './scan-worker.js';
import type { ScanTarget } from './walk.js';

export const PARALLEL_MIN_FILES = 64;
export const PARALLEL_MIN_BYTES = 4 << 20;
const BATCH_BYTES = 1 << 20;
const BATCH_FILES = 256;

/** The compiled worker script: beside this module (dist/scan/), or dist/scan/ seen from the bundle or the sources. */
export function workerScript(): URL | undefined {
  return compiledWorker('scan', 'scan-worker.js', import.meta.url);
}

function batches(files: readonly ScanTarget[]): ScanTarget[][] {
  const out: ScanTarget[][] = [];
  let cur: ScanTarget[] = [];
  let size = 0;
  for (const f of files) {
    cur.push(f);
    size += f.size ?? 0;
    if (size >= BATCH_BYTES || cur.length >= BATCH_FILES) {
      out.push(cur);
      cur = [];
      size = 0;
    }
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

function fileError(code: string | undefined, message: string): KeyturnError {
  return new KeyturnError('KT_SCAN_PATH_NOT_FOUND', `a file could not be read while scanning (${code ?? message})`);
}

async function inThread(detector: Detector, files: readonly ScanTarget[]): Promise<{ findings: RawFinding[]; bytes: number }> {
  const findings: RawFinding[] = [];
  let bytes = 0;
  for (const f of files) {
    if (detector.skipsFile(f.display)) continue;
    try {
      bytes += scanFile(detector, f.path, f.display, (x) => findings.push(x));
    } catch (err) {
      throw fileError((err as NodeJS.ErrnoException).code, (err as Error).message);
    }
  }
  return { findings, bytes };
}

/** Scans `files`: with `workers` of 1 or more (files listed with their sizes), a large tree in worker threads; else on this thread. */
export async function scanFiles(
  config: ScanConfig,
  detector: Detector,
  files: readonly ScanTarget[],
  opts: { workers: number },
): Promise<{ findings: RawFinding[]; bytes: number; threads: 'one' | 'workers' }> {
  if (opts.workers < 1) return { ...(await inThread(detector, files)), threads: 'one' };
  const total = files.reduce((n, f) => n + (f.size ?? 0), 0);
  const script = workerScript();
  if (files.length < PARALLEL_MIN_FILES || total < PARALLEL_MIN_BYTES || script === undefined) return { ...(await inThread(detector, files)), threads: 'one' };
  const queue = batches(files);
  const findings: RawFinding[] = [];
  let bytes = 0;
  const count = Math.min(opts.workers, queue.length);
  const run = (): Promise<void> =>
    new Promise((resolve, reject) => {
      // No inherited flags: the parent's (--input-type, --eval) may not apply to a worker's file.
      const worker = new Worker(script, { workerData: { config }, execArgv: [] });
      const next = (): void => {
        const batch = queue.shift();
        if (batch === undefined) {
          void worker.terminate().then(() => resolve());
          return;
        }
        worker.postMessage({ files: batch.map((f) => ({ path: f.path, display: f.display })) });
      };
      worker.on('message', (answer: WorkerAnswer) => {
        if (answer.error) {
          queue.length = 0;
          void worker.terminate();
          reject(fileError(answer.error.code, answer.error.message));
          return;
        }
        for (const f of answer.findings ?? []) findings.push(f);
        bytes += answer.bytes ?? 0;
        next();
      });
      worker.once('error', (err) => {
        queue.length = 0;
        reject(err);
      });
      next();
    });
  await Promise.all(Array.from({ length: count }, run));
  return { findings, bytes, threads: 'workers' };
}
