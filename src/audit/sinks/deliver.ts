/**
 * Feeds the audit sinks from the log: each sink from its cursor, in batches, concurrently, each
 * delivery bounded by `timeoutMs` (then abandoned: its signal aborts, the cursor stays, the
 * batch is retried next time). A sink that is down or hangs costs at most one timeout per call
 * and never holds up the others; appending to the log never waits for any of this. A sink that
 * takes checkpoints (`deliverCheckpoints`) gets every signed checkpoint once the events it covers
 * are delivered, from its own cursor (cursor.ts), bounded the same way.
 *
 * @example
 * ```ts
 * const reports = await deliverSinks(audit, state, sinks, { timeoutMs: 5000, batch: 500 });
 * for (const r of reports) if (r.error) console.warn(r.name, r.error);
 * ```
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { KeyturnError, isKeyturnError } from '../../core/errors.js';
import type { StateDb } from '../../state/db.js';
import type { AuditLog } from '../log.js';
import { redactUrlsIn } from '../../core/redact-url.js';
import { advanceCursor, checkpointCursorName, readCursor, recordSinkFailure, renameCursor } from './cursor.js';
import type { AuditSink, SinkCheckpoint, SinkRecord } from './sink.js';

export interface DeliverOptions {
  /** Longest one delivery (one batch to one sink) may take. */
  readonly timeoutMs: number;
  /** Events per delivery. */
  readonly batch: number;
  /** Batches per sink in this call (default: until caught up). */
  readonly maxBatches?: number;
  readonly clock?: Clock;
}

export interface SinkReport {
  readonly name: string;
  /** Events delivered by this call. */
  readonly delivered: number;
  /** The sink's cursor after this call. */
  readonly nextSeq: number;
  /** Events written to the log that the sink has not got yet. */
  readonly behind: number;
  /** Why the last delivery failed, if it did (`KT_…: message`). */
  readonly error: string | null;
}

/** Delivers what each sink is behind by; never throws for a sink's failure (see `error`). */
export async function deliverSinks(log: AuditLog, state: StateDb, sinks: readonly AuditSink[], options: DeliverOptions): Promise<SinkReport[]> {
  if (sinks.length === 0) return [];
  const { size } = await log.head();
  return Promise.all(sinks.map((sink) => drain(log, state, sink, size, options)));
}

async function drain(log: AuditLog, state: StateDb, sink: AuditSink, size: number, options: DeliverOptions): Promise<SinkReport> {
  const clock = options.clock ?? systemClock;
  if (sink.formerNames?.length) {
    await renameCursor(state.db, sink.formerNames, sink.name, clock.now());
    if (sink.deliverCheckpoints) await renameCursor(state.db, sink.formerNames.map(checkpointCursorName), checkpointCursorName(sink.name), clock.now());
  }
  let next = await readCursor(state.db, sink.name, clock.now());
  let delivered = 0;
  let error: string | null = null;
  const fail = async (e: unknown): Promise<void> => {
    error = redactUrlsIn(isKeyturnError(e) ? `${e.code}: ${e.message}` : `KT_AUDIT_SINK_FAILED: ${(e as Error).message}`);
    await recordSinkFailure(state.db, sink.name, error, clock.now());
  };
  for (let n = 0; n < (options.maxBatches ?? Number.MAX_SAFE_INTEGER); n++) {
    // The checkpoints covering what the sink has (signed before or after those events went out).
    try {
      await shipCheckpoints(log, state, sink, next, options);
    } catch (e) {
      await fail(e);
      break;
    }
    if (next >= size) break;
    const rows = await log.between(next, size, options.batch);
    if (rows.length === 0) break;
    const records: SinkRecord[] = rows.map((r) => ({ seq: r.seq, id: r.id, leaf: r.leaf }));
    try {
      await bounded(sink.name, `${records.length} event(s)`, options.timeoutMs, (signal) => sink.deliver(records, signal));
    } catch (e) {
      await fail(e);
      break;
    }
    const to = (rows[rows.length - 1] as { seq: number }).seq + 1;
    await advanceCursor(state.db, sink.name, next, to, clock.now());
    delivered += rows.length;
    next = to;
  }
  return { name: sink.name, delivered, nextSeq: next, behind: Math.max(0, size - next), error };
}

/** Ships the checkpoints of size up to `upTo` the sink has not got (throws when the sink fails). */
async function shipCheckpoints(log: AuditLog, state: StateDb, sink: AuditSink, upTo: number, options: DeliverOptions): Promise<void> {
  if (!sink.deliverCheckpoints) return;
  const clock = options.clock ?? systemClock;
  const name = checkpointCursorName(sink.name);
  const from = await readCursor(state.db, name, clock.now());
  const rows = await log.checkpointsBetween(from, upTo);
  if (rows.length === 0) return;
  const checkpoints: SinkCheckpoint[] = rows.map((r) => ({ size: r.size, note: r.note }));
  await bounded(sink.name, `${checkpoints.length} checkpoint(s)`, options.timeoutMs, (signal) =>
    (sink.deliverCheckpoints as NonNullable<AuditSink['deliverCheckpoints']>).call(sink, checkpoints, signal),
  );
  await advanceCursor(state.db, name, from, (checkpoints[checkpoints.length - 1] as SinkCheckpoint).size + 1, clock.now());
}

/** Runs one delivery, giving up after `timeoutMs` (the sink's signal aborts then). */
async function bounded(name: string, what: string, timeoutMs: number, run: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new KeyturnError('KT_AUDIT_SINK_FAILED', `${name} did not take ${what} within ${timeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  const delivery = run(controller.signal);
  delivery.catch(() => undefined); // once abandoned, its late failure is nobody's business
  try {
    await Promise.race([delivery, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
