/**
 * WAL checkpoints off the event loop. `node:sqlite` is synchronous: when a commit crosses SQLite's
 * auto-checkpoint threshold, that commit copies the WAL into the database file and waits for two
 * fsyncs, blocking every concurrent rotation for milliseconds (measured here: 3% of commits took
 * 1 to 30 ms, three quarters of all commit time). A process that commits often instead runs
 * checkpoints on its own connection in a worker thread, every 500 ms (PASSIVE: it never waits for
 * or blocks a writer), and raises its main connection's auto-checkpoint threshold to a backstop
 * (10,000 pages) that only a stalled worker would reach.
 *
 * Durability is unchanged: a commit is in the WAL before it returns, and a checkpoint only moves
 * committed pages into the database file.
 *
 * @example
 * ```ts
 * const ckpt = startCheckpointer('/var/lib/keyturn/keyturn.db');
 * // ... many commits ...
 * await ckpt.stop();
 * ```
 */
import { Worker } from 'node:worker_threads';

/** The worker's code (CommonJS, evaluated): its own connection, a PASSIVE checkpoint every `everyMs`, closed on 'stop'. */
const WORKER = `
const { DatabaseSync } = require('node:sqlite');
const { parentPort, workerData } = require('node:worker_threads');
const db = new DatabaseSync(workerData.file, { timeout: 1000 });
const timer = setInterval(() => {
  try { db.exec('PRAGMA wal_checkpoint(PASSIVE)'); } catch { /* busy or gone: the next tick tries again */ }
}, workerData.everyMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { db.close(); } catch { /* already closed */ }
  parentPort.close();
});
`;

/** Pages of WAL after which the main connection checkpoints by itself anyway (only if the worker falls behind). */
export const BACKSTOP_PAGES = 10_000;

export interface Checkpointer {
  /** Stops the worker (closing its connection); resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts checkpointing `file`'s WAL in a worker thread (it never keeps the process alive). */
export function startCheckpointer(file: string, everyMs = 500): Checkpointer {
  const worker = new Worker(WORKER, { eval: true, workerData: { file, everyMs } });
  worker.unref();
  // A worker that fails leaves the main connection's backstop to checkpoint: never an error for the caller.
  worker.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    // While stopping, the worker keeps the process alive until it has closed its connection.
    stop: () => (stopping ??= (worker.ref(), worker.postMessage('stop'), exited)),
  };
}
