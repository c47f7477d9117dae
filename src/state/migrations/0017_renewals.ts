/**
 * 0017: `renewals`, when a `renew` secret's current value needs renewing by itself (a
 * certificate's notAfter − renewBefore; Renewer.renewAt): one row per secret, written by the
 * engine in the transaction that makes a renewed value current, for the version it holds. The
 * scheduler's due time (src/schedule/due-repo.ts) is the earlier of the schedule's and this one
 * while that version is current, so the scheduler renews without decrypting any value.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('renewals')
    .addColumn('path', 'text', (c) => c.primaryKey())
    .addColumn('version_id', 'text', (c) => c.notNull())
    .addColumn('renew_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
