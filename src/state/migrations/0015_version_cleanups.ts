/**
 * 0015: `version_cleanups`, what a rotation leaves to do after it: one row per version a rotation
 * replaced, written in the transaction of the run's finish step (so the duty exists exactly when
 * the stage move does, whatever crashes), holding when it was replaced, by which run (whose journal
 * gets the cleanup's steps), how far its two phases are (`revoke`: end the previous credential
 * after `grace`; `purge`: drop the version after `retainPrevious`), when a pass should look at it
 * again (`due_at`, NULL: done) and the last failure. A row is deleted once both phases are over
 * (src/engine/cleanups-repo.ts).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('version_cleanups')
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('version_id', 'text', (c) => c.notNull())
    .addColumn('run_id', 'text', (c) => c.notNull())
    .addColumn('replaced_at', 'bigint', (c) => c.notNull())
    .addColumn('revoke', 'text', (c) => c.notNull())
    .addColumn('purge', 'text', (c) => c.notNull())
    .addColumn('due_at', 'bigint')
    .addColumn('started_at', 'bigint')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error_code', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('version_cleanups_pk', ['path', 'version_id'])
    .execute();
  await db.schema.createIndex('version_cleanups_due').on('version_cleanups').columns(['path', 'due_at']).execute();
}
