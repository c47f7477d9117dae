/**
 * The JSONL file sink: one JSON line per event (`sinkLine`), appended and fsynced before the
 * cursor moves. Before a write would take the file past `maxBytes`, it is rotated: `file` →
 * `file.1` → `file.2` … and `file.<keep>` is dropped; the new file is created with mode 0600.
 *
 * Exactly once in practice: before appending, the sink reads the seq of the last line written
 * (in `file`, or in `file.1` right after a rotation) and skips records up to it, so a batch
 * re-delivered after a crash between the write and the cursor update is not written twice.
 * Signed checkpoints are written as `checkpointLine`s, skipping those up to the last one written;
 * {@link JsonlSink.readCheckpoints} reads them back from the file and its rotated copies, for
 * `audit verify` (rotated files dropped past `keep` take their checkpoints with them).
 *
 * @example
 * ```ts
 * const sink = new JsonlSink({ file: '/var/log/keyturn/audit.jsonl', maxBytes: 10 << 20, keep: 5 });
 * ```
 */
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { KeyturnError } from '../../../core/errors.js';
import type { AuditSink, FoundCheckpoint, SinkCheckpoint, SinkRecord } from '../sink.js';
import { checkpointLine, noteOfLine, sinkLine } from '../sink.js';
import { readCheckpointUnverified } from '../../checkpoint.js';

export interface JsonlSinkOptions {
  readonly file: string;
  /** Rotate before the file would pass this many bytes. */
  readonly maxBytes: number;
  /** Rotated files kept. */
  readonly keep: number;
}

/** Bytes read from the end of a file to find its last line. */
const TAIL_BYTES = 64 * 1024;

export class JsonlSink implements AuditSink {
  readonly name: string;

  constructor(private readonly options: JsonlSinkOptions) {
    this.name = `jsonl:${options.file}`;
  }

  async deliver(records: readonly SinkRecord[], signal: AbortSignal): Promise<void> {
    await this.#write(signal, async () => {
      const last = await this.lastWritten('seq');
      return records.filter((r) => r.seq > last).map((r) => `${sinkLine(r)}\n`);
    });
  }

  async deliverCheckpoints(checkpoints: readonly SinkCheckpoint[], signal: AbortSignal): Promise<void> {
    await this.#write(signal, async () => {
      const last = await this.lastWritten('size');
      return checkpoints.filter((c) => c.size > last).map((c) => `${checkpointLine(c)}\n`);
    });
  }

  /** Every checkpoint line in the file and its rotated copies, oldest file first. */
  async readCheckpoints(): Promise<FoundCheckpoint[]> {
    const { file, keep } = this.options;
    const files = [...Array.from({ length: keep }, (_, k) => `${file}.${keep - k}`), file];
    const found: FoundCheckpoint[] = [];
    for (const f of files) {
      let text: string;
      try {
        text = await readFile(f, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw new KeyturnError('KT_AUDIT_SINK_FAILED', `${this.name}: ${f} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, { cause: e });
      }
      text.split('\n').forEach((line, i) => {
        const note = noteOfLine(line);
        if (note !== null) found.push({ note, source: `jsonl:${f}:${i + 1}` });
      });
    }
    return found;
  }

  /** Writes the lines `pick` chooses (after the dedup read), rotating by size, fsynced. */
  async #write(signal: AbortSignal, pick: () => Promise<string[]>): Promise<void> {
    try {
      const lines = await pick();
      let size = await sizeOf(this.options.file);
      let chunk: string[] = [];
      let chunkBytes = 0;
      for (const line of lines) {
        signal.throwIfAborted();
        const bytes = Buffer.byteLength(line);
        if (size + chunkBytes + bytes > this.options.maxBytes && size + chunkBytes > 0) {
          await this.append(chunk);
          await this.rotate();
          size = 0;
          chunk = [];
          chunkBytes = 0;
        }
        chunk.push(line);
        chunkBytes += bytes;
      }
      await this.append(chunk);
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      throw new KeyturnError('KT_AUDIT_SINK_FAILED', `${this.name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }

  private async append(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return;
    const handle = await open(this.options.file, 'a', 0o600);
    try {
      await handle.write(lines.join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  private async rotate(): Promise<void> {
    const { file, keep } = this.options;
    await rm(`${file}.${keep}`, { force: true });
    for (let k = keep - 1; k >= 1; k--) await rename(`${file}.${k}`, `${file}.${k + 1}`).catch(ignoreMissing);
    await rename(file, `${file}.1`).catch(ignoreMissing);
  }

  /**
   * Seq of the last event line (`seq`) or size of the last checkpoint line (`size`) written, in
   * the file or in `.1` when the file has none in its tail; -1 if none.
   */
  private async lastWritten(what: 'seq' | 'size'): Promise<number> {
    for (const file of [this.options.file, `${this.options.file}.1`]) {
      const n = await lastIn(file, what);
      if (n !== null) return n;
    }
    return -1;
  }
}

async function lastIn(file: string, what: 'seq' | 'size'): Promise<number | null> {
  let text: string;
  try {
    const size = await sizeOf(file);
    if (size === 0) return null;
    if (size <= TAIL_BYTES) text = await readFile(file, 'utf8');
    else {
      const handle = await open(file, 'r');
      try {
        const buf = Buffer.alloc(TAIL_BYTES);
        await handle.read(buf, 0, TAIL_BYTES, size - TAIL_BYTES);
        text = buf.toString('utf8');
      } finally {
        await handle.close();
      }
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const lines = text.split('\n').filter((l) => l !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] as string;
    const note = noteOfLine(line);
    try {
      if (what === 'size') {
        if (note !== null) return readCheckpointUnverified(note).size;
        continue;
      }
      if (note !== null) continue;
      const seq = (JSON.parse(line) as { seq?: unknown }).seq;
      if (typeof seq === 'number') return seq;
    } catch {
      // A torn last line (crash mid-write): look at the one before.
    }
  }
  return null;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

function ignoreMissing(e: NodeJS.ErrnoException): void {
  if (e.code !== 'ENOENT') throw e;
}
