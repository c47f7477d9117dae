/**
 * Scans one file or stream in bounded chunks: {@link CHUNK_BYTES} at a time, cut at the last line
 * break, with the last {@link OVERLAP_CHARS} characters of the chunk before scanned again (only
 * findings that end past the overlap count), so a PEM block across a chunk boundary is found and
 * memory stays bounded whatever the file's size. A file whose first 8 KiB hold a NUL byte is
 * binary and skipped.
 *
 * @example
 * ```ts
 * scanFile(detector, '/repo/src/a.ts', 'src/a.ts', (f) => findings.push(f));
 * ```
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Detector } from './detect.js';
import type { RawFinding } from './finding.js';

export const CHUNK_BYTES = 1 << 20;
export const OVERLAP_CHARS = 32_768;
const BINARY_PROBE = 8192;

function countLines(text: string, from: number, to: number): number {
  let n = 0;
  for (let i = text.indexOf('\n', from); i !== -1 && i < to; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Feeds decoded text in pieces; scans whole lines with the overlap; `finish` scans the rest. */
export class ChunkScanner {
  private carry = '';
  private lineBase = 1;
  private overlap = '';
  private overlapLines = 0;

  constructor(
    private readonly detector: Detector,
    private readonly file: string,
    private readonly emit: (f: RawFinding) => void,
  ) {}

  push(text: string): void {
    const all = this.carry + text;
    const cut = all.lastIndexOf('\n');
    if (cut === -1) {
      this.carry = all;
      // A single line longer than a chunk: scan it as it is (windows bound the work).
      if (all.length >= CHUNK_BYTES * 4) this.scan(this.takeCarry(), false);
      return;
    }
    this.carry = all.slice(cut + 1);
    this.scan(all.slice(0, cut + 1), true);
  }

  finish(): void {
    if (this.carry !== '') this.scan(this.takeCarry(), false);
  }

  private takeCarry(): string {
    const c = this.carry;
    this.carry = '';
    return c;
  }

  private scan(text: string, endsWithNewline: boolean): void {
    const full = this.overlap + text;
    const base = this.lineBase - this.overlapLines;
    this.detector.scanText(full, { file: this.file, lineBase: base, ...(this.overlap === '' ? {} : { reportFrom: this.overlap.length }) }, this.emit);
    const lines = countLines(text, 0, text.length);
    this.lineBase += lines;
    if (!endsWithNewline) {
      this.overlap = '';
      this.overlapLines = 0;
      return;
    }
    // Keep the last whole lines, up to OVERLAP_CHARS, to scan again with the next chunk.
    let start = Math.max(0, full.length - OVERLAP_CHARS);
    if (start > 0) start = full.indexOf('\n', start - 1) + 1;
    this.overlap = full.slice(start);
    this.overlapLines = countLines(this.overlap, 0, this.overlap.length);
  }
}

/** One read buffer per thread, reused for every file (a scan reads one file at a time on a thread). */
let shared: Buffer | undefined;

/**
 * Scans a file by path; `display` is the path findings carry. Returns the bytes read (0 when
 * skipped as binary). Reads are synchronous: the scan is CPU-bound and reads one file at a time
 * on its thread, so waiting on the event loop for each read would only add latency per file.
 */
export function scanFile(detector: Detector, path: string, display: string, emit: (f: RawFinding) => void): number {
  const fd = openSync(path, 'r');
  try {
    const buf = (shared ??= Buffer.allocUnsafe(CHUNK_BYTES));
    const first = readSync(fd, buf, 0, CHUNK_BYTES, null);
    if (first === 0) return 0;
    if (buf.subarray(0, Math.min(first, BINARY_PROBE)).includes(0)) return 0;
    if (first < CHUNK_BYTES) {
      // The whole file in one read: scanned from its bytes (an ASCII file is never decoded whole), no carry.
      detector.scanBytes(buf, 0, first, { file: display, lineBase: 1 }, emit);
      for (const f of detector.pathFindings(display)) emit(f);
      return first;
    }
    const decoder = new TextDecoder('utf-8');
    const scanner = new ChunkScanner(detector, display, emit);
    let total = first;
    scanner.push(decoder.decode(buf.subarray(0, first), { stream: true }));
    for (let n = readSync(fd, buf, 0, CHUNK_BYTES, null); n > 0; n = readSync(fd, buf, 0, CHUNK_BYTES, null)) {
      total += n;
      scanner.push(decoder.decode(buf.subarray(0, n), { stream: true }));
    }
    scanner.push(decoder.decode());
    scanner.finish();
    for (const f of detector.pathFindings(display)) emit(f);
    return total;
  } finally {
    closeSync(fd);
  }
}

/** Scans a stream (standard input) the same way; findings carry `display` as their file. */
export async function scanStream(detector: Detector, stream: Readable, display: string, emit: (f: RawFinding) => void): Promise<number> {
  const decoder = new TextDecoder('utf-8');
  const scanner = new ChunkScanner(detector, display, emit);
  let total = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    total += bytes.length;
    scanner.push(decoder.decode(bytes, { stream: true }));
  }
  scanner.push(decoder.decode());
  scanner.finish();
  return total;
}
