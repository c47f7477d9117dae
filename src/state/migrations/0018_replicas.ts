/**
 * 0018: `replica_status`, what each replica of a secret holds: one row per (path, replica store),
 * the primary's version it should hold (`wanted_*`: the primary's current, and since when), the one
 * it last got (id and number) and when, and, while it is behind, its failed
 * attempts, the last error (code and message, never a value) and when it is tried again. The
 * propagate step and the catch-up pass (src/replicas/sync.ts) write it; `keyturn replicas status`
 * and the `keyturn_replica_lag_seconds` metric read it.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('replica_status')
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('replica', 'text', (c) => c.notNull())
    .addColumn('wanted_version_id', 'text', (c) => c.notNull())
    .addColumn('wanted_number', 'integer', (c) => c.notNull())
    .addColumn('wanted_since', 'bigint', (c) => c.notNull())
    .addColumn('version_id', 'text')
    .addColumn('version_number', 'integer')
    .addColumn('synced_at', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('next_attempt_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('replica_status_pk', ['path', 'replica'])
    .execute();
}
