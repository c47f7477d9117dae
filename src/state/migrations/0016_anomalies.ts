/**
 * 0016: `anomalies`, what the access anomaly detectors found (src/detect/): one row per anomaly,
 * written in the transaction of its `anomaly.<type>` audit event (whose correlation id is the
 * anomaly's id), unique by what set it
 * off (type, the triggering event's seq, the identity), so several servers on one database record
 * each anomaly once. `keyturn anomalies ls` and the notifications read it. `detect_cursor` holds how
 * far detection has raised anomalies (events after it are new to the detectors).
 */
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('anomalies')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('trigger_seq', 'bigint', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('path', 'text')
    .addColumn('address', 'text')
    .addColumn('score', 'real', (c) => c.notNull())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('rotation', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('anomalies_trigger', ['type', 'trigger_seq', 'actor'])
    .execute();
  await db.schema.createIndex('anomalies_time').on('anomalies').columns(['time']).execute();
  await db.schema
    .createTable('detect_cursor')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('next_seq', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}
