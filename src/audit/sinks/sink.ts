/**
 * An audit sink copies the log's events somewhere else (a file, a SIEM, syslog). The log never
 * waits for a sink: events are appended to the state database, and sinks are fed from there by
 * {@link deliverSinks} (./deliver.ts), each from its own persisted cursor.
 *
 * Delivery is at least once: a sink's cursor moves only after `deliver` resolved, so a batch that
 * was delivered but not yet acknowledged in the cursor (a crash in between, a timeout after the
 * receiver took it) is delivered again. Every record carries its event `id` (and `seq`) for the
 * receiver to drop duplicates; the JSONL sink does so itself.
 *
 * Every signed checkpoint is shipped too (`deliverCheckpoints`, after the events it covers), as
 * its own record kind: `{"kind":"checkpoint","size":…,"note":"<C2SP signed note>"}` (event lines
 * carry no `kind`). A sink that can be read back (`readCheckpoints`: the JSONL file) gives them
 * to `audit verify`, which then catches a state database cut back behind them (docs/audit.md).
 *
 * @example
 * ```ts
 * const sink: AuditSink = { name: 'memory', deliver: async (records) => { kept.push(...records) } };
 * ```
 */
import { decodeEvent } from '../event.js';

/** One stored event as a sink receives it. */
export interface SinkRecord {
  readonly seq: number;
  /** `ev_…`: the event id, stable across re-deliveries. */
  readonly id: string;
  /** The leaf text (RFC 8785 canonical JSON of the event). */
  readonly leaf: string;
}

export interface AuditSink {
  /** Unique and stable: the cursor is kept under this name (e.g. `jsonl:/var/log/keyturn-audit.jsonl`). */
  readonly name: string;
  /**
   * Names this sink's cursor was kept under by older versions (a URL's credential shown in
   * clear, say): the cursor is renamed to `name` on the next delivery, keeping its position.
   */
  readonly formerNames?: readonly string[];
  /**
   * Delivers a batch in seq order; resolves once the receiver has it, throws otherwise. Must stop
   * (close sockets, abort requests) when `signal` aborts: the caller gave up on it.
   */
  deliver(records: readonly SinkRecord[], signal: AbortSignal): Promise<void>;
  /** Delivers signed checkpoints (smallest first), like `deliver`; sinks without it get none. */
  deliverCheckpoints?(checkpoints: readonly SinkCheckpoint[], signal: AbortSignal): Promise<void>;
  /** Every checkpoint the sink holds, read back (only sinks that are files can). */
  readCheckpoints?(): Promise<FoundCheckpoint[]>;
}

/** A signed checkpoint as a sink receives it. */
export interface SinkCheckpoint {
  /** The tree size it covers (events 0 … size - 1). */
  readonly size: number;
  /** The C2SP signed note text. */
  readonly note: string;
}

/** A checkpoint read back from a sink, and where (`jsonl:/var/log/audit.jsonl.1:812`). */
export interface FoundCheckpoint {
  readonly note: string;
  readonly source: string;
}

/**
 * The JSON line a sink writes for a checkpoint (no newline).
 *
 * @example
 * ```ts
 * checkpointLine({ size: 1000, note }); // '{"kind":"checkpoint","size":1000,"note":"keyturn.local/…\n1000\n…"}'
 * ```
 */
export function checkpointLine(checkpoint: SinkCheckpoint): string {
  return JSON.stringify({ kind: 'checkpoint', size: checkpoint.size, note: checkpoint.note });
}

/**
 * The signed note of a line written by {@link checkpointLine}; the line itself when it says it is
 * a checkpoint but is not one (so verifying it fails, loudly); null for any other line.
 */
export function noteOfLine(line: string): string | null {
  if (!line.includes('"kind":"checkpoint"')) return null;
  try {
    const parsed = JSON.parse(line) as { kind?: unknown; note?: unknown };
    return parsed.kind === 'checkpoint' && typeof parsed.note === 'string' ? parsed.note : line;
  } catch {
    return line;
  }
}

/**
 * The JSON line a sink writes for an event: `{"id":"ev_…", …the event's fields}` (no newline).
 * A stored leaf that is not a readable event is sent as `{"id","seq","invalid":true}`.
 *
 * @example
 * ```ts
 * sinkLine({ seq: 0, id: 'ev_…', leaf }); // '{"id":"ev_…","action":"audit.init",…}'
 * ```
 */
export function sinkLine(record: SinkRecord): string {
  try {
    return JSON.stringify({ id: record.id, ...decodeEvent(Buffer.from(record.leaf, 'utf8')) });
  } catch {
    return JSON.stringify({ id: record.id, seq: record.seq, invalid: true });
  }
}
