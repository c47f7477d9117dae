/**
 * Marks (`notify_marks`): per channel, kind and secret, the last cycle (expiry warnings) or
 * failing period (escalations) a notification was queued for. Moving a mark is a compare-and-set
 * (an upsert that changes the row only when the mark differs), done in the transaction that
 * queues the notification: whichever instance moves it queues it, the others do nothing. Marks
 * outlive the outbox rows (which are purged), so a long cycle is never warned about twice.
 *
 * @example
 * ```ts
 * if (await moveMark(trx, { channel: 'ops', kind: 'expiry-warning', path, mark: String(cycleFrom), now })) await enqueue(trx, ...);
 * ```
 */
import type { Kysely } from 'kysely';
import type { Schema } from '../state/schema.js';

export interface Mark {
  readonly channel: string;
  readonly kind: string;
  readonly path: string;
  readonly mark: string;
  readonly now: number;
}

/** Sets the mark; true when it was not already `mark` (this caller moved it). */
export async function moveMark(db: Kysely<Schema>, m: Mark): Promise<boolean> {
  const res = await db
    .insertInto('notify_marks')
    .values({ channel: m.channel, kind: m.kind, path: m.path, mark: m.mark, updated_at: m.now })
    .onConflict((oc) => oc.columns(['channel', 'kind', 'path']).doUpdateSet({ mark: m.mark, updated_at: m.now }).where('notify_marks.mark', '<>', m.mark))
    .executeTakeFirst();
  return Number(res.numInsertedOrUpdatedRows ?? 0n) === 1;
}

/** The marks of one channel and kind, by path. */
export async function marksOf(db: Kysely<Schema>, channel: string, kind: string): Promise<Map<string, string>> {
  const rows = await db.selectFrom('notify_marks').select(['path', 'mark']).where('channel', '=', channel).where('kind', '=', kind).execute();
  return new Map(rows.map((r) => [r.path, r.mark]));
}
