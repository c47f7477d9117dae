/**
 * The outbox (`notify_outbox`): a notification is written here for each channel as soon as it is
 * known, and stays until it is delivered or given up, so a process that dies loses none.
 *
 * - {@link enqueue}: once per `(channel, dedupe)` whichever instance comes first (a unique index;
 *   a second insert does nothing).
 * - {@link claimDue}: takes up to `limit` due rows for this sender. On PostgreSQL the rows are
 *   locked with `FOR UPDATE SKIP LOCKED`, so concurrent instances take different rows; on SQLite
 *   the transaction holds the one write lock. Claiming counts the try, stamps a `claim` token and
 *   moves `next_attempt_at` forward by the lease: a sender that dies mid-try leaves its row to be
 *   taken again once the lease is over (at least once; receivers drop duplicates by delivery id).
 * - {@link settle}: writes a try's outcome, only while the claim holds (a sender whose lease ran
 *   out and whose row was taken again writes nothing).
 *
 * @example
 * ```ts
 * await enqueue(trx, { channel: 'ops', dedupe: 'failure:ev_12_…', body, now });
 * for (const row of await claimDue(state, { now, limit: 20, leaseMs: 30_000 })) { ...send...; await settle(state, row, outcome, now); }
 * ```
 */
import { randomUUID } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import type { StateDb } from '../state/db.js';
import type { NotifyOutboxTable, Schema } from '../state/schema.js';
import type { NotificationBody } from './payload.js';

export type OutboxRow = Selectable<NotifyOutboxTable>;

export type OutboxStatus = 'pending' | 'delivered' | 'failed' | 'dropped';

/** Queues `body` for `channel` unless `(channel, dedupe)` is queued already; true when it was queued now. */
export async function enqueue(db: Kysely<Schema>, n: { channel: string; dedupe: string; body: NotificationBody; now: number }): Promise<boolean> {
  const res = await db
    .insertInto('notify_outbox')
    .values({
      id: n.body.id,
      channel: n.channel,
      dedupe: n.dedupe,
      event: n.body.type,
      path: n.body.path,
      payload: JSON.stringify(n.body),
      status: 'pending',
      attempts: 0,
      next_attempt_at: n.now,
      claim: null,
      last_status: null,
      last_error: null,
      created_at: n.now,
      updated_at: n.now,
      delivered_at: null,
    })
    .onConflict((oc) => oc.columns(['channel', 'dedupe']).doNothing())
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** Claims up to `limit` due rows (see the module header); each comes back with its try counted and its claim token. */
export async function claimDue(state: StateDb, o: { now: number; limit: number; leaseMs: number }): Promise<OutboxRow[]> {
  // The common case, nothing due, costs one indexed read and no transaction (no write lock on SQLite).
  const any = await state.db.selectFrom('notify_outbox').select('id').where('status', '=', 'pending').where('next_attempt_at', '<=', o.now).limit(1).executeTakeFirst();
  if (any === undefined) return [];
  const claim = `c_${randomUUID()}`;
  return state.db.transaction().execute(async (trx) => {
    let due = trx.selectFrom('notify_outbox').select('id').where('status', '=', 'pending').where('next_attempt_at', '<=', o.now).orderBy('next_attempt_at').limit(o.limit);
    if (state.dialect === 'postgres') due = due.forUpdate().skipLocked();
    const ids = (await due.execute()).map((r) => r.id);
    if (ids.length === 0) return [];
    await trx
      .updateTable('notify_outbox')
      .set((eb) => ({ claim, attempts: eb('attempts', '+', 1), next_attempt_at: o.now + o.leaseMs, updated_at: o.now }))
      .where('id', 'in', ids)
      .execute();
    return trx.selectFrom('notify_outbox').selectAll().where('claim', '=', claim).orderBy('created_at').execute();
  });
}

export type Outcome =
  | { status: 'delivered'; httpStatus: number | null }
  | { status: 'retry'; at: number; httpStatus: number | null; error: string }
  | { status: 'failed' | 'dropped'; httpStatus: number | null; error: string };

/** Writes the outcome of a claimed row's try; false when the claim no longer holds (nothing written). */
export async function settle(state: StateDb, row: Pick<OutboxRow, 'id' | 'claim'>, outcome: Outcome, now: number): Promise<boolean> {
  const common = { claim: null, last_status: outcome.httpStatus, updated_at: now };
  const set =
    outcome.status === 'delivered'
      ? { ...common, status: 'delivered', delivered_at: now, last_error: null }
      : outcome.status === 'retry'
        ? { ...common, status: 'pending', next_attempt_at: outcome.at, last_error: outcome.error.slice(0, 500) }
        : { ...common, status: outcome.status, last_error: outcome.error.slice(0, 500) };
  const res = await state.db
    .updateTable('notify_outbox')
    .set(set)
    .where('id', '=', row.id)
    .where('claim', '=', row.claim ?? '')
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/** The newest rows, newest first (`keyturn notify ls`). */
export function recentDeliveries(state: StateDb, limit: number): Promise<OutboxRow[]> {
  return state.db.selectFrom('notify_outbox').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit).execute();
}

/** Rows not pending any more and last changed before `before`: deleted (the marks keep what must not be sent twice). */
export async function purgeSettled(state: StateDb, before: number): Promise<number> {
  const res = await state.db.deleteFrom('notify_outbox').where('status', '<>', 'pending').where('updated_at', '<', before).executeTakeFirst();
  return Number(res.numDeletedRows);
}
