/**
 * The JSONL file sink: one JSON line per event (`sinkLine`), appended and fsynced before the
 * cursor moves. Before a write would take the file past `maxBytes`, it is rotated: `file` →
 * `file.1` → `file.2` … and `file.<keep>` is dropped; the new file is created with mode 0600.
 *
 * Exactly once in practice: before appending, the sink reads the seq of the last line written
 * (in `file`, or in `file.1` right after a rotation) and skips records up to it, so a batch
 * re-delivered after a crash between the write and the cursor update is not written twice.
 *
 * @example
 * ```ts
 * const sink = new JsonlSink({ file: '/var/log/keyturn/audit.jsonl', maxBytes: 10 << 20, keep: 5 });
 * ```
 */
import { open, readFile, rename, rm, stat } from 'node:fs/promises';
import { KeyturnError } from '../../../core/errors.js';
import type { AuditSink, SinkRecord } from '../sink.js';
import { sinkLine } from '../sink.js';

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
    try {
      const last = await this.lastSeqWritten();
      const fresh = records.filter((r) => r.seq > last);
      let size = await sizeOf(this.options.file);
      let chunk: string[] = [];
      let chunkBytes = 0;
      for (const record of fresh) {
        signal.throwIfAborted();
        const line = `${sinkLine(record)}\n`;
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

  /** Seq of the last line written (in the file, or in `.1` when the file is new); -1 if none. */
  private async lastSeqWritten(): Promise<number> {
    for (const file of [this.options.file, `${this.options.file}.1`]) {
      const seq = await lastSeqIn(file);
      if (seq !== null) return seq;
    }
    return -1;
  }
}

async function lastSeqIn(file: string): Promise<number | null> {
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
    try {
      const seq = (JSON.parse(lines[i] as string) as { seq?: unknown }).seq;
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
