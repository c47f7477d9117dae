/**
 * 0011: delivery reports of `keyturn agent` (POST /v1/deliveries). `agent_deliveries`: one row per
 * agent name and secret path, the version the agent last said it holds there (id and number), the
 * file it wrote (when it said), which token reported it (id and subject), when it last reported
 * (`reported_at`: any report, a refresh too) and when the version it holds last changed
 * (`changed_at`). A report replaces the row (upsert). No value is ever stored.
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('agent_deliveries')
    .addColumn('agent', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('version_id', 'text', (c) => c.notNull())
    .addColumn('version', 'bigint', (c) => c.notNull())
    .addColumn('destination', 'text')
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('reported_at', 'bigint', (c) => c.notNull())
    .addColumn('changed_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('agent_deliveries_pk', ['agent', 'path'])
    .execute();
  await db.schema.createIndex('agent_deliveries_path').on('agent_deliveries').columns(['path', 'reported_at']).execute();
}
