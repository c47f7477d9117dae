/**
 * 0012: a secret's explicit lifecycle status. `secret_status`: one row per secret path that has
 * been marked `deprecated` or `revoked` (`keyturn secret deprecate|revoke PATH`); no row means
 * active (expired is computed from the schedule, never stored). Keyed by path, not by the
 * embedded store's secret id, so it holds for any store. `keyturn secret activate PATH` and a
 * purge delete the row.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('secret_status')
    .addColumn('path', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .execute();
}
