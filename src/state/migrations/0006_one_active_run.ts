/**
 * 0006: at most one unfinished run per secret, enforced by the state database: a partial unique
 * index on `runs(path)` over the unfinished statuses (`running`, `retrying`), on SQLite and
 * PostgreSQL alike. Two workers racing to create a run for one secret cannot both succeed, and a
 * failed run cannot be resumed while another one is unfinished.
 *
 * Databases written before this migration may hold several unfinished runs of one secret (the
 * race it closes). All but the most recently updated one are cancelled with KT_RUN_SUPERSEDED;
 * their stages are left as they are, so the store still knows every credential they may have set,
 * and the run that stays re-checks that it starts from the current version before touching anything.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const now = Date.now();
  await sql`
    UPDATE runs SET status = 'cancelled', finished_at = ${now}, next_attempt_at = NULL,
      error_code = 'KT_RUN_SUPERSEDED', error_message = 'cancelled on upgrade: another unfinished run of this secret was more recent'
    WHERE status IN ('running', 'retrying') AND EXISTS (
      SELECT 1 FROM runs newer WHERE newer.path = runs.path AND newer.status IN ('running', 'retrying')
        AND (newer.updated_at > runs.updated_at OR (newer.updated_at = runs.updated_at AND newer.id > runs.id)))`.execute(db);
  await db.schema
    .createIndex('runs_one_active')
    .on('runs')
    .column('path')
    .unique()
    .where(sql.ref('status'), 'in', [sql.lit('running'), sql.lit('retrying')])
    .execute();
}
