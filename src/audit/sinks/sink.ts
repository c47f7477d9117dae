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
