/**
 * 0009: break-glass. `breakglass_requests`: one request to read a break-glass path (who asked, why,
 * for how long), its state (pending, approved with its window, denied, lapsed, closed) and, once
 * the window closed, the automatic rotation (claimed once: `rotation` goes from NULL to
 * `running` in one update, then `rotated`, `failed` or `unconfigured`). `breakglass_approvals`:
 * one row per approving subject (the primary key makes a subject count once).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('breakglass_requests')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('requester', 'text', (c) => c.notNull())
    .addColumn('requester_token', 'text', (c) => c.notNull())
    .addColumn('ttl_ms', 'bigint', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('approved_at', 'bigint')
    .addColumn('ends_at', 'bigint')
    .addColumn('closed_at', 'bigint')
    .addColumn('rotation', 'text')
    .addColumn('rotation_run_id', 'text')
    .addColumn('rotation_error', 'text')
    .addColumn('rotation_at', 'bigint')
    .execute();
  await db.schema.createIndex('breakglass_requests_path').on('breakglass_requests').columns(['path', 'state']).execute();
  await db.schema
    .createTable('breakglass_approvals')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('breakglass_approvals_pk', ['request_id', 'subject'])
    .execute();
}
