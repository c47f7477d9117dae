/**
 * What the scanning thread and the reader thread of a read-ahead scan share
 * (src/scan/read-ahead.ts, src/scan/reader-worker.ts): the slots of shared memory the files are
 * read into, the counter of finished batches, and the messages.
 *
 * @example
 * ```ts
 * const slots = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
 * ```
 */
import { CHUNK_BYTES } from './read.js';

/** A batch is sent once less than one chunk's room is left in its slot. */
export const SLOT_BYTES = 2 * CHUNK_BYTES;
/** Slots of shared memory the batches are read into, in turn: the reader is at most this many batches ahead of the scanner. */
export const SLOTS = 4;

/** The first message: what to read. */
export interface ReaderJob {
  readonly paths: readonly string[];
  readonly displays: readonly string[];
  /** Regexes (source and flags) of paths skipped whole. */
  readonly skip: ReadonlyArray<{ readonly source: string; readonly flags: string }>;
}

/** What the thread is started with: the slots (SLOTS x SLOT_BYTES) and a counter of the batches the scanner has finished. */
export interface ReaderInput {
  readonly slots: SharedArrayBuffer;
  /** Int32Array over a SharedArrayBuffer: [0] is the number of batches the scanner has finished. */
  readonly consumed: Int32Array;
}

/** One file of a batch: its index in `paths`, and where its bytes are in the slot (length -1: read it yourself, it is large). */
export interface ReaderEntry {
  readonly index: number;
  readonly offset: number;
  readonly length: number;
}

export type ReaderMessage =
  | { readonly kind: 'batch'; readonly slot: number; readonly entries: readonly ReaderEntry[] }
  | { readonly kind: 'done' }
  | { readonly kind: 'error'; readonly code?: string; readonly message: string };
