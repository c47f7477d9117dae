/**
 * 0019: `store_heads`, what the scheduler, metrics and expiry notices need to know of each secret
 * in an OUTSIDE primary store (Vault, AWS, ...) without calling it: when the secret was made, its
 * current version and when that version was made, and whether it is deleted. The embedded store
 * needs none (those readers read its own tables); an outside store's writes through Keyturn keep
 * these rows (src/stores/heads.ts).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('store_heads')
    .addColumn('path', 'text', (c) => c.primaryKey())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('current_version_id', 'text')
    .addColumn('current_at', 'bigint')
    .addColumn('deleted_at', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
