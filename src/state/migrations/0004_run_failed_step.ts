/**
 * 0004: `runs.failed_step`, the step whose failure the run's error is about. `runs.step` is where
 * the next attempt resumes, which after a failed `test` can be `set` or `create`; messages name
 * the step that failed. NULL when the run has no error, or its error is not a step's failure
 * (stopped by a signal), and for runs that failed before this migration.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('runs').addColumn('failed_step', 'text').execute();
}
