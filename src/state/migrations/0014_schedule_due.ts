/**
 * 0014: `schedule_due`, the scheduler's index of what to rotate when: one row per secret with an
 * applied policy, its next due time (`due_at`, NULL: never, such as a manual schedule), the
 * priority a pass takes it in (0 emergency, 1 manual request, 2 scheduled or a retry), its target
 * (for the per-target limit), the warning and overdue times (for the metrics), a pending request
 * to rotate it (`requested_at`) and who claimed it, when, and until when (`claimed_until`: a claim
 * writes no indexed column, so PostgreSQL can update the row in place). The index on `due_at`
 * makes a pass read only what is due: `WHERE due_at <= now ORDER BY priority, due_at LIMIT n`
 * (src/schedule/due-repo.ts).
 *
 * The table starts empty: the scheduler fills in the rows of existing policies when it starts
 * (`DueRepo.reconcile`), and `keyturn apply`, each rotation and `secret put` keep them up to date.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('schedule_due')
    .addColumn('path', 'text', (c) => c.primaryKey())
    .addColumn('target', 'text')
    .addColumn('priority', 'integer', (c) => c.notNull())
    .addColumn('due_at', 'bigint')
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('warning_at', 'bigint')
    .addColumn('overdue_at', 'bigint')
    .addColumn('requested_at', 'bigint')
    .addColumn('claimed_by', 'text')
    .addColumn('claimed_at', 'bigint')
    .addColumn('claimed_until', 'bigint')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('schedule_due_at').on('schedule_due').column('due_at').execute();
}
