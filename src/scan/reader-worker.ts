/**
 * The reader thread of a read-ahead scan (src/scan/read-ahead.ts): reads the files it is given,
 * in order, into batches of about SLOT_BYTES and hands each batch over to the scanning
 * thread, so that opening, reading and closing thousands of files (system calls that
 * took as long as the scanning itself on the 2-core machine) runs on the other core. It skips
 * binary files (a NUL byte in the first 8 KiB) and files a global allowlist skips by path, and
 * leaves a file of {@link CHUNK_BYTES} or more to the scanning thread, which reads it in chunks.
 * Batches are read into SLOTS slots of shared memory in turn (fresh memory for each
 * batch cost more than the reads: page faults), and the reader waits while the scanner has not
 * finished the batch in the next slot (a counter in shared memory), so memory stays bounded
 * whatever the tree. The thread is started before the tree is walked (its start-up overlaps the
 * walk); the list of files comes as its first message.
 *
 * @example
 * ```ts
 * const w = new Worker(new URL('./reader-worker.js', import.meta.url), { workerData: { slots, consumed } });
 * w.postMessage({ paths, displays, skip });
 * ```
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { BINARY_PROBE, CHUNK_BYTES } from './read.js';
import { SLOT_BYTES, SLOTS, type ReaderEntry, type ReaderInput, type ReaderJob, type ReaderMessage } from './reader-protocol.js';

const { slots, consumed } = workerData as ReaderInput;
let sent = 0;
let slot = new Uint8Array(slots, 0, SLOT_BYTES);
let used = 0;
let entries: ReaderEntry[] = [];

function send(): void {
  if (entries.length === 0) return;
  parentPort!.postMessage({ kind: 'batch', slot: sent % SLOTS, entries } satisfies ReaderMessage);
  sent++;
  // The next slot is free once the scanner has finished the batch that was in it.
  for (let done = Atomics.load(consumed, 0); sent - done >= SLOTS; done = Atomics.load(consumed, 0)) Atomics.wait(consumed, 0, done);
  slot = new Uint8Array(slots, (sent % SLOTS) * SLOT_BYTES, SLOT_BYTES);
  used = 0;
  entries = [];
}

function readOne(job: ReaderJob, skip: readonly RegExp[], index: number): void {
  if (skip.some((r) => r.test(job.displays[index]!))) return;
  if (SLOT_BYTES - used < CHUNK_BYTES) send();
  const fd = openSync(job.paths[index]!, 'r');
  try {
    const n = readSync(fd, slot, used, CHUNK_BYTES, null);
    if (n === 0) return;
    if (n === CHUNK_BYTES) {
      entries.push({ index, offset: 0, length: -1 });
      return;
    }
    if (slot.subarray(used, used + Math.min(n, BINARY_PROBE)).includes(0)) return;
    entries.push({ index, offset: used, length: n });
    used += n;
  } finally {
    closeSync(fd);
  }
}

parentPort!.once('message', (job: ReaderJob) => {
  try {
    const skip = job.skip.map((r) => new RegExp(r.source, r.flags));
    for (let i = 0; i < job.paths.length; i++) readOne(job, skip, i);
    send();
    parentPort!.postMessage({ kind: 'done' } satisfies ReaderMessage);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    parentPort!.postMessage({ kind: 'error', ...(e.code === undefined ? {} : { code: e.code }), message: e.message } satisfies ReaderMessage);
  }
});
