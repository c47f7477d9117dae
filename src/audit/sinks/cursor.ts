/**
 * Sink cursors in `audit_sink_cursors`: per sink, the next seq to deliver, when it last
 * delivered, and its last error. A new sink starts at seq 0 (it receives the whole log).
 * Advancing is a compare-and-set on the old position, so two processes draining the same sink
 * never move its cursor backwards. A sink that takes checkpoints has a second cursor,
 * {@link checkpointCursorName}: the smallest checkpoint size it has not got yet.
 *
 * @example
 * ```ts
 * const next = await readCursor(state.db, 'jsonl:/var/log/audit.jsonl', now);
 * await advanceCursor(state.db, 'jsonl:/var/log/audit.jsonl', next, next + 500, now);
 * ```
 */
import type { Kysely } from 'kysely';
import type { Schema } from '../../state/schema.js';

export interface SinkStatus {
  readonly name: string;
  readonly nextSeq: number;
  /** The smallest checkpoint size not shipped yet (null: the sink takes no checkpoints, or none shipped yet). */
  readonly nextCheckpoint: number | null;
  readonly deliveredAt: number | null;
  readonly failures: number;
  readonly lastError: string | null;
}

/** The next seq to deliver to `name` (creating its cursor at 0). */
export async function readCursor(db: Kysely<Schema>, name: string, now: number): Promise<number> {
  await db
    .insertInto('audit_sink_cursors')
    .values({ name, next_seq: 0, delivered_at: null, failures: 0, last_error: null, updated_at: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const row = await db.selectFrom('audit_sink_cursors').select('next_seq').where('name', '=', name).executeTakeFirstOrThrow();
  return Number(row.next_seq);
}

/**
 * Moves a cursor kept under an old name (`formerNames` of the sink) to `name`, keeping its
 * position; an old row left over beside an existing `name` is removed.
 */
export async function renameCursor(db: Kysely<Schema>, formerNames: readonly string[], name: string, now: number): Promise<void> {
  for (const old of formerNames) {
    if (old === name) continue;
    const current = await db.selectFrom('audit_sink_cursors').select('name').where('name', '=', name).executeTakeFirst();
    if (current) await db.deleteFrom('audit_sink_cursors').where('name', '=', old).execute();
    else await db.updateTable('audit_sink_cursors').set({ name, updated_at: now }).where('name', '=', old).execute();
  }
}

/** Moves the cursor from `from` to `to` (if still at `from`) and clears its error. */
export async function advanceCursor(db: Kysely<Schema>, name: string, from: number, to: number, now: number): Promise<void> {
  await db.updateTable('audit_sink_cursors').set({ next_seq: to, delivered_at: now, failures: 0, last_error: null, updated_at: now }).where('name', '=', name).where('next_seq', '=', from).execute();
}

/** Records a failed delivery (the cursor stays: the batch is retried next time). */
export async function recordSinkFailure(db: Kysely<Schema>, name: string, error: string, now: number): Promise<void> {
  await db
    .updateTable('audit_sink_cursors')
    .set((eb) => ({ failures: eb('failures', '+', 1), last_error: error.slice(0, 1000), updated_at: now }))
    .where('name', '=', name)
    .execute();
}

const CHECKPOINTS = 'checkpoints@';

/** The name of the checkpoint cursor of the sink `name`. */
export function checkpointCursorName(name: string): string {
  return `${CHECKPOINTS}${name}`;
}

/** Every sink cursor, by name (a sink's checkpoint cursor as its `nextCheckpoint`). */
export async function sinkStatuses(db: Kysely<Schema>): Promise<SinkStatus[]> {
  const rows = await db.selectFrom('audit_sink_cursors').selectAll().orderBy('name').execute();
  const checkpoints = new Map(rows.filter((r) => r.name.startsWith(CHECKPOINTS)).map((r) => [r.name.slice(CHECKPOINTS.length), Number(r.next_seq)]));
  return rows
    .filter((r) => !r.name.startsWith(CHECKPOINTS))
    .map((r) => ({
      name: r.name,
      nextSeq: Number(r.next_seq),
      nextCheckpoint: checkpoints.get(r.name) ?? null,
      deliveredAt: r.delivered_at === null ? null : Number(r.delivered_at),
      failures: Number(r.failures),
      lastError: r.last_error,
    }));
}
