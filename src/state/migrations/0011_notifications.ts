/**
 * 0011: webhook notifications (src/notify/, docs/notifications.md).
 *
 * - `notify_channels`: the channels `keyturn apply` applied from keyturn.yaml (their config as
 *   JSON: references to credentials, never a credential) and `from_seq`, the audit log's size
 *   when the channel was created: it hears about events from there on, not the log's past.
 * - `notify_cursor`: where the pass that turns audit events into notifications is (the next seq).
 * - `notify_outbox`: one row per notification and channel, from the moment it is known until it
 *   is delivered or given up; `(channel, dedupe)` is unique, so a notification is queued once
 *   whichever instance sees it first. A delivery claims its row by moving `next_attempt_at`
 *   forward (a lease) and setting `claim`; the outcome is written only while the claim holds.
 * - `notify_failing`: secrets whose last rotation failed, since when (a success removes the row):
 *   what escalations are computed from.
 * - `notify_marks`: per channel, kind and secret, the last cycle or failing period a notification
 *   was queued for (expiry warnings once per cycle, an escalation once per failing period).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('notify_channels')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('from_seq', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('notify_cursor')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('next_seq', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('notify_outbox')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('dedupe', 'text', (c) => c.notNull())
    .addColumn('event', 'text', (c) => c.notNull())
    .addColumn('path', 'text')
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('claim', 'text')
    .addColumn('last_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addColumn('delivered_at', 'bigint')
    .execute();
  await db.schema.createIndex('notify_outbox_dedupe').on('notify_outbox').columns(['channel', 'dedupe']).unique().execute();
  await db.schema.createIndex('notify_outbox_due').on('notify_outbox').columns(['status', 'next_attempt_at']).execute();
  await db.schema.createIndex('notify_outbox_recent').on('notify_outbox').columns(['created_at']).execute();
  await db.schema
    .createTable('notify_failing')
    .addColumn('path', 'text', (c) => c.primaryKey())
    .addColumn('since', 'bigint', (c) => c.notNull())
    .addColumn('since_seq', 'bigint', (c) => c.notNull())
    .addColumn('run_id', 'text')
    .addColumn('error_code', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('notify_marks')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('path', 'text', (c) => c.notNull())
    .addColumn('mark', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('notify_marks_pk', ['channel', 'kind', 'path'])
    .execute();
}
