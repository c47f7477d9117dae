/**
 * A scan with read-ahead: a reader thread (src/scan/reader-worker.ts) opens and reads the files
 * while this thread scans what was read before, so the system calls of thousands of small files
 * run on another core. Used for large trees when the scan itself stays on this thread (fewer than
 * 4 cores: src/scan/pool.ts). The thread is started before the walk, so its start-up overlaps it;
 * {@link ReaderThread.close} stops it unused when the tree turns out small. A file of a chunk or
 * more is read here, in chunks. An error reading a file ends the scan with
 * KT_SCAN_PATH_NOT_FOUND, as on one thread.
 *
 * @example
 * ```ts
 * const reader = ReaderThread.start(script);
 * const files = listFiles(['.'], cwd, { sizes: false });
 * const { findings, bytes } = await reader.scan(detector, files, fileError);
 * ```
 */
import { Buffer } from 'node:buffer';
import { Worker } from 'node:worker_threads';
import type { Detector } from './detect.js';
import type { RawFinding } from './finding.js';
import { scanFile, scanWhole } from './read.js';
import { SLOT_BYTES, SLOTS, type ReaderInput, type ReaderJob, type ReaderMessage } from './reader-protocol.js';
import type { ScanTarget } from './walk.js';

export class ReaderThread {
  private constructor(
    private readonly worker: Worker,
    private readonly slots: Buffer,
    private readonly consumed: Int32Array,
  ) {}

  static start(script: URL): ReaderThread {
    const slots = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
    const consumed = new Int32Array(new SharedArrayBuffer(4));
    // No inherited flags: the parent's (--input-type, --eval) may not apply to a worker's file.
    const worker = new Worker(script, { workerData: { slots, consumed } satisfies ReaderInput, execArgv: [] });
    // Until scan() listens, an error is kept for it (and not thrown as unhandled).
    worker.on('error', () => {});
    return new ReaderThread(worker, Buffer.from(slots), consumed);
  }

  /** Stops the thread (when it was not needed, or after a scan). */
  async close(): Promise<void> {
    await this.worker.terminate();
  }

  /** Scans `files` as the thread reads them; the thread is stopped at the end. */
  async scan(detector: Detector, files: readonly ScanTarget[], fileError: (code: string | undefined, message: string) => Error): Promise<{ findings: RawFinding[]; bytes: number }> {
    const findings: RawFinding[] = [];
    const emit = (f: RawFinding): void => void findings.push(f);
    let bytes = 0;
    const { worker, slots, consumed } = this;
    try {
      await new Promise<void>((resolve, reject) => {
        worker.on('message', (m: ReaderMessage) => {
          if (m.kind === 'done') return resolve();
          if (m.kind === 'error') return reject(fileError(m.code, m.message));
          try {
            const base = m.slot * SLOT_BYTES;
            for (const e of m.entries) {
              const file = files[e.index]!;
              if (e.length === -1) bytes += scanFile(detector, file.path, file.display, emit);
              else {
                scanWhole(detector, slots, base + e.offset, e.length, file.display, emit);
                bytes += e.length;
              }
            }
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            reject(code === undefined ? err : fileError(code, (err as Error).message));
            return;
          }
          Atomics.add(consumed, 0, 1);
          Atomics.notify(consumed, 0);
        });
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`the scan's reader thread stopped before the end (exit code ${code})`)));
        worker.postMessage({ paths: files.map((f) => f.path), displays: files.map((f) => f.display), skip: detector.fileSkips() } satisfies ReaderJob);
      });
    } finally {
      await this.close();
    }
    return { findings, bytes };
  }
}
